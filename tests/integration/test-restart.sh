#!/bin/bash
# Acknowledged means durable: kill -9 metald between and during calls, restart
# it, and every acknowledged request is still there; running VMs are
# reattached (same VMM, never a second one) and stay controllable.
. "$(dirname "$0")/lib.sh"
start_metald || exit 1

rpc CreateVm "{\"vm_id\":\"keep-created\",\"config\":$(config)}" >/dev/null
rpc CreateVm "{\"vm_id\":\"keep-running\",\"boot\":true,\"config\":$(config)}" >/dev/null
rpc CreateVm "{\"vm_id\":\"keep-paused\",\"boot\":true,\"config\":$(config)}" >/dev/null
rpc PauseVm '{"vm_id":"keep-paused"}' >/dev/null
pid_running=$(sql "SELECT vmm_pid FROM vms WHERE id='keep-running'")
pid_paused=$(sql "SELECT vmm_pid FROM vms WHERE id='keep-paused'")

kill9_metald
check "VMMs survive kill -9 of metald" "$(kill -0 $pid_running && kill -0 $pid_paused && echo alive)" alive
start_metald || exit 1
check "created VM survives" "$(jf .state "$(rpc GetVmInfo '{"vm_id":"keep-created"}' | cut -d' ' -f2-)")" VM_STATE_CREATED
info=$(rpc GetVmInfo '{"vm_id":"keep-running"}' | cut -d' ' -f2-)
check "running VM is reattached as running" "$(jf .state "$info")" VM_STATE_RUNNING
check "with the same VMM" "$(jf .backendInfo.vmmPid "$info")" "$pid_running"
check "paused VM is reattached as paused" "$(jf .state "$(rpc GetVmInfo '{"vm_id":"keep-paused"}' | cut -d' ' -f2-)")" VM_STATE_PAUSED
check "one VMM per VM after restart" "$(pgrep -fc "$DATA/vms/keep-running/api.sock")" 1
check "the reattached VM resumes" "$(rpc ResumeVm '{"vm_id":"keep-paused"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "the reattached VM shuts down" "$(rpc ShutdownVm '{"vm_id":"keep-running"}')" '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'

# The observed state is re-derived from the VMM, not trusted from the database:
# pause behind metald's back while it is down.
kill9_metald
sock=$(sql "SELECT socket_path FROM vms WHERE id='keep-paused'")
curl -s --unix-socket "$sock" -X PATCH http://localhost/vm -H 'Content-Type: application/json' -d '{"state":"Paused"}'
start_metald || exit 1
check "observed state comes from the VMM after restart" \
        "$(sql "SELECT from_state || '>' || to_state FROM vm_events WHERE vm_id='keep-paused' AND reason='at metald start'")" "running>paused"
wait_state keep-paused VM_STATE_RUNNING 5
check "then the desired state wins: resumed" "$(curl -s --unix-socket "$sock" http://localhost/ | jq -r .state)" Running

# A VMM that died while metald was down is noticed, recorded as crashed, and
# handled by the restart policy: on-failure (the default) restarts it, never
# leaves it failed.
rpc CreateVm "{\"vm_id\":\"fragile\",\"boot\":true,\"restart_policy\":\"never\",\"config\":$(config)}" >/dev/null
kill9_metald
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='keep-paused'")
kill -9 "$pid" "$(sql "SELECT vmm_pid FROM vms WHERE id='fragile'")"
start_metald || exit 1
check "a crashed event is recorded, with when it was noticed" \
        "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='keep-paused' AND kind='crashed' AND reason LIKE '%noticed at metald start at 20%'")" 1
wait_state keep-paused VM_STATE_RUNNING 5
info=$(rpc GetVmInfo '{"vm_id":"keep-paused"}' | cut -d' ' -f2-)
check "on-failure: restarted" "$(jf .state "$info")" VM_STATE_RUNNING
if [ "$(jf .backendInfo.vmmPid "$info")" != "$pid" ]; then ok "with a new VMM"; else not_ok "with a new VMM"; fi
check "restarts counted" "$(jf .restarts "$info")" 1
check_match "last exit recorded" "$(jf .lastExit "$info")" "^pid $pid exited \\(status unknown"
info=$(rpc GetVmInfo '{"vm_id":"fragile"}' | cut -d' ' -f2-)
check "never: the VM shows failed" "$(jf .state "$info")" VM_STATE_FAILED
check_match "with the reason" "$(jf .lastError "$info")" 'restart policy never'
check "BootVm recovers it" "$(rpc BootVm '{"vm_id":"fragile"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'

# A host reboot is not a crash: simulate one by changing the recorded boot id.
kill9_metald
pkill -9 -f "$DATA/vms/keep-paused/api.sock"
sqlite3 "$DATA/metald.db" "UPDATE daemon_state SET value='0000-old-boot' WHERE key='boot_id'"
crashes=$(sql "SELECT count(*) FROM vm_events WHERE kind='crashed'")
start_metald || exit 1
wait_state keep-paused VM_STATE_RUNNING 5
check "after a host reboot, a VM that should run is started again" "$(jf .state "$(rpc GetVmInfo '{"vm_id":"keep-paused"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
check "and no crash is recorded" "$(sql "SELECT count(*) FROM vm_events WHERE kind='crashed'")" "$crashes"
check "the reason says the host rebooted" "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='keep-paused' AND reason='the host rebooted'")" 1
check "after a daemon restart, nothing is restarted needlessly" "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='fragile' AND to_state='booting'")" 2

