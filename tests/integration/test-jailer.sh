#!/bin/bash
# Firecracker through its jailer (metald --jailer-binary), with tools/jailersim
# as the jailer and the static fcsim (firecracker-sim) as Firecracker: the VMM
# runs as the VMM user, chrooted in <base>/firecracker-sim/<id>/root, in a
# new pid namespace and its own cgroups; the guest's files are linked in;
# metald reaches it through <run_dir>/api.sock; it survives a kill -9 of
# metald and is reattached; delete removes the jail and its cgroups.
. "$(dirname "$0")/lib.sh"
: "${JAILERSIM:?path of the jailersim binary}"
: "${FIRECRACKER_SIM:?path of the static fcsim named firecracker-sim}"

VMM_USER=metald-vmm
VMM_UID=$(id -u $VMM_USER) || { not_ok "the VMM user $VMM_USER exists"; finish; exit 1; }
VMM_GID=$(id -g $VMM_USER)
as_vmm() { setpriv --reuid=$VMM_UID --regid=$VMM_GID --clear-groups -- "$@"; }
BASE=$DATA/jailer
NAME=$(basename "$FIRECRACKER_SIM")

start_metald --firecracker-binary "$FIRECRACKER_SIM" --jailer-binary "$JAILERSIM"
check_match "metald says it runs Firecracker through the jailer" \
        "$(grep -c "Firecracker runs through the jailer $JAILERSIM (chroot base $BASE, cgroup v" "$T/metald.log")" '^1$'
check "the chroot base is root's, 0700" "$(stat -c '%a %U' "$BASE")" "700 root"

out=$(rpc CreateVm "{\"vm_id\":\"jailed-1\",\"config\":$(config 2 268435456),\"boot\":true}")
check "a jailed Firecracker VM boots" "$(jf .state "${out#* }")" VM_STATE_RUNNING
ROOT=$BASE/$NAME/jailed-1/root
RUN=$DATA/vms/jailed-1
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='jailed-1'")
check_match "its pid is recorded" "$pid" '^[1-9][0-9]*$'
check "the jailer wrote that pid to <root>/$NAME.pid" "$(cat "$ROOT/$NAME.pid")" "$pid"
check "it runs as $VMM_USER" "$(awk '/^Uid:/ {print $2,$3,$4,$5}' /proc/$pid/status)" \
        "$VMM_UID $VMM_UID $VMM_UID $VMM_UID"
check "in a new pid namespace, as its pid 1" "$(awk '/^NSpid:/ {print $3}' /proc/$pid/status)" 1
check "chrooted: its / is the jail" "$(ls /proc/$pid/root/ | sort | xargs)" "$(ls "$ROOT" | sort | xargs)"
check "it runs the jail's copy of the exec file" "$(tr '\0' ' ' </proc/$pid/cmdline | cut -d' ' -f1-3)" \
        "/$NAME --id jailed-1"
check "with the API socket in the jail at the run dir's path" \
        "$(tr '\0' '\n' </proc/$pid/cmdline | grep -A1 -- --api-sock | tail -1)" "$RUN/api.sock"
check "which is a socket of $VMM_USER's inside the jail" "$(stat -c '%F %U' "$ROOT$RUN/api.sock")" "socket $VMM_USER"
check "and reached through the symlink $RUN/api.sock" "$(readlink "$RUN/api.sock")" "$ROOT$RUN/api.sock"
check "the jail's devices: kvm and tun, $VMM_USER's" "$(stat -c '%t:%T %U' "$ROOT/dev/kvm" "$ROOT/dev/net/tun" | xargs)" \
        "a:e8 $VMM_USER a:c8 $VMM_USER"
check "the disk is hard-linked in (same inode)" "$(stat -c %i "$ROOT$ASSETS/rootfs.ext4")" "$(stat -c %i "$ASSETS/rootfs.ext4")"
check "metrics.json is the same file in the jail and the run dir" "$(stat -c %i "$ROOT$RUN/metrics.json")" \
        "$(stat -c %i "$RUN/metrics.json")"
check_match "Firecracker got the kernel at its own path" \
        "$(curl -s --unix-socket "$RUN/api.sock" http://localhost/vm/config | jq -r '.["boot-source"].kernel_image_path')" \
        "^$ASSETS/vmlinux$"
cg=$(grep -E ':memory:' /proc/$pid/cgroup | cut -d: -f3)
if [ -n "$cg" ]; then
        check "it is in the jailer's memory cgroup" "$cg" "/$NAME/jailed-1"
        mnt=$(awk '$3=="cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2}' /proc/mounts | head -1)
        check "limited to guest memory + 128 MiB" "$(cat "$mnt$cg/memory.limit_in_bytes")" $((268435456 + 134217728))
else
        cg=$(grep -E '^0::' /proc/$pid/cgroup | cut -d: -f3)
        check "it is in the jailer's cgroup" "$cg" "/$NAME/jailed-1"
fi
err=$(as_vmm cat "$DATA/metald.db" 2>&1 >/dev/null)
check_match "as $VMM_USER, metald.db cannot be opened" "$err" "Permission denied"
check "the run dir is $VMM_USER's, 0700" "$(stat -c '%a %U' "$RUN")" "700 $VMM_USER"

# Pause/resume through the jail, then kill -9 metald: the VM keeps running.
check "pause works through the jail" "$(jf .state "$(rpc PauseVm '{"vm_id":"jailed-1"}' | cut -d' ' -f2-)")" VM_STATE_PAUSED
check "resume too" "$(jf .state "$(rpc ResumeVm '{"vm_id":"jailed-1"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
kill9_metald
check "the jailed VMM survives kill -9 of metald" "$(kill -0 "$pid" 2>/dev/null && echo alive)" alive
start_metald --firecracker-binary "$FIRECRACKER_SIM" --jailer-binary "$JAILERSIM"
info=$(rpc GetVmInfo '{"vm_id":"jailed-1"}' | cut -d' ' -f2-)
check "after the restart it is reattached: running" "$(jf .state "$info")" VM_STATE_RUNNING
check "with the same VMM" "$(jf .backendInfo.vmmPid "$info")" "$pid"
check "and still answers (pause)" "$(jf .state "$(rpc PauseVm '{"vm_id":"jailed-1"}' | cut -d' ' -f2-)")" VM_STATE_PAUSED
check "no reattach error was recorded" "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='jailed-1' AND kind='error'")" 0

# A crashed jailed VMM is restarted in a fresh jail (the jailer refuses an old one).
rpc ResumeVm '{"vm_id":"jailed-1"}' >/dev/null
kill -9 "$pid"
for _ in $(seq 1 100); do
        new=$(sql "SELECT vmm_pid FROM vms WHERE id='jailed-1' AND observed_state='running'")
        [ -n "$new" ] && [ "$new" != "$pid" ] && break
        sleep 0.1
done
check_match "a crashed jailed VMM is restarted (new pid)" "${new:-none}" '^[1-9][0-9]*$'
[ "${new:-$pid}" != "$pid" ] && ok "in a new jail" || not_ok "in a new jail"

# Delete: the VMM, the jail and its cgroups go.
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='jailed-1'")
out=$(rpc DeleteVm '{"vm_id":"jailed-1"}')
check "DeleteVm answers 200" "${out%% *}" 200
check "the VMM is gone (a zombie at most)" \
        "$(grep -qsE '^State:\s+[^Z]' /proc/$pid/status && echo alive || echo gone)" gone
check "the jail is removed" "$([ -e "$BASE/$NAME/jailed-1" ] && echo present || echo removed)" removed
check "its cgroups are removed" \
        "$(for m in $(awk '$3=="cgroup" || $3=="cgroup2" {print $2}' /proc/mounts); do [ -e "$m/$NAME/jailed-1" ] && echo "$m"; done)" ""

# A writable disk on another filesystem cannot be linked into the jail.
mkdir -p "$T/other" && mount -t tmpfs -o size=32m tmpfs "$T/other" && chmod 0755 "$T/other"
truncate -s 8M "$T/other/disk.ext4"
stop_metald
start_metald --firecracker-binary "$FIRECRACKER_SIM" --jailer-binary "$JAILERSIM" --asset-root "$ASSETS" --asset-root "$T/other"
out=$(rpc CreateVm "{\"vm_id\":\"xdev\",\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux\"},\"storage\":[{\"path\":\"$T/other/disk.ext4\"}]},\"boot\":true}")
check "a writable disk on another filesystem: failed_precondition" "$(jf .code "${out#* }")" failed_precondition
check_match "saying why" "$(jf .message "${out#* }")" "on another filesystem than the jailer's chroot base.*lose the guest's writes"
out=$(rpc CreateVm "{\"vm_id\":\"xdev-ro\",\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux\"},\"storage\":[{\"path\":\"$ASSETS/rootfs.ext4\"},{\"path\":\"$T/other/disk.ext4\",\"readonly\":true}]},\"boot\":true}")
check "a read-only one is copied in: the VM boots" "$(jf .state "${out#* }")" VM_STATE_RUNNING
rpc DeleteVm '{"vm_id":"xdev-ro"}' >/dev/null
umount "$T/other"

finish
