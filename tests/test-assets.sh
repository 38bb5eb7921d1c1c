#!/bin/bash
# Smoke test of the guest assets that tools/mkassets builds: boot them under QEMU's microvm
# machine (TCG, or KVM when /dev/kvm is usable) and check
#   - the banner "metald-guest: booted vm <id>" on the serial console (and the boot time),
#   - the heartbeat stops on QMP stop and goes on after cont,
#   - QMP system_powerdown (ACPI power button) powers the guest off and QEMU exits 0,
#   - the guest wrote /var/log/metald-boot to its root disk (read back with debugfs).
#
#   tests/test-assets.sh [ASSET_DIR]     (default /opt/vm-assets)
#
# Exits 77 (skipped) when the assets or the tools are missing, 0 when all checks pass,
# 1 otherwise. Boots a copy of rootfs.ext4: the assets are not modified.
set -u

DIR=${1:-/opt/vm-assets}
QEMU=${QEMU:-qemu-system-x86_64}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}

skip() { echo "SKIP: $*"; exit 77; }
[ -r "$DIR/vmlinux" ] && [ -r "$DIR/rootfs.ext4" ] ||
	skip "no assets in $DIR (vmlinux, rootfs.ext4): build them with tools/mkassets --out $DIR"
command -v "$QEMU" >/dev/null || skip "$QEMU not found (apt-get install qemu-system-x86)"
command -v debugfs >/dev/null || skip "debugfs not found (apt-get install e2fsprogs)"
command -v python3 >/dev/null || skip "python3 not found"

