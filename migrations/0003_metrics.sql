-- 0003_metrics: usage samples (src/metrics/); rollups and views in 0004.
-- vm_metric_samples (0001) is reshaped: no build ever wrote to it, so it is
-- made again, not converted. Keyed (vm_id, at), each VM's newest row had a
-- page of its own: a round over 10,000 VMs rewrote 10,000 pages. Keyed by
-- time first, a round appends. VMs are named by vms.seq (rows never go),
-- not by the 29-byte id; views show ids.
DROP TABLE vm_metric_samples;

-- One row per sampling round that wrote samples; its samples share its time.
-- GetVmMetrics walks these and looks each sample up by (at, vm_seq).
CREATE TABLE vm_metric_rounds (
    at          INTEGER PRIMARY KEY,   -- ms since the epoch, strictly increasing
    vms         INTEGER NOT NULL,      -- samples written in this round
    collect_ms  INTEGER NOT NULL       -- time spent reading the VMMs before the write
) STRICT;

-- One row per VM with a VMM process per round (--metrics-interval), kept for
-- --metrics-retention. Counters are deltas over interval_ms, so SUM() over
-- any time range is the usage in it.
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

-- One row per VM ever sampled: lifetime totals (the /metrics counters), and
-- where sampling resumes, written in the same transaction as each sample, so
-- a restart neither loses nor counts twice. The host cursor (vmm_*) and the
-- backend's cursor (source_*) each name the VMM process they belong to.
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
