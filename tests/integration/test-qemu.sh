#!/bin/bash
# Real guests on QEMU (backend "qemu": machine microvm, KVM where /dev/kvm can
# run them, else TCG), booted from the assets tools/mkassets builds:
#   - the seed's minimal config with "backend":"qemu" boots, its banner is on
#     GetVmConsole (the time from BootVm to the banner is printed), QEMU's
#     command line names the VM and its QMP socket, QMP agrees with metald;
#   - PauseVm stops the guest (no console output for 2 s), ResumeVm goes on;
#   - ShutdownVm: the ACPI power button, a clean power-off, QEMU exits 0, the
#     event says the guest powered off, and the file the guest wrote is in
#     its rootfs.ext4 afterwards (debugfs), which e2fsck finds clean;
#   - kill -9 of metald while a guest runs: after the restart the same QEMU
#     (same pid, same boot: the heartbeat counter goes on) is reattached
#     through the same QMP socket and is still controllable;
#   - kill -9 of QEMU: noticed, recorded as crashed, restarted (on-failure).
# Each VM boots a copy of rootfs.ext4 (the guest writes to it).
#
# ASSETS names the directory with vmlinux and rootfs.ext4 (tools/mkassets
# --out DIR); QEMU the binary (default qemu-system-x86_64). Exits 77 when
# either, or debugfs, is missing.
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${ASSETS:-}" ] || skip "ASSETS is not set: it names the directory tools/mkassets --out DIR wrote"
[ -r "$ASSETS/vmlinux" ] && [ -r "$ASSETS/rootfs.ext4" ] ||
        skip "no guest assets in $ASSETS (vmlinux, rootfs.ext4): build them with tools/mkassets --out $ASSETS"
QEMU=$(command -v "${QEMU:-qemu-system-x86_64}") || skip "${QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86)"
command -v debugfs >/dev/null || skip "debugfs not found (apt-get install e2fsprogs)"
command -v socat >/dev/null || skip "socat not found (apt-get install socat)"
GUEST=$(cd "$ASSETS" && pwd)

# lib.sh's own $ASSETS is the test's private asset root (the copies go there).
. "$(dirname "$0")/lib.sh"

# The seed's paths, private to this test (as in test-seed.sh): the real
# kernel, and a copy of the rootfs. Copied first: $GUEST may be /opt/vm-assets.
cp "$GUEST/vmlinux" "$T/vmlinux"
cp --sparse=always "$GUEST/rootfs.ext4" "$T/rootfs.ext4"
# The guest counts its boots on its disk; a rootfs that booted before (say,
# the demo's) starts from its count, not from 0.
B0=$(debugfs -R 'cat /var/log/metald-boot' "$T/rootfs.ext4" 2>/dev/null | sed -n 's/^boot_count=//p')
B0=${B0:-0}
mkdir -p /opt/vm-assets
mount -t tmpfs tmpfs /opt/vm-assets
cp "$T/vmlinux" /opt/vm-assets/vmlinux
cp --sparse=always "$T/rootfs.ext4" /opt/vm-assets/rootfs.ext4
# Debug: metald logs the exit status of every child it reaps.
start_metald --qemu-binary "$QEMU" --asset-root /opt/vm-assets --log-level debug || exit 1

