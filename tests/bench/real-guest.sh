#!/bin/bash
# Real guests (issue 8): the time from the API call to the guest's boot
# banner on QEMU microvm, through metald, through bare qemu-system-x86_64 with
# the very command line metald used, and through libvirt (`virsh create` of
# the equivalent domain: same kernel, command line, rootfs, machine, TCG/KVM).
# Each path RUNS times (default 5), interleaved, median reported. Prints ROW/INFO lines
# like bench-api. Run by tools/bench inside a private network namespace.
#
#   METALD=... ASSETS=/opt/vm-assets W=<work dir> RUNS=3 tests/bench/real-guest.sh
set -uo pipefail
: "${METALD:?}" "${ASSETS:?}" "${W:?}"
RUNS=${RUNS:-5}
PORT=18090
URL=http://127.0.0.1:$PORT/vmprovisioner.v1.VmService
RG=$W/rg
mkdir -p "$RG"
ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wait_banner FILE ID: until the guest's banner is in FILE (30 s at most).
wait_banner() {
        local end=$(($(ms) + 30000))
        while [ "$(ms)" -lt $end ]; do
                grep -qs "metald-guest: booted vm $2" "$1" && return 0
                sleep 0.005
        done
        return 1
}

"$METALD" --listen 127.0.0.1:$PORT --data-dir "$RG/data" --asset-root "$ASSETS" --asset-root "$RG" \
        --log-level warning >>"$RG/metald.log" 2>&1 &
MPID=$!
trap 'kill $MPID 2>/dev/null; wait $MPID 2>/dev/null' EXIT
for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done

# libvirt: its daemons started by hand when no systemd runs them; QEMU as
# root without a security driver (tools/bench configures qemu.conf).
LV=1
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
        pgrep -x virtlogd >/dev/null || virtlogd -d
        pgrep -x libvirtd >/dev/null || libvirtd -d
        for _ in $(seq 1 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
        virsh -c qemu:///system version >/dev/null 2>&1 || LV=0
fi

# run_bare I: bare QEMU with the argv metald used (in $argv), console to a file of its own.
run_bare() {
        local i=$1 bare=() skip=0 a k t0 qpid
        append=
        for ((k = 0; k < ${#argv[@]}; k++)); do
                a=${argv[k]}
                if [ $skip -gt 0 ]; then skip=$((skip - 1)); continue; fi
                case "$a" in
                -S) continue ;;
                -pidfile | -mon) skip=1; continue ;;
                -chardev)
                        case "${argv[k + 1]}" in
                        socket,id=qmp*) skip=1; continue ;;
                        file,id=console*) bare+=(-chardev "file,id=console,path=$RG/bare$i.log,append=on"); skip=1; continue ;;
                        esac
                        ;;
                -append) append=${argv[k + 1]} ;;
                esac
                bare+=("$a")
        done
        rm -f "$RG/bare$i.log"
        t0=$(ms)
        "${bare[@]}" >/dev/null 2>&1 &
        qpid=$!
        if wait_banner "$RG/bare$i.log" "$id"; then echo $(($(ms) - t0)) >>"$RG/bare.ms"; fi
        kill -9 $qpid 2>/dev/null
        wait $qpid 2>/dev/null
}

