-- 0004_usage_history: hourly usage rollups, and the views an operator asks
-- about usage and uptime (README "Asking SQLite what happened").

-- Hourly usage per VM, upserted in each round's transaction, kept for
-- --rollup-retention (also for deleted VMs). Keyed by hour first for the
-- same reason as the samples: a round updates one contiguous run of rows.
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

-- The samples with VM ids and readable units.
CREATE VIEW vm_samples AS
    SELECT v.id AS vm_id, s.at, datetime(s.at / 1000, 'unixepoch') AS at_utc,
           s.interval_ms, s.running,
           round(100.0 * s.cpu_ns / max(s.interval_ms * 1000000, 1), 2) AS cpu_percent,
           s.cpu_ns, s.rss_bytes, s.uptime_ms / 1000 AS uptime_s,
           s.block_read_bytes, s.block_write_bytes, s.block_read_ops, s.block_write_ops,
           s.net_rx_bytes, s.net_tx_bytes, s.net_rx_packets, s.net_tx_packets, s.vcpu_exits
    FROM vm_metric_samples s JOIN vms v ON v.seq = s.vm_seq;

-- Usage per VM per UTC day, from the hourly rollups.
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

-- Running time per VM per UTC day, from the observed transitions in
-- vm_events: from each change to 'running' to the next observed change,
-- split at midnight; a VM still running counts until now.
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
