#!/bin/bash
# Usage metrics: samples appear at --metrics-interval; the Firecracker deltas
# summed equal what the VMM wrote to metrics.json, exactly, across kill -9 of
# metald and a replaced VMM (truncated file); rollups equal the raw sums;
# retention trims raw rows and keeps rollups and totals; sqlite3 -readonly
# reads while metald writes; GetVmInfo shows metrics; GetVmMetrics pages;
# GET /metrics is valid Prometheus text with the expected series; and, when
# chsim is there, the Cloud Hypervisor vm.counters path.
. "$(dirname "$0")/lib.sh"

export FCSIM_METRICS_PERIOD_MS=100
# Cloud Hypervisor's loader (and chsim) wants an ELF vmlinux; fcsim takes anything.
printf '\177ELF fake kernel\n' >"$ASSETS/vmlinux"
INTERVAL=0.2
DB=$DATA/metald.db

# The nine counters, as one line, from the first $2 bytes of metrics file $1
# (metald frees the blocks of lines it consumed: they read as NUL bytes).
file_sums() {
        head -c "$2" "$1" | tr -d '\000' | jq -rs '
                def s(f): map(f // 0) | add // 0;
                "\(s(.block.read_bytes)) \(s(.block.write_bytes)) \(s(.block.read_count)) \(s(.block.write_count)) " +
                "\(s(.net.rx_bytes_count)) \(s(.net.tx_bytes_count)) \(s(.net.rx_packets_count)) \(s(.net.tx_packets_count)) " +
                "\(s(.vcpu.exit_io_in + .vcpu.exit_io_out + .vcpu.exit_mmio_read + .vcpu.exit_mmio_write))"'
}
COUNTERS="block_read_bytes, block_write_bytes, block_read_ops, block_write_ops, net_rx_bytes, net_tx_bytes, net_rx_packets, net_tx_packets, vcpu_exits"
sum_cols() { echo "$COUNTERS" | sed -E 's/([a-z_]+)/coalesce(sum(\1),0)/g; s/, / || '"' '"' || /g'; }
plain_cols() { echo "$COUNTERS" | sed -E 's/([a-z_]+)/t.\1/g; s/, / || '"' '"' || /g'; }
src_cols() { echo "$COUNTERS" | sed -E 's/([a-z_]+)/t.src_\1/g; s/, / || '"' '"' || /g'; }
# Sums of a VM's raw samples, its totals, its rollups, its stored cloud-hypervisor cursor.
raw_sums() { sql "SELECT $(sum_cols) FROM vm_samples WHERE vm_id = '$1'"; }
totals_of() { sql "SELECT $(plain_cols) FROM vm_metric_totals t JOIN vms v ON v.seq = t.vm_seq WHERE v.id = '$1'"; }
rollup_sums() { sql "SELECT $(sum_cols) FROM vm_usage_hourly h JOIN vms v ON v.seq = h.vm_seq WHERE v.id = '$1'"; }
src_of() { sql "SELECT $(src_cols) FROM vm_metric_totals t JOIN vms v ON v.seq = t.vm_seq WHERE v.id = '$1'"; }
offset_of() { sql "SELECT t.source_offset FROM vm_metric_totals t JOIN vms v ON v.seq = t.vm_seq WHERE v.id = '$1'"; }
# add_lines "a b c" "d e f": element-wise sum.
add_lines() { paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{printf "%s%d", (NR > 1 ? " " : ""), $1 + $2}'; }

start_metald --metrics-interval $INTERVAL || exit 1

out=$(rpc CreateVm "{\"config\":$(config),\"boot\":true}")
check "a VM is created and booted" "$(jf .state "${out#* }")" VM_STATE_RUNNING
id=$(jf .vmId "${out#* }")
metrics_file=$DATA/vms/$id/metrics.json

# ---- samples appear at the interval -------------------------------------------------------------
sleep 2
n=$(sql "SELECT count(*) FROM vm_samples WHERE vm_id = '$id'")
check_match "samples appear every ${INTERVAL}s (got $n in 2 s)" "$n" '^([4-9]|1[0-1])$'
# Rounds keep to a 200 ms grid: none early; a late one (a loaded machine) skips ticks.
gaps=$(sql "SELECT min(d) || ' ' || max(d) FROM (SELECT at - lag(at) OVER (ORDER BY at) AS d FROM vm_metric_rounds) WHERE d IS NOT NULL")
check_match "rounds are ${INTERVAL}s apart (min max gap ms: $gaps)" "$gaps" '^(1[5-9][0-9]|2[0-4][0-9]) ([2-9][0-9][0-9]|1[0-9]{3})$'
check "the samples carry block I/O (the guest boots from its root drive)" \
        "$(sql "SELECT sum(block_read_bytes) > 0 AND sum(vcpu_exits) > 0 FROM vm_samples WHERE vm_id = '$id'")" 1
check "each sample has the VMM's memory and age" \
        "$(sql "SELECT min(rss_bytes) > 0 AND max(uptime_s) >= 1 FROM vm_samples WHERE vm_id = '$id'")" 1

info=$(rpc GetVmInfo "{\"vm_id\":\"$id\"}" | cut -d' ' -f2-)
check_match "GetVmInfo shows memory" "$(jf .metrics.memoryBytes "$info")" '^[1-9][0-9]+$'
check_match "GetVmInfo shows uptime" "$(jf .metrics.uptimeSeconds "$info")" '^[1-9][0-9]*$'
check_match "GetVmInfo shows a CPU percentage" "$(jf '.metrics.cpuUsagePercent | type' "$info")" '^number$'
check_match "GetVmInfo shows storage totals" "$(jf .metrics.storageReadBytes "$info")" '^[1-9][0-9]+$'
check "GetVmInfo shows network totals (none in fcsim)" "$(jf .metrics.networkRxBytes "$info")" 0

# ---- sqlite3 -readonly while metald writes ---------------------------------------------------
fails=0
reads=0
end=$((SECONDS + 2))
while [ $SECONDS -lt $end ]; do
        sqlite3 -readonly "$DB" "SELECT count(*) FROM vm_samples; SELECT count(*) FROM vm_usage_daily;" \
                >/dev/null 2>>"$T/ro.err" || fails=$((fails + 1))
        reads=$((reads + 1))
done
check "sqlite3 -readonly reads while metald writes ($reads reads)" "$fails" 0

# ---- kill -9 of metald: nothing counted twice ----------------------------------------------------
for i in 1 2 3 4 5 6; do
        sleep "0.$((RANDOM % 6 + 1))"
        kill9_metald
        start_metald --metrics-interval $INTERVAL || exit 1
done
sleep 1
stop_metald
off=$(offset_of "$id")
check "after 6 kill -9: the sampled deltas equal metrics.json's lines, summed ($off bytes)" \
        "$(raw_sums "$id")" "$(file_sums "$metrics_file" "$off")"
check "the totals equal the samples" "$(totals_of "$id")" "$(raw_sums "$id")"
check "the rollups equal the raw sums, per hour" \
        "$(sql "SELECT count(*) FROM vm_usage_hourly h JOIN (SELECT at - at % 3600000 AS hour, vm_seq, sum(cpu_ns) c,
                max(rss_bytes) m, sum(block_read_bytes) b, sum(vcpu_exits) x, count(*) n FROM vm_metric_samples
                GROUP BY 1, 2) r USING (hour, vm_seq) WHERE h.cpu_ns != r.c OR h.max_rss_bytes != r.m OR
                h.block_read_bytes != r.b OR h.vcpu_exits != r.x OR h.samples != r.n")" 0
check "the rollups' sums equal the samples'" "$(rollup_sums "$id")" "$(raw_sums "$id")"
check "the offset ends on a line" "$(head -c "$off" "$metrics_file" | tail -c 1 | od -An -c | tr -d ' ')" '\n'

# ---- a new VMM truncates the file: read from 0, nothing counted twice -------------------------
before=$(raw_sums "$id")
pid=$(sql "SELECT vmm_pid FROM vms WHERE id = '$id'")
kill -9 "$pid"
start_metald --metrics-interval $INTERVAL || exit 1
wait_state "$id" VM_STATE_RUNNING 20 || not_ok "the VM is restarted after its VMM was killed"
npid=$(sql "SELECT vmm_pid FROM vms WHERE id = '$id'")
check_match "a new VMM runs the VM" "$npid" "^[1-9][0-9]*$"
[ "$npid" != "$pid" ] && ok "the VMM pid changed" || not_ok "the VMM pid changed ($pid)"
sleep 1.5
stop_metald
off=$(offset_of "$id")
check "the new VMM's lines are counted from its file's start, once" "$(raw_sums "$id")" \
        "$(add_lines "$before" "$(file_sums "$metrics_file" "$off")")"

# ---- GetVmMetrics: ranges and pages ----------------------------------------------------------------
start_metald --metrics-interval 0 || exit 1 # no sampling: the set of samples stays put
total=$(sql "SELECT count(*) FROM vm_samples WHERE vm_id = '$id'")
token=""
got=0
pages=0
prev=0
ordered=1
while :; do
        out=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"page_size\":7,\"page_token\":\"$token\"}")
        [ "${out%% *}" = 200 ] || { not_ok "GetVmMetrics page $pages: $out"; break; }
        body=${out#* }
        k=$(jf '.samples | length' "$body")
        got=$((got + k))
        pages=$((pages + 1))
        for at in $(jf '.samples[].at' "$body"); do
                ms=$(date -d "$at" +%s%3N)
                [ "$ms" -gt "$prev" ] || ordered=0
                prev=$ms
        done
        token=$(jf .nextPageToken "$body")
        [ -n "$token" ] || break
        [ $pages -lt 1000 ] || break
done
check "GetVmMetrics pages through every sample ($total in $pages pages)" "$got" "$total"
check "oldest first, none twice" "$ordered" 1
check "pages of 7" "$pages" "$(((total + 6) / 7))"
body=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"page_size\":1}" | cut -d' ' -f2-)
check_match "a sample has the counters as strings" \
        "$(jf '.samples[0] | "\(.intervalMs) \(.rssBytes) \(.blockReadBytes) \(.vcpuExits) \(.running)"' "$body")" \
        '^[0-9]+ [1-9][0-9]* [0-9]+ [0-9]+ (true|false)$'
first=$(sql "SELECT min(at) FROM vm_samples WHERE vm_id = '$id'")
third=$(sql "SELECT at FROM vm_samples WHERE vm_id = '$id' ORDER BY at LIMIT 1 OFFSET 2")
from_rfc=$(date -u -d "@$((first / 1000)).$(printf %03d $((first % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
body=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"from\":\"$from_rfc\",\"to\":$third}" | cut -d' ' -f2-)
check "from (RFC 3339) and to (ms) select [from, to)" "$(jf '.samples | length' "$body")" 2
body=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"from\":\"$((third + 1))\",\"page_size\":1000}" | cut -d' ' -f2-)
check "from as a string of ms" "$(jf '.samples | length' "$body")" "$((total - 3))"
check "an unknown VM is not_found" "$(rpc GetVmMetrics '{"vm_id":"vm-nope"}' | jq -r .code 2>/dev/null)" "not_found"
out=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"page_token\":\"zz\"}")
check "a bad page token is invalid_argument" "${out%% *} $(jf .code "${out#* }")" "400 invalid_argument"
out=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"from\":\"yesterday\"}")
check "a bad time is invalid_argument" "${out%% *} $(jf .code "${out#* }")" "400 invalid_argument"
out=$(rpc GetVmMetrics "{\"vm_id\":\"$id\",\"from\":\"2024-01-02T00:00:00Z\",\"to\":\"2024-01-01T00:00:00Z\"}")
check "to before from is invalid_argument" "${out%% *} $(jf .code "${out#* }")" "400 invalid_argument"

# ---- GET /metrics ---------------------------------------------------------------------------------
curl -s -o "$T/metrics.txt" -w '%{http_code} %{content_type}' "$URL/metrics" >"$T/metrics.status"
check "GET /metrics answers 200 in the exposition format" "$(cat "$T/metrics.status")" \
        "200 text/plain; version=0.0.4; charset=utf-8"
# A small checker of the text format (version 0.0.4): names, labels and
# values well-formed; HELP and TYPE once per family, before its samples; a
# family's samples together; histograms with _bucket (le, ending at +Inf), _sum, _count.
problems=$(awk '
        function fail(msg) { print NR ": " msg ": " $0; bad++ }
        /^# HELP / { if (help[$3]++) fail("second HELP"); next }
        /^# TYPE / { if (type[$3]) fail("second TYPE"); type[$3] = $4; fam = $3;
                     if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) fail("bad type");
                     if (seen[$3]) fail("TYPE after samples"); next }
        /^#/ { next }
        /^$/ { fail("empty line"); next }
        {
                if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[-+]Inf|NaN)$/) { fail("malformed"); next }
                name = $0; sub(/[{ ].*/, "", name); base = name
                if (type[fam] == "histogram") sub(/_(bucket|sum|count)$/, "", base)
                if (base != fam) fail("sample outside its family " fam)
                if (done[base] && last != base) fail("family split")
                done[base] = 1; last = base; seen[base] = 1
                if (type[fam] == "histogram" && name ~ /_bucket$/ && $0 !~ /le="/) fail("bucket without le")
                if (type[fam] == "counter" && name !~ /_total$/) fail("counter without _total")
        }
        END { print bad + 0 }' "$T/metrics.txt")
check "/metrics parses (problems, then count)" "$(tail -1 <<<"$problems")" 0
[ "$(tail -1 <<<"$problems")" = 0 ] || echo "$problems" | head -5
if command -v promtool >/dev/null; then
        promtool check metrics <"$T/metrics.txt" >/dev/null 2>&1 && ok "promtool accepts /metrics" ||
                not_ok "promtool rejects /metrics"
fi
# The value of the sample line that starts with $1 (name and labels).
m() { awk -v p="$1 " 'index($0, p) == 1 { print $NF; exit }' "$T/metrics.txt"; }
brb=$(sql "SELECT t.block_read_bytes FROM vm_metric_totals t JOIN vms v ON v.seq = t.vm_seq WHERE v.id = '$id'")
check "per-VM block bytes with vm_id and backend labels" \
        "$(m "metald_vm_block_read_bytes_total{vm_id=\"$id\",backend=\"firecracker\"}")" "$brb"
check_match "per-VM CPU seconds" "$(m "metald_vm_cpu_seconds_total{vm_id=\"$id\",backend=\"firecracker\"}")" '^[0-9.e-]+$'
check_match "per-VM RSS" "$(m "metald_vm_memory_rss_bytes{vm_id=\"$id\",backend=\"firecracker\"}")" '^[1-9][0-9]+$'
for c in block_write_bytes_total block_read_ops_total block_write_ops_total net_rx_bytes_total net_tx_bytes_total \
        net_rx_packets_total net_tx_packets_total vcpu_exits_total; do
        grep -q "^metald_vm_${c}{vm_id=\"$id\"" "$T/metrics.txt" && ok "series metald_vm_$c" ||
                not_ok "series metald_vm_$c missing"
done
check "VM counts by observed state" "$(m 'metald_vms{state="running"}')" 1
check "VM counts include the empty states" "$(m 'metald_vms{state="paused"}')" 0
check_match "the reconcile queue depth" "$(m 'metald_reconcile_queue_depth{queue="ready"}')" '^[0-9]+$'
check_match "reconcile errors" "$(m 'metald_reconcile_errors_total')" '^[0-9]+$'
check_match "API requests per method" "$(m 'metald_api_requests_total{method="GetVmMetrics"}')" '^[1-9][0-9]*$'
check "the latency histogram ends at +Inf = count" \
        "$(m 'metald_api_request_duration_seconds_bucket{method="GetVmMetrics",le="+Inf"}')" \
        "$(m 'metald_api_request_duration_seconds_count{method="GetVmMetrics"}')"
check_match "sampler rounds" "$(m 'metald_metrics_rounds_total')" '^[0-9]+$'
stop_metald

# ---- Cloud Hypervisor: vm.counters, cumulative --------------------------------------------------
if [ -n "${CHSIM:-}" ] && [ -x "$CHSIM" ]; then
        start_metald --metrics-interval $INTERVAL || exit 1
        out=$(rpc CreateVm "{\"backend\":\"cloud-hypervisor\",\"config\":$(config),\"boot\":true}")
        ch=$(jf .vmId "${out#* }")
        check "a Cloud Hypervisor VM runs" "$(jf .state "${out#* }")" VM_STATE_RUNNING
        [ -n "$ch" ] && [ "$ch" != null ] || echo "# CreateVm: $out"
        sleep 1
        for i in 1 2 3; do
                sleep "0.$((RANDOM % 5 + 1))"
                kill9_metald
                start_metald --metrics-interval $INTERVAL || exit 1
        done
        check "it pauses" "$(rpc PauseVm "{\"vm_id\":\"$ch\"}")" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
        sleep 1 # rounds while paused: the counters stand still
        stop_metald
        sock=$DATA/vms/$ch/api.sock
        live=$(curl -s --unix-socket "$sock" http://localhost/api/v1/vm.counters | jq -r '
                def s(f): [.[] | f // 0] | add // 0;
                "\(s(.read_bytes)) \(s(.write_bytes)) \(s(.read_ops)) \(s(.write_ops)) \(s(.rx_bytes)) \(s(.tx_bytes)) \(s(.rx_frames)) \(s(.tx_frames)) 0"')
        check_match "chsim reports traffic" "$live" '^[1-9]'
        check "after 3 kill -9: the sampled deltas equal vm.counters" "$(raw_sums "$ch")" "$live"
        check "the stored cursor is vm.counters" "$(src_of "$ch")" "$live"
        check "its totals equal its samples" "$(totals_of "$ch")" "$(raw_sums "$ch")"
        check "paused samples are not running" \
                "$(sql "SELECT running FROM vm_samples WHERE vm_id = '$ch' ORDER BY at DESC LIMIT 1")" 0
else
        echo "# chsim not available: skipping the Cloud Hypervisor part"
fi

# ---- retention: raw rows trimmed, rollups and totals kept -------------------------------------
before_rollups=$(rollup_sums "$id")
start_metald --metrics-interval $INTERVAL --metrics-retention 0.0005 || exit 1 # 1.8 s
sleep 3.5
stop_metald
age=$(sql "SELECT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - min(at)) < 1800 + 1500 FROM vm_metric_samples")
check "raw samples older than the retention are gone" "$age" 1
check "rounds follow their samples" "$(sql "SELECT count(*) FROM vm_metric_rounds WHERE at < (SELECT min(at) FROM vm_metric_samples)")" 0
check "the rollups keep everything" "$(rollup_sums "$id")" "$(totals_of "$id")"
grew=$(( $(cut -d' ' -f1 <<<"$(rollup_sums "$id")") > $(cut -d' ' -f1 <<<"$before_rollups") ))
check "and they kept growing meanwhile" "$grew" 1
check "while the raw samples hold less" "$(( $(cut -d' ' -f1 <<<"$(raw_sums "$id")") < $(cut -d' ' -f1 <<<"$(rollup_sums "$id")") ))" 1
check_match "vm_uptime counts the VM's running time today" \
        "$(sql "SELECT running_seconds > 0 FROM vm_uptime WHERE vm_id = '$id' AND day = date('now')")" '^1$'
check_match "vm_usage_daily has the VM's day" \
        "$(sql "SELECT cpu_seconds >= 0 AND samples > 0 FROM vm_usage_daily WHERE vm_id = '$id'")" '^1$'

finish
