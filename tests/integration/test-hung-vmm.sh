#!/bin/bash
# A hung VMM and a slow one (fcsim's <api.sock>.stall knob): the per-call
# timeout (--vmm-api-timeout 500) fires, the error is recorded on that VM and
# answered, while the other VM and the API stay responsive (GetVmInfo
# latency measured meanwhile). When the VMM answers again, so does the VM.
. "$(dirname "$0")/lib.sh"
# --http-timeout 2: an answer that takes longer than the idle timeout (5 s
# here) must still reach the client.
start_metald --vmm-api-timeout 500 --request-timeout 5 --http-timeout 2 || exit 1
for id in hung ok slow; do
        out=$(rpc CreateVm "{\"vm_id\":\"$id\",\"boot\":true,\"config\":$(config)}")
        check "$id booted" "$(jf .state "${out#* }")" VM_STATE_RUNNING
done
ms() { date +%s%3N; }

echo hang > "$DATA/vms/hung/api.sock.stall"
# Measure the API while the hung VM's pause is being carried out.
( t0=$(ms); rpc PauseVm '{"vm_id":"hung"}' > "$T/pause.out"; echo $(( $(ms) - t0 )) > "$T/pause.ms" ) &
pauser=$!
worst=0
for _ in $(seq 1 40); do
        t0=$(ms)
        out=$(rpc GetVmInfo '{"vm_id":"ok"}')
        dt=$(( $(ms) - t0 ))
        [ "$dt" -gt "$worst" ] && worst=$dt
        [ "${out%% *}" = 200 ] || { not_ok "GetVmInfo failed while a VMM hangs: $out"; break; }
        sleep 0.05
done
[ "$worst" -lt 500 ] && ok "GetVmInfo stays prompt while a VMM hangs (worst ${worst} ms)" ||
        not_ok "GetVmInfo took ${worst} ms while a VMM hangs"
out=$(rpc PauseVm '{"vm_id":"ok"}')
check "another VM pauses while one VMM hangs" "$(jf .state "${out#* }")" VM_STATE_PAUSED
wait $pauser
out=$(cat "$T/pause.out")
check "PauseVm of the hung VM answers deadline_exceeded (after more than --http-timeout)" "$(jf .code "${out#* }")" deadline_exceeded
echo "# PauseVm of the hung VM: $(cat "$T/pause.ms") ms: ${out#* }"
[ "$(cat "$T/pause.ms")" -le 6500 ] && ok "... within the request timeout" || not_ok "... took $(cat "$T/pause.ms") ms"
last=$(sql "SELECT last_error FROM vms WHERE id = 'hung'")
check_match "the timeout is recorded on the VM" "$last" 'timed out|did not answer|timeout|Timeout'
info=$(rpc GetVmInfo '{"vm_id":"hung"}')
echo "# GetVmInfo hung: ${info#* }"

# Slow (300 ms a request, under the 500 ms timeout): calls succeed, slower.
echo 300 > "$DATA/vms/slow/api.sock.stall"
t0=$(ms); out=$(rpc PauseVm '{"vm_id":"slow"}'); dt=$(( $(ms) - t0 ))
check "a slow VMM's VM pauses" "$(jf .state "${out#* }")" VM_STATE_PAUSED
echo "# PauseVm on a slow VMM: $dt ms"
rm -f "$DATA/vms/slow/api.sock.stall"

# The hung VMM answers again: the VM converges.
rm -f "$DATA/vms/hung/api.sock.stall"
wait_state hung VM_STATE_PAUSED 15 && ok "the hung VM pauses once its VMM answers" ||
        not_ok "the hung VM did not recover"
kill -0 "$METALD_PID" && ok "metald up" || not_ok "metald died"
stop_metald && ok "metald stops cleanly" || not_ok "metald did not stop cleanly"
finish
