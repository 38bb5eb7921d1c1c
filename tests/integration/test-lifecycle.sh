#!/bin/bash
# A VM through its whole life: created -> running -> paused -> running ->
# shutdown -> running (boot again) -> reboot -> deleted, every transition in
# the event table, and the run directory gone at the end.
. "$(dirname "$0")/lib.sh"
start_metald || exit 1

out=$(rpc CreateVm "{\"vm_id\":\"life-1\",\"customer_id\":\"acme\",\"config\":$(config 2 268435456)}")
check "CreateVm" "$out" '200 {"vmId":"life-1","state":"VM_STATE_CREATED"}'
check "run directory exists, mode 0700" "$(stat -c %a "$DATA/vms/life-1")" 700

out=$(rpc BootVm '{"vm_id":"life-1"}')
check "BootVm" "$out" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
info=$(rpc GetVmInfo '{"vm_id":"life-1"}'); info=${info#* }
pid=$(jf .backendInfo.vmmPid "$info")
check_match "a VMM pid is recorded" "$pid" '^[1-9][0-9]*$'
check "the VMM is fcsim, alive" "$(tr '\0' ' ' </proc/$pid/cmdline | cut -d' ' -f2-5)" "--api-sock $DATA/vms/life-1/api.sock --id life-1"
check "the VMM runs in its own session" "$(ps -o sid= -p $pid | tr -d ' ')" "$pid"
sock=$(jf .backendInfo.apiSocketPath "$info")
check "Firecracker says Running" "$(jf .state "$(curl -s --unix-socket "$sock" http://localhost/)")" Running
check "GetVmInfo shows desired running" "$(jf .desiredState "$info")" VM_STATE_RUNNING
check "GetVmInfo shows lifecycle state" "$(jf .lifecycleState "$info")" running
check "GetVmInfo shows the console log" "$(jf .backendInfo.consoleLogPath "$info")" "$DATA/vms/life-1/console.log"
check "GetVmInfo shows memory as an int64 string" "$(jf .config.memory.sizeBytes "$info")" 268435456
check "BootVm again is a no-op" "$(rpc BootVm '{"vm_id":"life-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'

check "PauseVm" "$(rpc PauseVm '{"vmId":"life-1"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "Firecracker says Paused" "$(jf .state "$(curl -s --unix-socket "$sock" http://localhost/)")" Paused
check "ResumeVm" "$(rpc ResumeVm '{"vm_id":"life-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "ShutdownVm" "$(rpc ShutdownVm '{"vm_id":"life-1","timeout_seconds":5}')" '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
sleep 0.1
if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/$pid/stat)" != Z ]; then not_ok "the VMM exited after shutdown"; else ok "the VMM exited after shutdown"; fi
info=$(rpc GetVmInfo '{"vm_id":"life-1"}'); info=${info#* }
check "no VMM recorded after shutdown" "$(jf .backendInfo.vmmPid "$info")" 0

check "BootVm after shutdown" "$(rpc BootVm '{"vm_id":"life-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
info=$(rpc GetVmInfo '{"vm_id":"life-1"}'); info=${info#* }
pid2=$(jf .backendInfo.vmmPid "$info")
check "RebootVm" "$(rpc RebootVm '{"vm_id":"life-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
info=$(rpc GetVmInfo '{"vm_id":"life-1"}'); info=${info#* }
pid3=$(jf .backendInfo.vmmPid "$info")
if [ "$pid3" != "$pid2" ] && [ "$pid3" != 0 ]; then ok "reboot started a fresh VMM"; else not_ok "reboot started a fresh VMM ($pid2 -> $pid3)"; fi
check "exactly one VMM runs for the VM" "$(pgrep -fc "$DATA/vms/life-1/api.sock")" 1

check "DeleteVm" "$(rpc DeleteVm '{"vm_id":"life-1"}')" '200 {"success":true}'
check "GetVmInfo after delete is not_found" "$(rpc GetVmInfo '{"vm_id":"life-1"}')" '404 {"code":"not_found","message":"vm \"life-1\" not found"}'
check "BootVm after delete is not_found" "$(rpc BootVm '{"vm_id":"life-1"}' | cut -d' ' -f1)" 404
check "the run directory is gone" "$(test -e "$DATA/vms/life-1" && echo present || echo gone)" gone
check "no VMM left" "$(pgrep -fc "$DATA/vms/life-1/api.sock")" 0
check "ListVms leaves it out" "$(jf '.vms | length' "$(rpc ListVms '{}' | cut -d' ' -f2-)")" 0
check "ListVms include_deleted shows it" "$(jf '.vms[0].state' "$(rpc ListVms '{"include_deleted":true}' | cut -d' ' -f2-)")" VM_STATE_DELETED

# The history, from SQL: every observed transition in order.
check "the rows are kept (soft delete)" "$(sql "SELECT desired_state, observed_state, deleted_at IS NOT NULL FROM vms WHERE id='life-1'")" "deleted|deleted|1"
observed=$(sql "SELECT group_concat(to_state, ' ') FROM (SELECT to_state FROM vm_events WHERE vm_id='life-1' AND kind='observed' ORDER BY seq)")
check "every observed transition is an event" "$observed" \
        "creating created booting running pausing paused resuming running shutting_down shutdown booting running rebooting running deleting deleted"
desired=$(sql "SELECT group_concat(to_state || ':' || reason, ' ') FROM (SELECT * FROM vm_events WHERE vm_id='life-1' AND kind='desired' ORDER BY seq)")
check "every desired change is an event" "$desired" \
        "created:CreateVm running:BootVm paused:PauseVm running:ResumeVm shutdown:ShutdownVm running:BootVm running:RebootVm deleted:DeleteVm"
check "the shutdown says how it ended" "$(sql "SELECT reason FROM vm_events WHERE vm_id='life-1' AND to_state='shutdown' AND kind='observed'")" "the guest powered off"
check_match "the boot says which VMM" "$(sql "SELECT reason FROM vm_events WHERE vm_id='life-1' AND from_state='booting' AND to_state='running' LIMIT 1")" '^guest booted by firecracker pid [0-9]+$'
check "the vm_history view reads it" "$(sql "SELECT count(*) > 20 FROM vm_history WHERE vm_id='life-1'")" 1

# A guest that powers itself off stays off (restart policy on-failure): its
# wish becomes the desired state, and the record says so.
rpc CreateVm "{\"vm_id\":\"selfoff\",\"boot\":true,\"config\":$(config)}" >/dev/null
sock=$(sql "SELECT socket_path FROM vms WHERE id='selfoff'")
curl -s --unix-socket "$sock" -X PUT http://localhost/actions -H 'Content-Type: application/json' -d '{"action_type":"SendCtrlAltDel"}'
wait_state selfoff VM_STATE_SHUTDOWN 5
info=$(rpc GetVmInfo '{"vm_id":"selfoff"}' | cut -d' ' -f2-)
check "a guest that powered off is shut down" "$(jf .state "$info")" VM_STATE_SHUTDOWN
check "and stays so: desired is shutdown" "$(jf .desiredState "$info")" VM_STATE_SHUTDOWN
check_match "its exit is recorded" "$(jf .lastExit "$info")" 'exited with status 0'
check "as an exited event, not a crash" "$(sql "SELECT kind FROM vm_events WHERE vm_id='selfoff' AND kind IN ('exited','crashed')")" exited
check "the desired change names the guest" "$(sql "SELECT reason FROM vm_events WHERE vm_id='selfoff' AND kind='desired' ORDER BY seq DESC LIMIT 1")" "the guest powered off (restart policy on-failure)"
# restart_policy always: the same power-off is followed by a restart.
rpc CreateVm "{\"vm_id\":\"phoenix\",\"boot\":true,\"restart_policy\":\"always\",\"config\":$(config)}" >/dev/null
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='phoenix'")
curl -s --unix-socket "$(sql "SELECT socket_path FROM vms WHERE id='phoenix'")" -X PUT http://localhost/actions -H 'Content-Type: application/json' -d '{"action_type":"SendCtrlAltDel"}'
sleep 0.5
wait_state phoenix VM_STATE_RUNNING 5
check "restart policy always restarts a powered-off guest" "$(test "$(sql "SELECT vmm_pid FROM vms WHERE id='phoenix'")" != "$pid" && echo restarted)" restarted
check "an unknown restart policy is refused" "$(jf .message "$(rpc CreateVm "{\"restart_policy\":\"sometimes\",\"config\":$(config)}" | cut -d' ' -f2-)")" 'restart_policy: "sometimes" is not never, on-failure or always'

# CreateVm with boot=true goes straight to running.
out=$(rpc CreateVm "{\"vm_id\":\"life-2\",\"boot\":true,\"config\":$(config)}")
check "CreateVm with boot" "$out" '200 {"vmId":"life-2","state":"VM_STATE_RUNNING"}'
stop_metald; rc=$?
check "SIGTERM: metald exits 0" "$rc" 0
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='life-2'")
check "SIGTERM leaves the VMs running" "$(kill -0 "$pid" 2>/dev/null && echo alive)" alive
finish
