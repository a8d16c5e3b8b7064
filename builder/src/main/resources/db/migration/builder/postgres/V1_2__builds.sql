-- The builder's read side on PostgreSQL: one row per build, written by BuildProjection. Idempotent, like core's
-- first migration, for databases made before Flyway.

CREATE TABLE IF NOT EXISTS builds (
    factory VARCHAR(63) NOT NULL,
    number BIGINT NOT NULL,
    status VARCHAR(32) NOT NULL,
    commit_sha VARCHAR(64) NOT NULL,
    branch VARCHAR(255) NOT NULL,
    tag VARCHAR(255) NOT NULL,
    requested_by VARCHAR(255),
    reason VARCHAR(4000),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (factory, number)
);

CREATE INDEX IF NOT EXISTS builds_by_status ON builds (status);
