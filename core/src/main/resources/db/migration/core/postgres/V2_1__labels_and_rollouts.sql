-- operator labels of devices (Device LabelsSet), one row per key
CREATE TABLE device_labels (
    uuid VARCHAR(128) NOT NULL,
    label_key VARCHAR(63) NOT NULL,
    label_value VARCHAR(128) NOT NULL,
    PRIMARY KEY (uuid, label_key)
);

CREATE INDEX device_labels_by_label ON device_labels (label_key, label_value);

-- whether the apps of the device's last apps-states report were all healthy (null: none reported)
ALTER TABLE device_status ADD COLUMN apps_healthy BOOLEAN;

-- a rollout counts the devices of one tag, and their updates to one target version
CREATE INDEX device_status_by_tag ON device_status (factory, tag);
CREATE INDEX device_updates_by_target ON device_updates (factory, target_name);

-- one row per rollout; gate is the rollout's gate as JSON (core/rollout/Gate), what devices see
CREATE TABLE rollouts (
    factory VARCHAR(63) NOT NULL,
    id VARCHAR(63) NOT NULL,
    tag VARCHAR(128) NOT NULL,
    version BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    revision BIGINT NOT NULL,
    gate TEXT NOT NULL,
    created_by VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (factory, id)
);

CREATE INDEX rollouts_by_status ON rollouts (status);
