#!/bin/bash
# Hypervisor failures: answered with the hypervisor's own words, recorded on
# the VM, retried when asked; a VMM that dies is noticed; a guest that ignores
# the power button is killed after the timeout.
. "$(dirname "$0")/lib.sh"
FCSIM_IGNORE_CTRL_ALT_DEL=1 start_metald || exit 1

# The kernel disappears after CreateVm accepted it: caught before the VMM starts.
cp "$ASSETS/vmlinux" "$ASSETS/vmlinux-gone"
rpc CreateVm "{\"vm_id\":\"nokernel\",\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux-gone\"}}}" >/dev/null
rm "$ASSETS/vmlinux-gone"
out=$(rpc BootVm '{"vm_id":"nokernel"}')
check "missing kernel at boot: HTTP 400" "${out%% *}" 400
check "missing kernel at boot: failed_precondition" "$(jf .code "${out#* }")" failed_precondition
check_match "missing kernel at boot: names the file" "$(jf .message "${out#* }")" 'kernel_path: no such file'
info=$(rpc GetVmInfo '{"vm_id":"nokernel"}' | cut -d' ' -f2-)
check "the VM shows failed" "$(jf .state "$info")" VM_STATE_FAILED
check_match "the error is recorded on the VM" "$(jf .lastError "$info")" 'kernel_path: no such file'
check "no VMM is left behind" "$(pgrep -fc "$DATA/vms/nokernel/api.sock")" 0
check "the error is in the event table" "$(sql "SELECT count(*) > 0 FROM vm_events WHERE vm_id='nokernel' AND kind='error'")" 1
cp "$ASSETS/vmlinux" "$ASSETS/vmlinux-gone"
check "BootVm again, once fixed, works" "$(rpc BootVm '{"vm_id":"nokernel"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "and clears the error" "$(jf .lastError "$(rpc GetVmInfo '{"vm_id":"nokernel"}' | cut -d' ' -f2-)")" ""

# A kernel swapped for a symlink out of the asset roots after CreateVm: the
# paths are checked again before Firecracker opens them.
mkdir -p "$T/outside"; cp "$ASSETS/vmlinux" "$T/outside/secret"
cp "$ASSETS/vmlinux" "$ASSETS/vmlinux-swap"
rpc CreateVm "{\"vm_id\":\"swapped\",\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux-swap\"}}}" >/dev/null
ln -sf "$T/outside/secret" "$ASSETS/vmlinux-swap"
out=$(rpc BootVm '{"vm_id":"swapped"}')
check "swapped kernel: failed_precondition" "$(jf .code "${out#* }")" failed_precondition
check_match "swapped kernel: names the escape" "$(jf .message "${out#* }")" 'kernel_path.*outside the asset roots'
check "swapped kernel: no VMM was started" "$(pgrep -fc "$DATA/vms/swapped/api.sock")" 0

# A VMM killed behind metald's back is noticed within a second (pidfd), with
# its exit status and console tail, and restarted (restart policy on-failure).
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='nokernel'")
kill -9 "$pid"
t0=$(date +%s%N)
for _ in $(seq 1 40); do
        [ "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='nokernel' AND kind='crashed'")" = 1 ] && break
        sleep 0.025
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $ms -lt 1000 ]; then ok "a killed VMM is noticed within 1 s ($ms ms)"; else not_ok "a killed VMM is noticed within 1 s ($ms ms)"; fi
check_match "with its exit status and console tail" "$(sql "SELECT reason FROM vm_events WHERE vm_id='nokernel' AND kind='crashed'")" \
        "^VMM pid $pid killed by signal 9 \\(Killed\\); noticed .* console: .*guest booted"
wait_state nokernel VM_STATE_RUNNING 5
check "and restarted" "$(jf .state "$(rpc GetVmInfo '{"vm_id":"nokernel"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
check "with a new VMM" "$(test "$(sql "SELECT vmm_pid FROM vms WHERE id='nokernel'")" != "$pid" && echo new)" new

# A crash loop backs off: 1 s, then 2 s.
kill -9 "$(sql "SELECT vmm_pid FROM vms WHERE id='nokernel'")"
sleep 0.3
check_match "the second restart waits longer" "$(sql "SELECT last_error FROM vms WHERE id='nokernel'")" 'restart 2 in 2000 ms'

# A guest that ignores Ctrl-Alt-Del is killed after timeout_seconds.
rpc CreateVm "{\"vm_id\":\"stubborn\",\"boot\":true,\"config\":$(config)}" >/dev/null
t0=$(date +%s%N)
check "ShutdownVm of a stubborn guest" "$(rpc ShutdownVm '{"vm_id":"stubborn","timeout_seconds":1}')" '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $ms -ge 900 ] && [ $ms -lt 5000 ]; then ok "it waited the timeout, then killed ($ms ms)"; else not_ok "timeout honoured ($ms ms)"; fi
check "the event says the VMM was killed" "$(sql "SELECT reason FROM vm_events WHERE vm_id='stubborn' AND to_state='shutdown' AND kind='observed'")" "the guest did not power off in time; VMM killed"
check "forced ShutdownVm does not wait" "$(rpc BootVm '{"vm_id":"stubborn"}' >/dev/null; rpc ShutdownVm '{"vm_id":"stubborn","force":true,"timeout_seconds":30}')" '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'

# Missing Firecracker binary: a clear precondition error at CreateVm.
stop_metald
"$METALD" --listen 127.0.0.1:$PORT --data-dir "$DATA" --firecracker-binary /nonexistent/firecracker \
        --asset-root "$ASSETS" >>"$T/metald.log" 2>&1 &
METALD_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/" && break; sleep 0.05; done
out=$(rpc CreateVm "{\"config\":$(config)}")
check "missing VMM binary: failed_precondition" "$(jf .code "${out#* }")" failed_precondition
check_match "naming the binary" "$(jf .message "${out#* }")" '/nonexistent/firecracker'
finish