# kill -9 right after requests are acknowledged: they are all there afterwards.
for i in $(seq 1 20); do
        rpc CreateVm "{\"vm_id\":\"burst-$i\",\"config\":$(config)}" | cut -d' ' -f1
done > "$T/codes"
kill9_metald
check "20 creates acknowledged" "$(grep -c '^200$' "$T/codes")" 20
start_metald || exit 1
check "all 20 acknowledged creates survive" "$(jf '[.vms[] | select(.vmId | startswith("burst-"))] | length' "$(rpc ListVms '{"page_size":1000}' | cut -d' ' -f2-)")" 20

# kill -9 in the middle of a boot: the boot is finished after restart, with one VMM.
rpc CreateVm "{\"vm_id\":\"midboot\",\"config\":$(config)}" >/dev/null
kill9_metald
FCSIM_BOOT_DELAY_MS=1500 start_metald || exit 1
( rpc BootVm '{"vm_id":"midboot"}' >/dev/null & )
for _ in $(seq 1 60); do
        [ "$(sql "SELECT observed_state FROM vms WHERE id='midboot'")" = booting ] && break
        sleep 0.05
done
sleep 0.3
kill9_metald
check "caught mid-boot" "$(sql "SELECT observed_state FROM vms WHERE id='midboot'")" booting
start_metald || exit 1
wait_state midboot VM_STATE_RUNNING 10
check "mid-boot VM reaches running after restart" "$(jf .state "$(rpc GetVmInfo '{"vm_id":"midboot"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
check "and has exactly one VMM" "$(pgrep -fc "$DATA/vms/midboot/api.sock")" 1

# PID reuse: the recorded pid now belongs to another process (here a sleep
# that the record claims, with the recorded start time of the real VMM).
# It must be neither adopted nor killed; the VM's VMM counts as gone.
rpc CreateVm "{\"vm_id\":\"reused\",\"boot\":true,\"restart_policy\":\"never\",\"config\":$(config)}" >/dev/null
kill9_metald
vmm=$(sql "SELECT vmm_pid FROM vms WHERE id='reused'")
kill -9 "$vmm"
sleep 1000 &
imposter=$!
sqlite3 "$DATA/metald.db" "UPDATE vms SET vmm_pid = $imposter WHERE id='reused'"
start_metald || exit 1
info=$(rpc GetVmInfo '{"vm_id":"reused"}' | cut -d' ' -f2-)
check "a reused pid is not adopted: the VM's VMM is gone" "$(jf .state "$info")" VM_STATE_FAILED
check "and the process that has the pid now is not killed" "$(kill -0 $imposter 2>/dev/null && echo alive)" alive
rpc DeleteVm '{"vm_id":"reused"}' >/dev/null
check "not even when the VM is deleted" "$(kill -0 $imposter 2>/dev/null && echo alive)" alive
kill $imposter; wait $imposter 2>/dev/null

# A crash right after a VMM was spawned, before its pid was recorded: the
# next step that ends with no VMM (here a shutdown that superseded the
# reboot) must not leave it running (found by the crash campaign).
kill9_metald
FCSIM_SHUTDOWN_DELAY_MS=800 METALD_CRASH_AT=after-spawn:2 start_metald || exit 1
rpc CreateVm "{\"vm_id\":\"unrecorded\",\"boot\":true,\"config\":$(config)}" >/dev/null
( rpc RebootVm '{"vm_id":"unrecorded"}' >/dev/null & )
sleep 0.3
( rpc ShutdownVm '{"vm_id":"unrecorded"}' >/dev/null & )
for _ in $(seq 1 100); do kill -0 $METALD_PID 2>/dev/null || break; sleep 0.05; done
check "metald died at the crash point" "$(kill -0 $METALD_PID 2>/dev/null && echo alive || echo dead)" dead
METALD_PID=
start_metald || exit 1
wait_state unrecorded VM_STATE_SHUTDOWN 10
check "the unrecorded VMM is gone after the shutdown" "$(pgrep -fc "$DATA/vms/unrecorded/api.sock")" 0

# A reboot superseded by a shutdown before it ran leaves nothing pending.
stop_metald
FCSIM_BOOT_DELAY_MS=1500 start_metald --workers 1 || exit 1
rpc CreateVm "{\"vm_id\":\"busy\",\"config\":$(config)}" >/dev/null
rpc BootVm '{"vm_id":"midboot"}' >/dev/null
( rpc CreateVm "{\"vm_id\":\"slow\",\"boot\":true,\"config\":$(config)}" >/dev/null & )
sleep 0.2
( rpc RebootVm '{"vm_id":"midboot"}' > "$T/reboot.out" & )
sleep 0.2
rpc ShutdownVm '{"vm_id":"midboot"}' >/dev/null
sleep 0.5
check_match "the superseded reboot answers aborted" "$(cat "$T/reboot.out")" '^409 .*aborted'
info=$(rpc GetVmInfo '{"vm_id":"midboot"}' | cut -d' ' -f2-)
check "the VM is shut down" "$(jf .state "$info")" VM_STATE_SHUTDOWN
check "and not transitioning" "$(jf .transitioning "$info")" false
finish
