#!/bin/bash
# Disk full: the data dir on a small tmpfs (this test's own mount namespace),
# filled up. Writes answer resource_exhausted or unavailable naming the full
# disk, reads keep working, metald stays up, no acknowledged VM is lost, and
# service resumes when space returns; PRAGMA integrity_check is ok.
. "$(dirname "$0")/lib.sh"
mkdir -p "$DATA"
mount -t tmpfs -o size=8m tmpfs "$DATA" || { not_ok "cannot mount a tmpfs"; finish; exit 1; }
start_metald --metrics-interval 0.2 || exit 1
acked=()
for i in 1 2 3; do
        out=$(rpc CreateVm "{\"vm_id\":\"before-$i\",\"config\":$(config)}")
        [ "${out%% *}" = 200 ] && acked+=("before-$i")
done
check "VMs created before the disk fills" "${#acked[@]}" 3
out=$(rpc CreateVm "{\"vm_id\":\"up\",\"boot\":true,\"config\":$(config)}")
check "a running VM before the disk fills" "$(jf .state "${out#* }")" VM_STATE_RUNNING
acked+=(up)

# Fill the file system to the last block.
dd if=/dev/zero of="$DATA/filler" bs=64k 2>/dev/null
dd if=/dev/zero of="$DATA/filler2" bs=512 2>/dev/null
check "the data dir is full" "$(df --output=avail -B1 "$DATA" | tail -1 | tr -d ' ')" 0

codes=()
for i in $(seq 1 20); do
        out=$(rpc CreateVm "{\"vm_id\":\"full-$i\",\"config\":$(config)}")
        status=${out%% *} body=${out#* }
        if [ "$status" = 200 ]; then
                acked+=("full-$i") # room left in the WAL: acknowledged, so it must survive
        else
                codes+=("$(jf .code "$body")")
                msg=$(jf .message "$body")
        fi
done
check_match "writes on a full disk fail with a clear code" "${codes[*]:-none}" '^((resource_exhausted|unavailable) ?)+$'
check_match "the message says what is wrong" "${msg:-}" 'disk is full|cannot be written|I/O error'
# A lifecycle call on the full disk: refused cleanly, or (room left in the
# WAL) carried out; either way an answer, not a hang.
out=$(curl -s -m 20 -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/PauseVm" -d '{"vm_id":"up"}')
pcode=$(jf .code "${out%$'\n'*}")
check_match "PauseVm on a full disk answers (${pcode:-ok})" "${out##*$'\n'}" '^(200|429|503)$'
out=$(rpc GetVmInfo '{"vm_id":"before-1"}')
check "reads work on a full disk" "${out%% *}" 200
out=$(rpc ListVms '{}')
check "ListVms works on a full disk" "${out%% *}" 200
kill -0 "$METALD_PID" && ok "metald is up with the disk full" || not_ok "metald died on a full disk"

rm -f "$DATA/filler" "$DATA/filler2"
resumed=0
for _ in $(seq 1 50); do
        out=$(rpc CreateVm "{\"vm_id\":\"after\",\"config\":$(config)}")
        [ "${out%% *}" = 200 ] && { resumed=1; break; }
        sleep 0.1
done
check "service resumes when space returns" "$resumed" 1
out=$(rpc PauseVm '{"vm_id":"up"}')
check "lifecycle calls work again" "$(jf .state "${out#* }")" VM_STATE_PAUSED
acked+=("after")
stop_metald && ok "metald stops cleanly" || not_ok "metald did not stop cleanly"
check "PRAGMA integrity_check" "$(sql 'PRAGMA integrity_check')" ok
start_metald || exit 1
lost=0
for id in "${acked[@]}"; do
        out=$(rpc GetVmInfo "{\"vm_id\":\"$id\"}")
        [ "${out%% *}" = 200 ] || { lost=$((lost + 1)); echo "lost: $id"; }
done
check "no acknowledged VM lost (${#acked[@]} acknowledged)" "$lost" 0
echo "# answers on the full disk: ${codes[*]:-none}; last message: ${msg:-}"
stop_metald
umount -l "$DATA"
finish