TMP=$(mktemp -d /tmp/test-assets.XXXXXX)
QPID=
cleanup() {
	# QPID is `timeout`, which passes SIGTERM on to QEMU; qemu.pid is QEMU itself.
	local pids p=''
	pids="$QPID $(cat "$TMP/qemu.pid" 2>/dev/null)"
	for p in $pids; do kill "$p" 2>/dev/null; done
	for _ in $(seq 20); do
		for p in $pids; do kill -0 "$p" 2>/dev/null && break; p=; done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

PASS=0
FAIL=0
ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
nok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }
finish() {
	if [ "$FAIL" -gt 0 ]; then
		echo "--- console (last 40 lines)"
		tail -n 40 "$TMP/console.log" 2>/dev/null
		echo "--- qemu stderr"
		head -n 30 "$TMP/qemu.err" 2>/dev/null
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

# qmp CMD [ARGS-JSON]: run one QMP command, print its "return" as JSON; exit 1 on error.
qmp() {
	python3 - "$TMP/qmp.sock" "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        line = f.readline()
        if not line:
            sys.exit("qmp: connection closed")
        m = json.loads(line)
        if "return" in m or "error" in m:
            return m
json.loads(f.readline())  # greeting
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush(); reply()
cmd = {"execute": sys.argv[2]}
if len(sys.argv) > 3:
    cmd["arguments"] = json.loads(sys.argv[3])
f.write(json.dumps(cmd) + "\n"); f.flush()
m = reply()
if "error" in m:
    sys.exit("qmp: %s: %s" % (sys.argv[2], m["error"]))
print(json.dumps(m["return"]))
EOF
}

now_ms() { date +%s%3N; }
# wait_for PATTERN SECONDS: wait until the console has a line matching PATTERN (grep -E;
# the serial console ends lines with \r\n).
wait_for() {
	local end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		tr -d '\r' 2>/dev/null <"$TMP/console.log" | grep -qE "$1" && return 0
		kill -0 "$QPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
alive_count() { grep -c 'metald-guest: alive ' "$TMP/console.log"; }

# TCG by default: /dev/kvm may exist without working (QEMU/KVM fails in some sandboxes);
# TEST_ASSETS_ACCEL=kvm to use it.
accel=${TEST_ASSETS_ACCEL:-tcg}
extra=
if [ "$accel" = tcg ]; then
	# TCG: tsc_early_khz avoids the random PIT-calibration hang (QEMU-NOTES.md); the host's
	# TSC rate keeps guest time right (TCG's guest TSC runs at the host's rate).
	khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo 2>/dev/null)
	extra=" tsc_early_khz=${khz:-2000000}"
fi
VMID=test-assets-$$
cp --sparse=always "$DIR/rootfs.ext4" "$TMP/rootfs.ext4"
# The guest counts its boots on its disk: a rootfs that booted before starts from its count.
B0=$(debugfs -R 'cat /var/log/metald-boot' "$TMP/rootfs.ext4" 2>/dev/null | sed -n 's/^boot_count=//p')
B1=$(( ${B0:-0} + 1 ))

start=$(now_ms)
timeout --kill-after=5 300 "$QEMU" \
	-M microvm,accel=$accel,acpi=on,pic=off,pit=on,rtc=on,isa-serial=on,x-option-roms=off \
	-m 128 -smp 1 \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial "file:$TMP/console.log" \
	-qmp "unix:$TMP/qmp.sock,server=on,wait=off" -pidfile "$TMP/qemu.pid" \
	-kernel "$DIR/vmlinux" \
	-append "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw metald.vm_id=$VMID$extra" \
	-drive "id=root,file=$TMP/rootfs.ext4,format=raw,if=none" \
	-device virtio-blk-device,drive=root \
	</dev/null >"$TMP/qemu.out" 2>"$TMP/qemu.err" &
QPID=$!

# 1. banner
if wait_for "metald-guest: booted vm $VMID\$" "$BOOT_TIMEOUT"; then
	ok "banner after $(($(now_ms) - start)) ms ($accel)"
else
	nok "no banner 'metald-guest: booted vm $VMID' within ${BOOT_TIMEOUT}s"
	finish
fi
if wait_for "metald-guest: wrote /var/log/metald-boot boot_count=$B1\$" 20; then
	ok "guest wrote its boot file"
else
	nok "guest did not report writing /var/log/metald-boot"
fi
wait_for 'metald-guest: alive 2$' 20 && ok "heartbeat" || nok "no heartbeat"

# 2. pause / resume
for _ in $(seq 50); do [ -S "$TMP/qmp.sock" ] && break; sleep 0.1; done
if qmp stop >/dev/null && qmp query-status | grep -q '"status": "paused"'; then
	sleep 0.5
	n1=$(alive_count)
	sleep 2.5
	n2=$(alive_count)
	[ "$n1" = "$n2" ] && ok "stop: heartbeat paused ($n1 beats)" || nok "stop: heartbeat went on ($n1 -> $n2)"
	qmp cont >/dev/null || nok "QMP cont failed"
	end=$(($(date +%s) + 15))
	while [ "$(alive_count)" -le "$n2" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
	[ "$(alive_count)" -gt "$n2" ] && ok "cont: heartbeat resumed" || nok "cont: heartbeat did not resume"
else
	nok "QMP stop / query-status failed"
fi

# 3. ACPI power button -> clean power-off -> QEMU exits 0
if qmp system_powerdown >/dev/null; then
	end=$(($(date +%s) + 60))
	while kill -0 "$QPID" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
	if kill -0 "$QPID" 2>/dev/null; then
		nok "QEMU still running 60 s after system_powerdown"
	else
		wait "$QPID"
		rc=$?
		QPID=
		[ "$rc" = 0 ] && ok "QEMU exited 0 after system_powerdown" || nok "QEMU exited $rc"
		grep -q 'metald-guest: shutdown: power button' "$TMP/console.log" &&
			grep -q 'reboot: Power down' "$TMP/console.log" &&
			ok "guest powered off cleanly" || nok "no clean power-off on the console"
	fi
else
	nok "QMP system_powerdown failed"
fi

# 4. the boot file on the disk
[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
QPID=
bootfile=$(debugfs -R 'cat /var/log/metald-boot' "$TMP/rootfs.ext4" 2>/dev/null)
if echo "$bootfile" | grep -qx "vm_id=$VMID" && echo "$bootfile" | grep -qx "boot_count=$B1"; then
	ok "debugfs: /var/log/metald-boot has vm_id=$VMID boot_count=$B1"
else
	nok "debugfs: /var/log/metald-boot is wrong: $(echo "$bootfile" | tr '\n' ' ')"
fi
e2fsck -fn "$TMP/rootfs.ext4" >"$TMP/fsck.log" 2>&1 && ok "e2fsck: root filesystem clean" ||
	nok "e2fsck: $(tail -n 3 "$TMP/fsck.log" | tr '\n' ' ')"

finish
