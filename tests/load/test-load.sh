#!/bin/bash
# Load: tests/load/loadgen drives CreateVm/GetVmInfo/ListVms at full speed
# for LOAD_SECONDS (default 60) alongside booted VMs' lifecycles on fcsim.
# Zero unexpected errors; metald's RSS sampled early and late grows by at
# most RSS_GROWTH_MAX_KB (default 65536); under ASan, metald's exit is
# LeakSanitizer's verdict (a leak makes it exit non-zero). p50/p99 printed.
. "$(dirname "$0")/../integration/lib.sh"
: "${LOADGEN:?path of loadgen}"
SECS=${LOAD_SECONDS:-60}
# Under ASan, freed memory waits in a quarantine of up to 256 MiB before it is
# reused, which reads as RSS growth; a small quarantine keeps RSS about the
# heap (ignored by builds without ASan; leaks are LeakSanitizer's to find).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
start_metald --resync-interval 2000 --max-vms 100000 --metrics-interval 0 || exit 1
rss() { awk '/^VmRSS/ {print $2}' "/proc/$METALD_PID/status"; }
"$LOADGEN" "$URL" "$SECS" "${LOAD_THREADS:-4}" "$(config)" > "$T/load.out" 2>&1 &
gen=$!
# Early: once the first tenth has warmed the caches and thread pools up.
sleep "$(awk -v s="$SECS" 'BEGIN {print s / 5}')"
early=$(rss)
wait $gen
rc=$?
late=$(rss)
cat "$T/load.out"
check "no unexpected errors under load" "$rc" 0
growth=$((late - early))
echo "# metald RSS: early ${early} KiB, late ${late} KiB, growth ${growth} KiB"
[ "$growth" -le "${RSS_GROWTH_MAX_KB:-65536}" ] && ok "RSS flat (grew ${growth} KiB)" ||
        not_ok "RSS grew ${growth} KiB (limit ${RSS_GROWTH_MAX_KB:-65536})"
out=$(rpc ListVms '{}')
check "metald answers after the load" "${out%% *}" 200
stop_metald && ok "metald stops cleanly (under ASan: no leaks)" || not_ok "metald did not stop cleanly (leaks?)"
finish
