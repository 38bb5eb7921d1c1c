#!/bin/bash
# VMMs never run as root: each backend's VMM runs as the VMM user (not uid 0),
# that user cannot open the database, the data dir, run dirs, sockets and
# database files have the promised owners and modes, guest files are granted
# through a POSIX ACL (or the boot fails naming the file and the fix), and
# metald refuses to start without its VMM user. Firecracker (fcsim) and
# Cloud Hypervisor (chsim) here; QEMU in test-qemu.sh, the jailer in
# test-jailer.sh.
. "$(dirname "$0")/lib.sh"
: "${CHSIM:?path of the chsim binary}"

VMM_USER=metald-vmm
if ! VMM_UID=$(id -u $VMM_USER 2>/dev/null); then
        not_ok "the VMM user $VMM_USER exists (tools/install-deps creates it)"
        finish
        exit 1
fi
VMM_GID=$(id -g $VMM_USER)

# proc_ids PID: "Uid:<4 ids> Gid:<4 ids> Groups:<list>" from /proc/PID/status.
proc_ids() {
        awk '/^Uid:/ {u=$2" "$3" "$4" "$5} /^Gid:/ {g=$2" "$3" "$4" "$5} /^Groups:/ {$1=""; gr=$0}
             END {print "Uid:" u " Gid:" g " Groups:" gr}' "/proc/$1/status"
}
# as_vmm CMD...: run as the VMM user with its groups only (what a VMM can do).
as_vmm() { setpriv --reuid=$VMM_UID --regid=$VMM_GID --clear-groups -- "$@"; }
mode_owner() { stat -c '%a %U' "$1"; }

# --- refusals at start: nothing is created ---------------------------------
out=$("$METALD" --listen 127.0.0.1:$PORT --data-dir "$T/nouser" --vmm-user no-such-vmm-user 2>&1)
check "an unknown --vmm-user: metald refuses to start" "$?" 1
check_match "and says how to create it" "$out" 'the user "no-such-vmm-user" does not exist.*useradd --system'
check "and creates no data dir" "$([ -e "$T/nouser" ] && echo yes || echo no)" no

mkdir -m 0700 "$T/c"
out=$("$METALD" --listen 127.0.0.1:$PORT --data-dir "$T/c/d" 2>&1)
check "a data dir the VMM user cannot reach: refused" "$?" 1
check_match "naming the directory and the fix" "$out" "cannot pass the directory $T/c on the way to .*chmod o\\+x"

# --- Firecracker (fcsim) ------------------------------------------------------
start_metald
check "data dir is 0711 root (VMMs pass through, nobody lists it)" "$(mode_owner "$DATA")" "711 root"
check "vms/ is 0711 root" "$(mode_owner "$DATA/vms")" "711 root"
check "metald.db is 0600 root" "$(mode_owner "$DATA/metald.db")" "600 root"

out=$(rpc CreateVm "{\"vm_id\":\"fc1\",\"config\":$(config),\"boot\":true}")
check "a Firecracker VM boots" "$(jf .state "${out#* }")" VM_STATE_RUNNING
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='fc1'")
check "its VMM runs as $VMM_USER, real/effective/saved/fs uid and gid" "$(proc_ids "$pid" | cut -d' ' -f1-8)" \
        "Uid:$VMM_UID $VMM_UID $VMM_UID $VMM_UID Gid:$VMM_GID $VMM_GID $VMM_GID $VMM_GID"
check "with exactly the VMM user's groups (no root group)" \
        "$(proc_ids "$pid" | sed 's/.*Groups: *//' | tr ' ' '\n' | sort -n | xargs)" \
        "$(id -G $VMM_USER | tr ' ' '\n' | sort -n | xargs)"
check "with no_new_privs (no exec can gain privileges)" "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$pid/status)" 1
check "and no capabilities" "$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ && $1 != "CapBnd:" {print $2}' /proc/$pid/status | sort -u)" \
        0000000000000000
check "its run dir is $VMM_USER's, 0700" "$(mode_owner "$DATA/vms/fc1")" "700 $VMM_USER"
check "its API socket is $VMM_USER's, inside that dir" "$(stat -c '%F %U' "$DATA/vms/fc1/api.sock")" \
        "socket $VMM_USER"
check "metrics.json is $VMM_USER's, 0600" "$(mode_owner "$DATA/vms/fc1/metrics.json")" "600 $VMM_USER"
check "console.log stays root's, 0600 (metald opened it)" "$(mode_owner "$DATA/vms/fc1/console.log")" "600 root"
check "no --no-seccomp on its command line" \
        "$(tr '\0' '\n' <"/proc/$pid/cmdline" | grep -c -- '--no-seccomp')" 0

for f in metald.db metald.db-wal metald.db-shm; do
        if [ -e "$DATA/$f" ]; then
                check "$f is 0600 root" "$(mode_owner "$DATA/$f")" "600 root"
                err=$(as_vmm cat "$DATA/$f" 2>&1 >/dev/null)
                check_match "as $VMM_USER, $f cannot be opened (EACCES)" "$err" "Permission denied"
        fi
done
err=$(as_vmm sqlite3 -readonly "$DATA/metald.db" 'SELECT count(*) FROM vms' 2>&1)
check_match "as $VMM_USER, sqlite3 cannot open the database" "$err" "unable to open|Permission denied|authorization"
err=$(as_vmm ls "$DATA" 2>&1)
check_match "as $VMM_USER, the data dir cannot be listed" "$err" "Permission denied"
err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
        curl -s --max-time 2 --unix-socket "$DATA/vms/fc1/api.sock" http://localhost/ 2>&1; echo "rc=$?")
check_match "another local user cannot reach the API socket" "$err" "rc=(7|45)"
err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- cat "$DATA/vms/fc1/console.log" 2>&1)
check_match "another local user cannot read the console" "$err" "Permission denied"