# disk NAME: a fresh copy of the rootfs for one VM; prints its path.
disk() { cp --sparse=always "$T/rootfs.ext4" "$ASSETS/$1.ext4" && echo "$ASSETS/$1.ext4"; }
# qconfig ROOTFS: the seed's minimal config with another root disk.
qconfig() {
        printf '{"cpu":{"vcpu_count":1},"memory":{"size_bytes":134217728},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"%s","readonly":false}]}' "$1"
}
info_of() { rpc GetVmInfo "{\"vm_id\":\"$1\"}" | cut -d' ' -f2-; }
pid_of() { jf .backendInfo.vmmPid "$(info_of "$1")"; }
# A console's text, lines without the serial line's "\r".
console_api() { jf .data "$(rpc GetVmConsole "{\"vm_id\":\"$1\"}" | cut -d' ' -f2-)" | tr -d '\r'; }
console_file() { tr -d '\r' <"$DATA/vms/$1/console.log" 2>/dev/null; }
# The guest's heartbeat counter: the last "alive N" on its console (0: none yet).
alive_n() { console_file "$1" | sed -n 's/^metald-guest: alive \([0-9]*\).*/\1/p' | tail -n 1 | grep . || echo 0; }
# wait_console ID REGEX [SECONDS]
wait_console() {
        local i
        for i in $(seq 1 $((${3:-60} * 20))); do
                console_file "$1" | grep -qE "$2" && return 0
                sleep 0.05
        done
        echo "wait_console $1 /$2/: not there; console tail:"; console_file "$1" | tail -n 5
        return 1
}
# wait_alive ID N [SECONDS]: until the heartbeat counter passes N.
wait_alive() {
        local i
        for i in $(seq 1 $((${3:-30} * 20))); do
                [ "$(alive_n "$1")" -gt "$2" ] && return 0
                sleep 0.05
        done
        return 1
}
# qmp SOCKET COMMAND: QEMU's own answer's "return", as another QMP client.
qmp() {
        printf '{"execute":"qmp_capabilities"}\n{"execute":"%s","id":"t"}\n' "$2" |
                socat -t 2 - "UNIX-CONNECT:$1" | jq -c 'select(.id == "t") | .return' 2>/dev/null
}
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ] && echo alive || echo gone; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the seed's minimal config, on QEMU ----
out=$(curl -s -w '\n%{http_code}' -X POST http://localhost:8080/vmprovisioner.v1.VmService/CreateVm \
  -d '{"backend":"qemu","config":{"cpu":{"vcpu_count":1},"memory":{"size_bytes":134217728},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false}]}}')
check "the minimal example on qemu answers 200" "${out##*$'\n'}" 200
id=$(jf .vmId "${out%$'\n'*}")
check_match "it returns a vm id" "$id" '^vm-[a-z2-7]{26}$'

t0=$(ms)
out=$(rpc BootVm "{\"vm_id\":\"$id\"}")
t1=$(ms)
check "BootVm" "$out" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
banner=
for _ in $(seq 1 1200); do
        if console_api "$id" | grep -qx "metald-guest: booted vm $id"; then banner=$(ms); break; fi
        sleep 0.02
done
if [ -n "$banner" ]; then
        ok "GetVmConsole shows the guest's banner \"metald-guest: booted vm $id\""
else
        not_ok "GetVmConsole shows the guest's banner"; console_file "$id" | tail -n 20
fi
pid=$(pid_of "$id")
argv=$(tr '\0' ' ' </proc/"$pid"/cmdline)
accel=$(sed -n 's/.* -accel \([a-z]*\) .*/\1/p' <<<"$argv")
echo "# boot time ($accel): BootVm answered in $((t1 - t0)) ms; banner on GetVmConsole $((${banner:-$t1} - t0)) ms after the call"
echo "# QEMU: $argv"
run=$DATA/vms/$id
check_match "QEMU runs the microvm machine, named after the VM, started paused" "$argv" \
        "^$QEMU -name $id -machine microvm,[^ ]*acpi=on[^ ]* -accel (tcg|kvm) .*-no-reboot -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -S -m 128 -smp 1 "
check_match "with the kernel, root= and the VM's id on its command line" "$argv" \
        " -kernel /opt/vm-assets/vmlinux -append root=/dev/vda rw console=ttyS0 reboot=k panic=1 pci=off metald.vm_id=$id( tsc_early_khz=[0-9]+)? -drive "
check_match "the rootfs as a virtio-blk device" "$argv" \
        " -drive id=drive-rootfs,file=/opt/vm-assets/rootfs.ext4,format=raw,if=none -device virtio-blk-device,drive=drive-rootfs "
check_match "QMP on the run directory's api.sock, the serial console appended to console.log" "$argv" \
        "-chardev file,id=console,path=$run/console.log,append=on -serial chardev:console -chardev socket,id=qmp,path=$run/api.sock,server=on,wait=off -mon chardev=qmp,mode=control -pidfile $run/qemu.pid"