argv=()
append=
: >"$RG/metald.ms"
: >"$RG/bare.ms"
: >"$RG/libvirt.ms"
: >"$RG/virsh.ms"
for i in $(seq 1 "$RUNS"); do
        # The order alternates (metald first, then bare first), so that neither
        # always runs on a warmer cache. Bare QEMU needs metald's argv: from
        # the previous round when it goes first.
        cp --sparse=always "$ASSETS/rootfs.ext4" "$RG/r$i.ext4"
        bare_first=0
        if [ $((i % 2)) = 0 ] && [ ${#argv[@]} -gt 0 ]; then
                bare_first=1
                argv=("${argv[@]//r$((i - 1)).ext4/r$i.ext4}")
                run_bare "$i"
        fi
        # metald: CreateVm with boot:true, then the banner in the VM's console log.
        t0=$(ms)
        out=$(curl -s -X POST "$URL/CreateVm" -H 'Content-Type: application/json' -d "{\"backend\":\"qemu\",\"boot\":true,\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{\"kernel_path\":\"$ASSETS/vmlinux\",\"kernel_args\":\"console=ttyS0 reboot=k panic=1 pci=off\"},\"storage\":[{\"path\":\"$RG/r$i.ext4\",\"readonly\":false}]}}")
        id=$(sed -n 's/.*"vmId":"\([^"]*\)".*/\1/p' <<<"$out")
        if [ -z "$id" ] || ! wait_banner "$RG/data/vms/$id/console.log" "$id"; then
                echo "real-guest: metald run $i failed: $out" >&2
                tail -5 "$RG/metald.log" >&2
                continue
        fi
        echo $(($(ms) - t0)) >>"$RG/metald.ms"
        # The command line metald gave QEMU, for the bare run and the libvirt domain.
        pid=$(curl -s -X POST "$URL/GetVmInfo" -d "{\"vm_id\":\"$id\"}" | sed -n 's/.*"vmmPid":\([0-9]*\).*/\1/p')
        mapfile -d '' argv <"/proc/$pid/cmdline"
        for ((k = 0; k < ${#argv[@]}; k++)); do [ "${argv[k]}" = -append ] && append=${argv[k + 1]}; done
        curl -s -o /dev/null -X POST "$URL/DeleteVm" -d "{\"vm_id\":\"$id\"}"
        [ $bare_first = 1 ] || run_bare "$i"

        # libvirt: the equivalent domain (microvm, same kernel, command line and disk).
        if [ $LV = 1 ]; then
                rm -f "$RG/lv$i.log"
                accel=qemu
                [[ " ${argv[*]} " == *" -accel kvm "* ]] && accel=kvm
                cat >"$RG/lv$i.xml" <<EOF
<domain type='$accel'>
  <name>metald-bench-$i</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='microvm'>hvm</type>
    <kernel>$ASSETS/vmlinux</kernel>
    <cmdline>$append</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$RG/r$i.ext4'/>
      <target dev='vda' bus='virtio'/>
      <address type='virtio-mmio'/>
    </disk>
    <serial type='file'><source path='$RG/lv$i.log'/><target port='0'/></serial>
    <memballoon model='none'/>
    <controller type='usb' model='none'/>
  </devices>
</domain>
EOF
                t0=$(ms)
                if virsh -q -c qemu:///system create "$RG/lv$i.xml" >/dev/null; then
                        t1=$(ms)
                        if wait_banner "$RG/lv$i.log" "$id"; then
                                echo $(($(ms) - t0)) >>"$RG/libvirt.ms"
                                echo $((t1 - t0)) >>"$RG/virsh.ms"
                        fi
                        virsh -q -c qemu:///system destroy "metald-bench-$i" >/dev/null 2>&1
                fi
        fi
        rm -f "$RG/r$i.ext4"
done

m=$(median <"$RG/metald.ms")
b=$(median <"$RG/bare.ms")
l=$(median <"$RG/libvirt.ms")
v=$(median <"$RG/virsh.ms")
accel=TCG
[[ " ${argv[*]:-} " == *" -accel kvm "* ]] && accel=KVM
if [ -z "$m" ] || [ -z "$b" ]; then
        echo "ROW|real guest: API call to banner (QEMU microvm, $accel)|failed (see $RG)|-|overhead < 20 ms|NO"
        exit 1
fi
o=$((m - b))
met=NO
[ $o -lt 20 ] && met=yes
echo "ROW|real guest: API call to banner (QEMU microvm, $accel)|$m ms, overhead $o ms|bare qemu $b ms (median of $(wc -l <"$RG/bare.ms"))|overhead < 20 ms|$met"
if [ -n "$l" ]; then
        lo=$((l - b))
        met=NO
        [ $o -lt $lo ] && met=yes
        echo "ROW|peer: libvirt, same guest (microvm, $accel)|overhead $o ms|virsh create to banner $l ms, overhead $lo ms (virsh create returns after $v ms)|metald's overhead below libvirt's|$met"
else
        echo "ROW|peer: libvirt, same guest (microvm, $accel)|overhead $o ms|libvirt failed (see $RG)|metald's overhead below libvirt's|NO"
fi
echo "INFO|real_guest_runs|metald $(paste -sd, "$RG/metald.ms") bare $(paste -sd, "$RG/bare.ms") libvirt $(paste -sd, "$RG/libvirt.ms")"
