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
CREATE VIEW vm_history AS
    SELECT vm_id, seq, datetime(at / 1000, 'unixepoch') AS at_utc, kind,
           from_state, to_state, generation, reason
    FROM vm_events ORDER BY vm_id, seq;
CREATE TABLE daemon_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE vm_metric_rounds (
    at          INTEGER PRIMARY KEY,   -- ms since the epoch, strictly increasing
    vms         INTEGER NOT NULL,      -- samples written in this round
    collect_ms  INTEGER NOT NULL       -- time spent reading the VMMs before the write
) STRICT;
CREATE TABLE vm_metric_samples (
    at                INTEGER NOT NULL,   -- vm_metric_rounds.at
    vm_seq            INTEGER NOT NULL,   -- vms.seq
    interval_ms       INTEGER NOT NULL,   -- wall time the deltas cover (first sample of a VMM: its age)
    running           INTEGER NOT NULL,   -- 1: the guest ran (not paused, booted)
    cpu_ns            INTEGER NOT NULL,   -- VMM CPU time, user + system, in the interval
    rss_bytes         INTEGER NOT NULL,   -- VMM resident memory at the sample
    uptime_ms         INTEGER NOT NULL,   -- VMM process age at the sample
    block_read_bytes  INTEGER NOT NULL,
    block_write_bytes INTEGER NOT NULL,
    block_read_ops    INTEGER NOT NULL,
    block_write_ops   INTEGER NOT NULL,
    net_rx_bytes      INTEGER NOT NULL,
    net_tx_bytes      INTEGER NOT NULL,
    net_rx_packets    INTEGER NOT NULL,
    net_tx_packets    INTEGER NOT NULL,
    vcpu_exits        INTEGER NOT NULL,
    PRIMARY KEY (at, vm_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE vm_metric_totals (
    vm_seq                INTEGER PRIMARY KEY,   -- vms.seq
    at                    INTEGER NOT NULL,      -- the last sample
    rss_bytes             INTEGER NOT NULL,      -- at the last sample
    cpu_ns                INTEGER NOT NULL,      -- totals over the VM's life, every VMM
    block_read_bytes      INTEGER NOT NULL,
    block_write_bytes     INTEGER NOT NULL,
    block_read_ops        INTEGER NOT NULL,
    block_write_ops       INTEGER NOT NULL,
    net_rx_bytes          INTEGER NOT NULL,
    net_tx_bytes          INTEGER NOT NULL,
    net_rx_packets        INTEGER NOT NULL,
    net_tx_packets        INTEGER NOT NULL,
    vcpu_exits            INTEGER NOT NULL,
    vmm_pid               INTEGER NOT NULL,      -- host cursor: the VMM process
    vmm_start_time        INTEGER NOT NULL,      -- /proc/<pid>/stat field 22
    vmm_cpu_ns            INTEGER NOT NULL,      -- its cumulative CPU time at `at`
    source_pid            INTEGER NOT NULL,      -- backend cursor: the VMM it belongs to
    source_start_time     INTEGER NOT NULL,
    source_offset         INTEGER NOT NULL,      -- firecracker: metrics.json bytes consumed
    src_block_read_bytes  INTEGER NOT NULL,      -- cloud-hypervisor: vm.counters (cumulative) at `at`
    src_block_write_bytes INTEGER NOT NULL,
    src_block_read_ops    INTEGER NOT NULL,
    src_block_write_ops   INTEGER NOT NULL,
    src_net_rx_bytes      INTEGER NOT NULL,
    src_net_tx_bytes      INTEGER NOT NULL,
    src_net_rx_packets    INTEGER NOT NULL,
    src_net_tx_packets    INTEGER NOT NULL,
    src_vcpu_exits        INTEGER NOT NULL
) STRICT;
CREATE TABLE vm_usage_hourly (
    hour              INTEGER NOT NULL,   -- start of the hour, ms since the epoch (UTC)
    vm_seq            INTEGER NOT NULL,   -- vms.seq
    cpu_ns            INTEGER NOT NULL,
    max_rss_bytes     INTEGER NOT NULL,
    block_read_bytes  INTEGER NOT NULL,
    block_write_bytes INTEGER NOT NULL,
    block_read_ops    INTEGER NOT NULL,
    block_write_ops   INTEGER NOT NULL,
    net_rx_bytes      INTEGER NOT NULL,
    net_tx_bytes      INTEGER NOT NULL,
    net_rx_packets    INTEGER NOT NULL,
    net_tx_packets    INTEGER NOT NULL,
    vcpu_exits        INTEGER NOT NULL,
    samples           INTEGER NOT NULL,
    running_ms        INTEGER NOT NULL,   -- sum of the running samples' intervals, at most one hour
    PRIMARY KEY (hour, vm_seq)
) STRICT, WITHOUT ROWID;
CREATE VIEW vm_samples AS
    SELECT v.id AS vm_id, s.at, datetime(s.at / 1000, 'unixepoch') AS at_utc,
           s.interval_ms, s.running,
           round(100.0 * s.cpu_ns / max(s.interval_ms * 1000000, 1), 2) AS cpu_percent,
           s.cpu_ns, s.rss_bytes, s.uptime_ms / 1000 AS uptime_s,
           s.block_read_bytes, s.block_write_bytes, s.block_read_ops, s.block_write_ops,
           s.net_rx_bytes, s.net_tx_bytes, s.net_rx_packets, s.net_tx_packets, s.vcpu_exits
    FROM vm_metric_samples s JOIN vms v ON v.seq = s.vm_seq;
CREATE VIEW vm_usage_daily AS
    SELECT v.id AS vm_id, v.customer_id, date(h.hour / 1000, 'unixepoch') AS day,
           sum(h.cpu_ns) / 1e9 AS cpu_seconds, max(h.max_rss_bytes) AS max_rss_bytes,
           sum(h.block_read_bytes) AS block_read_bytes, sum(h.block_write_bytes) AS block_write_bytes,
           sum(h.block_read_ops) AS block_read_ops, sum(h.block_write_ops) AS block_write_ops,
           sum(h.net_rx_bytes) AS net_rx_bytes, sum(h.net_tx_bytes) AS net_tx_bytes,
           sum(h.net_rx_packets) AS net_rx_packets, sum(h.net_tx_packets) AS net_tx_packets,
           sum(h.vcpu_exits) AS vcpu_exits, sum(h.samples) AS samples,
           sum(h.running_ms) / 1000 AS running_seconds
    FROM vm_usage_hourly h JOIN vms v ON v.seq = h.vm_seq
    GROUP BY h.vm_seq, h.hour / 86400000;
CREATE VIEW vm_uptime AS
    WITH RECURSIVE
    spans AS (
        SELECT vm_id, at AS s,
               coalesce(lead(at) OVER (PARTITION BY vm_id ORDER BY seq),
                        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) AS e,
               to_state
        FROM vm_events WHERE kind = 'observed'),
    days (vm_id, s, e, day) AS (
        SELECT vm_id, s, e, s - s % 86400000 FROM spans WHERE to_state = 'running' AND e > s
        UNION ALL
        SELECT vm_id, s, e, day + 86400000 FROM days WHERE day + 86400000 < e)
    SELECT vm_id, date(day / 1000, 'unixepoch') AS day,
           sum(min(e, day + 86400000) - max(s, day)) / 1000.0 AS running_seconds
    FROM days GROUP BY vm_id, day;
CREATE TABLE networks (
    name         TEXT PRIMARY KEY,              -- [a-z0-9][a-z0-9-]{0,31}
    bridge       TEXT    NOT NULL UNIQUE,       -- Linux interface name, <= 15 bytes
    ipv4_subnet  TEXT    NOT NULL UNIQUE,       -- canonical "10.0.0.0/24"
    ipv4_gateway TEXT    NOT NULL,              -- inside the subnet; on the bridge
    ipv6_subnet  TEXT    NOT NULL DEFAULT '',   -- optional, canonical, /64..../120
    dns          TEXT    NOT NULL DEFAULT '',   -- comma-separated IPv4 addresses given to guests
    tenant       TEXT    NOT NULL DEFAULT '',   -- '' = any tenant may attach VMs
    mtu          INTEGER NOT NULL DEFAULT 1500,
    source       TEXT    NOT NULL,              -- config|api
    created_at   INTEGER NOT NULL
) STRICT;
CREATE TABLE vm_nics (
    vm_id      TEXT    NOT NULL,
    iface_id   TEXT    NOT NULL,
    idx        INTEGER NOT NULL,                -- position in config.network
    network    TEXT    NOT NULL REFERENCES networks (name),
    tap        TEXT    NOT NULL UNIQUE,
    mac        TEXT    NOT NULL,
    ipv4       TEXT    NOT NULL,
    ipv6       TEXT,                            -- NULL: the network has no IPv6
    PRIMARY KEY (vm_id, iface_id),
    UNIQUE (network, ipv4),
    UNIQUE (network, ipv6),
    UNIQUE (network, mac)
) STRICT;
CREATE INDEX vm_nics_by_network ON vm_nics (network);