check "the API socket is QMP's" "$(jf .backendInfo.apiSocketPath "$(info_of "$id")")" "$run/api.sock"
check "-pidfile names QEMU" "$(cat "$run/qemu.pid" 2>/dev/null)" "$pid"
check "QEMU runs in its own session" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
# Never root: the VMM user, with QEMU's seccomp sandbox on (above), and that
# user cannot open the database.
vmm_uid=$(id -u metald-vmm)
check "QEMU runs as the VMM user metald-vmm (uid $vmm_uid), not root" \
        "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$pid/status)" "$vmm_uid $vmm_uid $vmm_uid $vmm_uid"
check "its seccomp filter is on" "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)" 2
check_match "as metald-vmm, metald.db cannot be opened" \
        "$(setpriv --reuid=metald-vmm --regid=metald-vmm --clear-groups -- cat "$DATA/metald.db" 2>&1 >/dev/null)" \
        "Permission denied"
check "its run dir is metald-vmm's, 0700; QMP's socket and the console file in it too" \
        "$(stat -c '%a %U' "$run") $(stat -c '%F %U' "$run/api.sock") $(stat -c '%U' "$run/console.log")" \
        "700 metald-vmm socket metald-vmm metald-vmm"
check "QMP says running" "$(qmp "$run/api.sock" query-status | jq -r .status)" running
check "BootVm again is a no-op" "$(rpc BootVm "{\"vm_id\":\"$id\"}")" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "with the same QEMU" "$(pid_of "$id")" "$pid"

# ---- pause and resume ----
wait_alive "$id" 1 || not_ok "the heartbeat starts"
check "PauseVm" "$(rpc PauseVm "{\"vm_id\":\"$id\"}")" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "QMP says paused" "$(qmp "$run/api.sock" query-status | jq -r .status)" paused
before=$(stat -c %s "$run/console.log"); n=$(alive_n "$id")
sleep 2
check "a paused guest writes nothing for 2 s" "$(stat -c %s "$run/console.log") $(alive_n "$id")" "$before $n"
check "PauseVm again" "$(rpc PauseVm "{\"vm_id\":\"$id\"}")" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "ResumeVm" "$(rpc ResumeVm "{\"vm_id\":\"$id\"}")" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
if wait_alive "$id" "$n" 5; then ok "the resumed guest goes on (alive $n -> $(alive_n "$id"))"; else not_ok "the resumed guest goes on"; fi
check "the same boot: one banner" "$(console_file "$id" | grep -c "^metald-guest: booted vm ")" 1

# ---- graceful shutdown: the ACPI power button ----
check "ShutdownVm" "$(rpc ShutdownVm "{\"vm_id\":\"$id\",\"timeout_seconds\":20}")" \
        '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
check "QEMU is gone" "$(alive "$pid")" gone
check "the event says the guest powered off" \
        "$(sql "SELECT reason FROM vm_events WHERE vm_id='$id' AND to_state='shutdown' AND kind='observed'")" \
        "the guest powered off"
check "the guest saw the power button and powered off" \
        "$(console_file "$id" | grep -E '^metald-guest: (shutdown|powering)' | tr '\n' '|')" \
        "metald-guest: shutdown: power button|metald-guest: powering off|"
for _ in $(seq 1 20); do grep -q "child $pid exited" "$T/metald.log" && break; sleep 0.05; done
check "QEMU exited with status 0" "$(grep -o "child $pid exited (status [^)]*)" "$T/metald.log")" \
        "child $pid exited (status 0x0)"
check "no QEMU left for the VM" "$(pgrep -fc "$run/api.sock")" 0
bootfile=$(debugfs -R 'cat /var/log/metald-boot' /opt/vm-assets/rootfs.ext4 2>/dev/null)
check "the file the guest wrote is in rootfs.ext4" "$(grep -E '^(vm_id|boot_count)=' <<<"$bootfile" | tr '\n' ' ')" \
        "vm_id=$id boot_count=$((B0 + 1)) "
if e2fsck -fn /opt/vm-assets/rootfs.ext4 >"$T/fsck.log" 2>&1; then ok "the guest left a clean file system"
else not_ok "the guest left a clean file system: $(tail -n 3 "$T/fsck.log")"; fi

