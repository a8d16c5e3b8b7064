-- Core's tables on PostgreSQL, the first versioned migration (scheme: docs/architecture.md, "Schema").
-- Written idempotently: a database made before Flyway (baselined at version 0) runs it over its tables,
-- which keeps every row and brings an older one to this layout.
-- The journal tables follow pekko-persistence-jdbc's PostgreSQL layout.

CREATE TABLE IF NOT EXISTS public.event_journal (
    ordering BIGSERIAL,
    persistence_id VARCHAR(255) NOT NULL,
    sequence_number BIGINT NOT NULL,
    deleted BOOLEAN DEFAULT FALSE NOT NULL,
    writer VARCHAR(255) NOT NULL,
    write_timestamp BIGINT,
    adapter_manifest VARCHAR(255),
    event_ser_id INTEGER NOT NULL,
    event_ser_manifest VARCHAR(255) NOT NULL,
    event_payload BYTEA NOT NULL,
    meta_ser_id INTEGER,
    meta_ser_manifest VARCHAR(255),
    meta_payload BYTEA,
    PRIMARY KEY(persistence_id, sequence_number)
);

CREATE UNIQUE INDEX IF NOT EXISTS event_journal_ordering_idx ON public.event_journal(ordering);

CREATE TABLE IF NOT EXISTS public.event_tag (
    event_id BIGINT,
    tag VARCHAR(256),
    PRIMARY KEY(event_id, tag),
    CONSTRAINT fk_event_journal FOREIGN KEY(event_id) REFERENCES event_journal(ordering) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS public.snapshot (
    persistence_id VARCHAR(255) NOT NULL,
    sequence_number BIGINT NOT NULL,
    created BIGINT NOT NULL,
    snapshot_ser_id INTEGER NOT NULL,
    snapshot_ser_manifest VARCHAR(255) NOT NULL,
    snapshot_payload BYTEA NOT NULL,
    meta_ser_id INTEGER,
    meta_ser_manifest VARCHAR(255),
    meta_payload BYTEA,
    PRIMARY KEY(persistence_id, sequence_number)
);

CREATE TABLE IF NOT EXISTS pekko_projection_offset_store (
    projection_name VARCHAR(255) NOT NULL,
    projection_key VARCHAR(255) NOT NULL,
    current_offset VARCHAR(255) NOT NULL,
    manifest VARCHAR(4) NOT NULL,
    mergeable BOOLEAN NOT NULL,
    last_updated BIGINT NOT NULL,
    PRIMARY KEY(projection_name, projection_key)
);

CREATE INDEX IF NOT EXISTS projection_name_index ON pekko_projection_offset_store (projection_name);

CREATE TABLE IF NOT EXISTS pekko_projection_management (
    projection_name VARCHAR(255) NOT NULL,
    projection_key VARCHAR(255) NOT NULL,
    paused BOOLEAN NOT NULL,
    last_updated BIGINT NOT NULL,
    PRIMARY KEY(projection_name, projection_key)
);

CREATE TABLE IF NOT EXISTS factories (
    name VARCHAR(63) PRIMARY KEY,
    platforms VARCHAR(4000) NOT NULL,
    branch_tags VARCHAR(30000) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE IF NOT EXISTS factory_tokens (
    factory VARCHAR(63) NOT NULL,
    token_id VARCHAR(64) NOT NULL,
    description VARCHAR(1000) NOT NULL,
    scopes VARCHAR(1000) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    revoked_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (factory, token_id)
);

CREATE TABLE IF NOT EXISTS app_versions (
    factory VARCHAR(63) NOT NULL,
    app VARCHAR(255) NOT NULL,
    digest VARCHAR(71) NOT NULL,
    uri VARCHAR(1000) NOT NULL,
    source_commit VARCHAR(64),
    build_number BIGINT NOT NULL,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (factory, app, digest)
);

CREATE TABLE IF NOT EXISTS targets (
    factory VARCHAR(63) NOT NULL,
    name VARCHAR(255) NOT NULL,
    hardware_id VARCHAR(128) NOT NULL,
    version BIGINT NOT NULL,
    tags VARCHAR(4000) NOT NULL,
    apps TEXT NOT NULL,
    containers_sha VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (factory, name)
);

CREATE INDEX IF NOT EXISTS targets_by_version ON targets (factory, version);

CREATE TABLE IF NOT EXISTS device_status (
    uuid VARCHAR(128) PRIMARY KEY,
    factory VARCHAR(63) NOT NULL,
    name VARCHAR(255) NOT NULL,
    tag VARCHAR(128),
    device_group VARCHAR(128),
    hardware_id VARCHAR(128),
    production BOOLEAN NOT NULL,
    target_name VARCHAR(255),
    apps VARCHAR(8000) NOT NULL,
    last_seen TIMESTAMP WITH TIME ZONE,
    update_correlation_id VARCHAR(128),
    update_state VARCHAR(16),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    decommissioned_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX IF NOT EXISTS device_status_by_factory ON device_status (factory, uuid);

CREATE TABLE IF NOT EXISTS device_updates (
    uuid VARCHAR(128) NOT NULL,
    correlation_id VARCHAR(128) NOT NULL,
    factory VARCHAR(63) NOT NULL,
    target_name VARCHAR(255),
    version VARCHAR(64),
    state VARCHAR(16) NOT NULL,
    failed_step VARCHAR(64),
    events TEXT NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (uuid, correlation_id)
);

CREATE INDEX IF NOT EXISTS device_updates_by_time ON device_updates (uuid, started_at);

-- the device's last inventory of each kind (hardware, network, config); the entity keeps only a digest of it
CREATE TABLE IF NOT EXISTS device_system_info (
    uuid VARCHAR(128) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    content TEXT NOT NULL,
    reported_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (uuid, kind)
);

-- events an operator chose to skip in a projection that could not store them (bin/flotilla projections skip)
CREATE TABLE IF NOT EXISTS projection_skips (
    projection_name VARCHAR(255) NOT NULL,
    projection_key VARCHAR(255) NOT NULL,
    persistence_id VARCHAR(255) NOT NULL,
    sequence_nr BIGINT NOT NULL,
    skipped_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (projection_name, projection_key, persistence_id, sequence_nr)
);

-- Columns made wider after release so that they hold what io.flotilla.core.Limits allows; a table made before
-- keeps its rows (VARCHAR to a wider VARCHAR or to TEXT rewrites nothing).
ALTER TABLE factories ALTER COLUMN branch_tags TYPE VARCHAR(30000);

ALTER TABLE targets ALTER COLUMN apps TYPE TEXT;

-- fioup's metadata events (correlation id meta-<ULID>) are device events, not updates (Device.isMetadataEvent).
-- A read side projected before that rule holds updates made of them: they go, and a device whose newest update
-- was one shows its newest real update again. Pre-Flyway schemas ran this at every start;
-- a database upgraded from one gets it once more here, a new one finds nothing to repair.
DELETE FROM device_updates WHERE correlation_id LIKE 'meta-%';

UPDATE device_status SET
    update_correlation_id = (SELECT u.correlation_id FROM device_updates u WHERE u.uuid = device_status.uuid
                             ORDER BY u.updated_at DESC, u.correlation_id DESC LIMIT 1),
    update_state = (SELECT u.state FROM device_updates u WHERE u.uuid = device_status.uuid
                    ORDER BY u.updated_at DESC, u.correlation_id DESC LIMIT 1)
WHERE update_correlation_id LIKE 'meta-%';