# The guest's files: granted to the VMM user by an ACL entry, rw for a
# writable disk, r for the kernel.
check_match "the writable disk got an ACL entry user:$VMM_USER:rw-" \
        "$(getfacl -cp "$ASSETS/rootfs.ext4" 2>/dev/null)" "user:$VMM_USER:rw-"
check "a kernel the VMM user can read already (0644) is left alone" \
        "$(getfacl -cp "$ASSETS/vmlinux" 2>/dev/null | grep -c "user:$VMM_USER")" 0
check "and the grant is logged" "$(grep -c "granted the VMM user $VMM_USER read-write access to $ASSETS/rootfs.ext4" "$T/metald.log")" 1

# A disk in a directory the VMM user cannot pass: a clear failed_precondition.
mkdir -m 0700 "$ASSETS/private"
truncate -s 16M "$ASSETS/private/disk.ext4"
out=$(rpc CreateVm "{\"vm_id\":\"blocked\",\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux\"},\"storage\":[{\"path\":\"$ASSETS/private/disk.ext4\"}]},\"boot\":true}")
check "a disk the VMM user cannot reach: failed_precondition" "$(jf .code "${out#* }")" failed_precondition
check_match "naming the file, the user and the fix" "$(jf .message "${out#* }")" \
        "disk $ASSETS/private/disk.ext4 is not readable and writable by the VMM user $VMM_USER.*setfacl -m u:$VMM_USER:rw"

# --- Cloud Hypervisor (chsim) -------------------------------------------------
out=$(rpc CreateVm "{\"vm_id\":\"ch1\",\"backend\":\"cloud-hypervisor\",\"config\":$(config),\"boot\":true}")
check "a Cloud Hypervisor VM boots" "$(jf .state "${out#* }")" VM_STATE_RUNNING
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='ch1'")
check "its VMM runs as $VMM_USER" "$(proc_ids "$pid" | cut -d' ' -f1-8)" \
        "Uid:$VMM_UID $VMM_UID $VMM_UID $VMM_UID Gid:$VMM_GID $VMM_GID $VMM_GID $VMM_GID"
check "with --seccomp true" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -c -- '--seccomp true')" 1
check "its run dir is $VMM_USER's, 0700" "$(mode_owner "$DATA/vms/ch1")" "700 $VMM_USER"
check "vmm.log is $VMM_USER's" "$(mode_owner "$DATA/vms/ch1/vmm.log")" "600 $VMM_USER"

# Restarted metald finds them again (the run dirs changed owner, not path).
kill9_metald
start_metald
check "after kill -9 of metald, the Firecracker VM is reattached" \
        "$(jf .state "$(rpc GetVmInfo '{"vm_id":"fc1"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
check "and the Cloud Hypervisor VM" \
        "$(jf .state "$(rpc GetVmInfo '{"vm_id":"ch1"}' | cut -d' ' -f2-)")" VM_STATE_RUNNING
stop_metald

# --- the opt-out: --vmm-user root, with a warning ------------------------------
DATA=$T/r
start_metald --vmm-user root
check "--vmm-user root is logged as a warning" "$(grep -c 'VMMs run as root' "$T/metald.log")" 1
out=$(rpc CreateVm "{\"vm_id\":\"asroot\",\"config\":$(config),\"boot\":true}")
check "with --vmm-user root a VM boots" "$(jf .state "${out#* }")" VM_STATE_RUNNING
pid=$(sql "SELECT vmm_pid FROM vms WHERE id='asroot'")
check "and its VMM runs as root" "$(proc_ids "$pid" | cut -d' ' -f1)" "Uid:0"
check "the data dir stays 0700 then" "$(mode_owner "$DATA")" "700 root"

finish