# ---- kill -9 of metald while the guest runs: reattach ----
out=$(rpc CreateVm "{\"vm_id\":\"q-keep\",\"backend\":\"qemu\",\"boot\":true,\"config\":$(qconfig "$(disk q-keep)")}")
check "a second VM boots" "$out" '200 {"vmId":"q-keep","state":"VM_STATE_RUNNING"}'
wait_alive q-keep 1 || not_ok "its heartbeat starts"
pid=$(pid_of q-keep)
kill9_metald
n=$(alive_n q-keep)
sleep 1
check "QEMU survives kill -9 of metald" "$(alive "$pid")" alive
start_metald --qemu-binary "$QEMU" --asset-root /opt/vm-assets --log-level debug || exit 1
info=$(info_of q-keep)
check "after the restart the VM is running" "$(jf .state "$info")" VM_STATE_RUNNING
check "on the same QEMU" "$(jf .backendInfo.vmmPid "$info")" "$pid"
check "one QEMU for the VM" "$(pgrep -fc "$DATA/vms/q-keep/api.sock")" 1
if wait_alive q-keep "$((n + 1))" 10; then ok "the same boot goes on (alive $n -> $(alive_n q-keep))"
else not_ok "the same boot goes on (alive $n -> $(alive_n q-keep))"; fi
check "one banner: no reboot happened" "$(console_file q-keep | grep -c "^metald-guest: booted vm ")" 1
check "the reattached VM pauses" "$(rpc PauseVm '{"vm_id":"q-keep"}')" '200 {"success":true,"state":"VM_STATE_PAUSED"}'
check "QMP says paused" "$(qmp "$DATA/vms/q-keep/api.sock" query-status | jq -r .status)" paused
check "and resumes" "$(rpc ResumeVm '{"vm_id":"q-keep"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
check "and shuts down" "$(rpc ShutdownVm '{"vm_id":"q-keep","timeout_seconds":20}')" \
        '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
check "by powering off" \
        "$(sql "SELECT reason FROM vm_events WHERE vm_id='q-keep' AND to_state='shutdown' AND kind='observed'")" \
        "the guest powered off"
check "QEMU is gone" "$(alive "$pid")" gone

# ---- kill -9 of QEMU: the restart policy (on-failure, the default) ----
out=$(rpc CreateVm "{\"vm_id\":\"q-crash\",\"backend\":\"qemu\",\"boot\":true,\"config\":$(qconfig "$(disk q-crash)")}")
check "a third VM boots" "$out" '200 {"vmId":"q-crash","state":"VM_STATE_RUNNING"}'
wait_console q-crash "^metald-guest: wrote /var/log/metald-boot boot_count=$((B0 + 1))" || not_ok "it records its first boot"
pid=$(pid_of q-crash)
kill -9 "$pid"
restarted=
for _ in $(seq 1 300); do
        p=$(pid_of q-crash)
        if [ "$p" != "$pid" ] && [ "$p" != 0 ] && [ "$(jf .state "$(info_of q-crash)")" = VM_STATE_RUNNING ]; then
                restarted=$p; break
        fi
        sleep 0.05
done
if [ -n "$restarted" ]; then ok "the killed QEMU is replaced (pid $pid -> $restarted)"; else not_ok "the killed QEMU is replaced"; fi
check "the crash is recorded" "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='q-crash' AND kind='crashed'")" 1
# Killed by signal 9 when this metald spawned it; after a metald restart QEMU
# is no longer its child and the status cannot be known.
check_match "with how it ended" "$(jf .lastExit "$(info_of q-crash)")" "^pid $pid (killed by signal 9|exited \\(status unknown)"
check "restarts counted" "$(jf .restarts "$(info_of q-crash)")" 1
wait_console q-crash "^metald-guest: wrote /var/log/metald-boot boot_count=$((B0 + 2))" && ok "the guest boots again, on the same disk"
check "one QEMU for the VM" "$(pgrep -fc "$DATA/vms/q-crash/api.sock")" 1
check "DeleteVm" "$(rpc DeleteVm '{"vm_id":"q-crash"}')" '200 {"success":true}'
check "no QEMU left" "$(pgrep -fc "$DATA/vms/")" 0
finish
