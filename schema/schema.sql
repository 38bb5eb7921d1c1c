-- The database schema as it stands after every migration in migrations/.
-- Generated with sqlite3 DB .schema (minus its view comments); tests/test-store.c proves the migrations yield exactly this.
CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
CREATE TABLE vms (
    seq                 INTEGER PRIMARY KEY,          -- insertion order; keyset pagination
    id                  TEXT    NOT NULL UNIQUE,
    customer_id         TEXT    NOT NULL DEFAULT '',
    backend             TEXT    NOT NULL,
    config_json         TEXT    NOT NULL,             -- canonical VmConfig JSON
    desired_state       TEXT    NOT NULL,             -- created|running|paused|shutdown|deleted
    generation          INTEGER NOT NULL DEFAULT 1,   -- bumped by every desired-state change
    observed_state      TEXT    NOT NULL DEFAULT 'pending',
    observed_generation INTEGER NOT NULL DEFAULT 0,   -- generation last converged
    reboot_requested    INTEGER NOT NULL DEFAULT 0,   -- bumped by RebootVm
    reboot_done         INTEGER NOT NULL DEFAULT 0,
    shutdown_timeout_s  INTEGER NOT NULL DEFAULT 30,
    force_stop          INTEGER NOT NULL DEFAULT 0,
    vmm_pid             INTEGER NOT NULL DEFAULT 0,
    vmm_start_time      INTEGER NOT NULL DEFAULT 0,   -- /proc/<pid>/stat field 22
    socket_path         TEXT    NOT NULL DEFAULT '',
    run_dir             TEXT    NOT NULL DEFAULT '',
    last_error          TEXT    NOT NULL DEFAULT '',
    error_generation    INTEGER NOT NULL DEFAULT 0,   -- generation last_error belongs to
    failed_from         TEXT    NOT NULL DEFAULT '',  -- phase a failed VM was in
    error_code          TEXT    NOT NULL DEFAULT '',  -- Connect code of last_error
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    deleted_at          INTEGER                       -- soft delete: rows stay for history
, restart_policy TEXT NOT NULL DEFAULT 'on-failure', last_exit TEXT NOT NULL DEFAULT '', restarts INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX vms_live_by_state ON vms (observed_state, seq) WHERE deleted_at IS NULL;
CREATE TABLE vm_events (
    seq         INTEGER PRIMARY KEY,
    vm_id       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,      -- desired|observed|error|created|deleted
    from_state  TEXT    NOT NULL DEFAULT '',
    to_state    TEXT    NOT NULL DEFAULT '',
    generation  INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX vm_events_by_vm ON vm_events (vm_id, seq);
CREATE TRIGGER vm_events_append_only_update BEFORE UPDATE ON vm_events
BEGIN
    SELECT RAISE(ABORT, 'vm_events is append-only');
END;
CREATE TRIGGER vm_events_append_only_delete BEFORE DELETE ON vm_events
BEGIN
    SELECT RAISE(ABORT, 'vm_events is append-only');
END;
CREATE TABLE vm_metric_samples (
    vm_id             TEXT    NOT NULL,
    at                INTEGER NOT NULL,
    cpu_ns            INTEGER NOT NULL DEFAULT 0,   -- cumulative VMM CPU time
    rss_bytes         INTEGER NOT NULL DEFAULT 0,
    uptime_ms         INTEGER NOT NULL DEFAULT 0,
    block_read_bytes  INTEGER NOT NULL DEFAULT 0,   -- deltas since the previous sample
    block_write_bytes INTEGER NOT NULL DEFAULT 0,
    block_read_ops    INTEGER NOT NULL DEFAULT 0,
    block_write_ops   INTEGER NOT NULL DEFAULT 0,
    net_rx_bytes      INTEGER NOT NULL DEFAULT 0,
    net_tx_bytes      INTEGER NOT NULL DEFAULT 0,
    net_rx_packets    INTEGER NOT NULL DEFAULT 0,
    net_tx_packets    INTEGER NOT NULL DEFAULT 0,
    vcpu_exits        INTEGER NOT NULL DEFAULT 0,
    source_offset     INTEGER NOT NULL DEFAULT 0,   -- metrics file offset read up to
    PRIMARY KEY (vm_id, at)
) STRICT, WITHOUT ROWID;
CREATE VIEW vm_history AS
    SELECT vm_id, seq, datetime(at / 1000, 'unixepoch') AS at_utc, kind,
           from_state, to_state, generation, reason
    FROM vm_events ORDER BY vm_id, seq;
CREATE TABLE daemon_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
