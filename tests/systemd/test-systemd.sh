#!/bin/bash
# metald under a real systemd: a Debian 12 container booted with
# systemd-nspawn, metald installed there as units/metald.service, driven with
# systemctl and curl. Proves readiness (Type=notify), the watchdog, one
# transient scope per VMM (metald-vm-<id>.scope with the VM's limits), that
# restarting or stopping metald leaves the VMs running, and socket activation
# when units/metald.socket exists.
#
# The container tree is built once with debootstrap and cached outside the
# clone ($METALD_NSPAWN_CACHE, default /var/cache/metald/nspawn); each run
# boots it with --volatile=overlay (the cache stays clean) from a cgroup of its
# own, and removes the container, its cgroups and its temp files on exit.
# Exits 77 (skipped) when this host cannot build or boot the container.
set -u

: "${METALD:?path of the metald binary}"
: "${FCSIM:?path of the fcsim binary}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

SUITE=bookworm
MIRROR=${METALD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${METALD_NSPAWN_CACHE:-/var/cache/metald/nspawn}
# What metald and fcsim need at run time (libasan8/libubsan1 for the
# sanitizer build), and the tools the checks use inside the container.
PKGS=systemd,systemd-sysv,dbus,libmicrohttpd12,libjansson4,libcurl4,libsqlite3-0,libsystemd0,libprotobuf-c1,libnftables1,libasan8,libubsan1,curl,jq,sqlite3,procps,iproute2
# Bump TREE_REV when the way the tree is built changes.
TREE_REV=1
HASH=$(printf '%s\n' "$SUITE" "$PKGS" "$TREE_REV" | sha256sum | cut -c1-12)
TREE=$CACHE/$SUITE-$HASH
WATCHDOG_S=3 # the drop-in's WatchdogSec: short, so that 2x the period is a short wait

PASS=0
FAIL=0
PENDING=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
pending() { PENDING=$((PENDING + 1)); echo "pending - $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi; }
check_match() { if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1: '$2' does not match /$3/"; fi; }
skip() { echo "SKIP: $*"; exit 77; }
now_ms() { date +%s%3N; }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }
T_START=$(now_ms)

[ "$(id -u)" = 0 ] || skip "systemd-nspawn needs root"

# ---------------------------------------------------------------------------
# Tools and the cached container tree.

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
        echo "# installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null 2>&1 ||
                skip "cannot install ${need[*]} with apt-get"
fi

build_tree() {
        mkdir -p "$CACHE" || return 1
        # One builder at a time; the others wait and then use its tree.
        exec 9>"$CACHE/.lock"
        flock -w 900 9 || { echo "# timed out waiting for $CACHE/.lock"; return 1; }
        if [ ! -e "$TREE/.metald-tree-complete" ]; then
                local t0 log=$CACHE/$SUITE-$HASH.log
                t0=$(now_ms)
                echo "# building $TREE with debootstrap (log: $log)"
                rm -rf "$TREE" "$TREE.tmp"
                if ! timeout 900 debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$TREE.tmp" "$MIRROR" \
                        >"$log" 2>&1; then
                        echo "# debootstrap failed:"; tail -5 "$log" | sed 's/^/#   /'
                        rm -rf "$TREE.tmp"
                        exec 9>&-
                        return 1
                fi
                # Nothing in the container waits for a login or an apt run.
                systemctl --root="$TREE.tmp" mask --quiet console-getty.service apt-daily.timer \
                        apt-daily-upgrade.timer e2scrub_all.timer dpkg-db-backup.timer 2>/dev/null
                touch "$TREE.tmp/.metald-tree-complete"
                mv "$TREE.tmp" "$TREE"
                echo "# timing: debootstrap $(since "$t0")"
        else
                echo "# using the cached tree $TREE"
        fi
        exec 9>&-
}
build_tree || skip "cannot build the Debian $SUITE tree with debootstrap from $MIRROR"

# ---------------------------------------------------------------------------
# The container: its files, its cgroup, its cleanup.

T=$(mktemp -d /tmp/metald-systemd-XXXXXX)
MACHINE=metald-test-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
NSPAWN_PID=
LEADER=
CGROUPS=()

# Start nspawn from cgroups of its own, so that two runs never share nspawn's
# payload/supervisor cgroups and everything it leaves can be killed and
# removed. Under a systemd host, nspawn makes its own scope over the bus.
make_cgroups() {
        [ -d /run/systemd/system ] && return 0
        local mnt key cur
        if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
                set -- /sys/fs/cgroup ""
        else
                set -- /sys/fs/cgroup/systemd name=systemd
                [ -f /sys/fs/cgroup/unified/cgroup.procs ] && set -- "$@" /sys/fs/cgroup/unified ""
        fi
        while [ $# -gt 0 ]; do
                mnt=$1 key=$2; shift 2
                cur=$(awk -F: -v k="$key" '$2 == k { print $3 }' /proc/self/cgroup)
                mkdir "$mnt${cur%/}/$MACHINE" || return 1
                CGROUPS+=("$mnt${cur%/}/$MACHINE")
        done
}

# Every process in our cgroups, depth-first.
cgroup_pids() {
        local d
        for d in "${CGROUPS[@]}"; do
                find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
        done | sort -u
}

cleanup() {
        local i
        if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
                # nspawn turns SIGTERM into an orderly poweroff of the container.
                kill -TERM "$NSPAWN_PID" 2>/dev/null
                for i in $(seq 1 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$NSPAWN_PID" 2>/dev/null
        fi
        if [ ${#CGROUPS[@]} -gt 0 ]; then
                for i in $(seq 1 50); do
                        pids=$(cgroup_pids)
                        [ -z "$pids" ] && break
                        # shellcheck disable=SC2086
                        kill -KILL $pids 2>/dev/null
                        sleep 0.1
                done
                for d in "${CGROUPS[@]}"; do
                        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
                        [ -d "$d" ] && echo "# cleanup: could not remove $d"
                done
        fi
        [ -d /run/systemd/system ] && [ -n "$NSPAWN_PID" ] &&
                systemctl stop "machine-$MACHINE.scope" >/dev/null 2>&1
        rm -rf "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What goes into the container (bound read-only at /opt/metald-test).
mkdir -p "$T/stage/units"
cp "$METALD" "$T/stage/metald" && cp "$FCSIM" "$T/stage/fcsim" && cp "$SRC"/units/metald.* "$T/stage/units/" || exit 1
cp "$SRC/units/metald-sysusers.conf" "$T/stage/sysusers.conf" || exit 1
[ -n "${SCOPE_PROBE:-}" ] && { cp "$SCOPE_PROBE" "$T/stage/scope-probe" || exit 1; }
HAVE_SOCKET=0
[ -f "$SRC/units/metald.socket" ] && HAVE_SOCKET=1
cat >"$T/stage/test.conf" <<EOF
# metald-test: fcsim as the Firecracker binary, placeholder assets, a short watchdog.
[Service]
ExecStart=
ExecStart=/usr/local/sbin/metald --listen 127.0.0.1:8080 --firecracker-binary /usr/local/bin/firecracker --asset-root /opt/vm-assets --request-timeout 10 --resync-interval 200
WatchdogSec=$WATCHDOG_S
LimitCORE=0
EOF

make_cgroups || skip "cannot create cgroups for the container under /sys/fs/cgroup"
T_BOOT=$(now_ms)
NSPAWN_ARGS=(-q -b -D "$TREE" --volatile=overlay --machine="$MACHINE" --register=no --private-network
        --console=read-only --link-journal=no --bind-ro="$T/stage:/opt/metald-test")
[ ${#CGROUPS[@]} -gt 0 ] && NSPAWN_ARGS+=(--keep-unit)
(
        for d in "${CGROUPS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs" || exit 1; done
        exec systemd-nspawn "${NSPAWN_ARGS[@]}"
) >"$T/console.log" 2>&1 &
NSPAWN_PID=$!

# The container's init: nspawn's child once it runs systemd.
for _ in $(seq 1 300); do
        for p in $(pgrep -P "$NSPAWN_PID"); do
                [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && LEADER=$p
        done
        [ -n "$LEADER" ] && break
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
done
if [ -z "$LEADER" ]; then
        echo "# systemd-nspawn did not start systemd in the container:"
        tail -20 "$T/console.log" | sed 's/^/#   /'
        skip "systemd-nspawn cannot boot a container here"
fi

# cx CMD...: run a command inside the container (all its namespaces), bounded.
cx() {
        timeout -k 5 "${CX_TIMEOUT:-30}" nsenter -t "$LEADER" -a -- env -i \
                PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
# Until systemd's own bus is up, systemctl cannot ask; then --wait blocks
# until the boot is done.
state=
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ] && kill -0 "$NSPAWN_PID" 2>/dev/null; do
        state=$(CX_TIMEOUT=90 cx systemctl is-system-running --wait 2>"$T/boot.err")
        case "$state" in "" | initializing | starting) sleep 0.1 ;; *) break ;; esac
done
case "$state" in
running | degraded) ;;
*)
        echo "# the container did not finish booting (state '$state'; systemctl said: $(head -c 300 "$T/boot.err")):"
        tail -20 "$T/console.log" | sed 's/^/#   /'
        skip "systemd in the container did not come up"
        ;;
esac
echo "# timing: container boot $(since "$T_BOOT") (systemd says: $state)"
[ "$state" = degraded ] && echo "# failed units: $(cx systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"

# ---------------------------------------------------------------------------
# Helpers inside the container.

URL=http://127.0.0.1:8080
# rpc METHOD JSON: prints "HTTP_STATUS BODY".
rpc() {
        cx curl -s --max-time 20 -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/$1" \
                -H 'Content-Type: application/json' -d "$2" |
                { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}
jf() { jq -r "$1" 2>/dev/null <<<"$2"; }
info() { rpc GetVmInfo "{\"vm_id\":\"$1\"}" | cut -d' ' -f2-; }
prop() { cx systemctl show -P "$2" "$1" 2>/dev/null; }                # prop UNIT PROPERTY
alive() { cx sh -c "kill -0 $1 && ! grep -q '^State:.Z' /proc/$1/status" 2>/dev/null && echo alive; }
# The unit a pid is in, from its name=systemd / unified cgroup path.
unit_of() { cx cat "/proc/$1/cgroup" 2>/dev/null | awk -F: '$2 == "name=systemd" || $2 == "" { n = split($3, p, "/"); print p[n]; exit }'; }
config() {
        printf '{"cpu":{"vcpu_count":%s},"memory":{"size_bytes":%s},"boot":{"kernel_path":"/opt/vm-assets/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"/opt/vm-assets/rootfs.ext4","readonly":false}]}' \
                "${1:-1}" "${2:-134217728}"
}
# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
        local n=$(($1 * 10)); shift
        for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
        return 1
}
unit_gone() { [ "$(prop "$1" LoadState)" = not-found ]; }
metald_log() { cx journalctl -u metald.service -o cat --no-pager 2>/dev/null; }

finish() {
        if [ "$FAIL" -gt 0 ]; then
                echo "--- metald journal (last 40 lines) ---"
                metald_log | tail -40
        fi
        echo "# timing: whole test $(since "$T_START")"
        [ "$PENDING" -gt 0 ] && echo "$PENDING pending"
        echo "$PASS passed, $FAIL failed"
        [ "$FAIL" -eq 0 ] || exit 1
        exit 0
}

# ---------------------------------------------------------------------------
# Install metald as a service.

cx sh -ec '
        install -D -m 0755 /opt/metald-test/metald /usr/local/sbin/metald
        install -D -m 0755 /opt/metald-test/fcsim /usr/local/bin/firecracker
        install -m 0644 /opt/metald-test/units/* /etc/systemd/system/
        install -D -m 0644 /opt/metald-test/test.conf /etc/systemd/system/metald.service.d/test.conf
        install -D -m 0644 /opt/metald-test/sysusers.conf /usr/lib/sysusers.d/metald.conf
        systemd-sysusers metald.conf
        mkdir -p /opt/vm-assets
        printf "not really a kernel\n" >/opt/vm-assets/vmlinux
        truncate -s 64M /opt/vm-assets/rootfs.ext4
        systemctl daemon-reload'
check "metald and fcsim are installed in the container, and the VMM user created" "$?" 0
check "every library they need resolves in the container" \
        "$(cx ldd /usr/local/sbin/metald /usr/local/bin/firecracker | grep -c 'not found')" 0

# ---------------------------------------------------------------------------
# sys/scope.c on its own (tests/systemd/scope-probe.c), through the paths
# metald seldom takes. Processes started here live in the container's pid
# namespace: they die with it, whatever happens.

if [ -n "${SCOPE_PROBE:-}" ]; then
        probe() { cx /opt/metald-test/scope-probe "$@" 2>>"$T/probe.err"; }
        check "scope_manager_new: active under systemd" "$(probe new)" active
        dead=$(cx sh -c 'sleep 0 & p=$!; wait $p; echo $p')
        check_match "adopting a dead pid: an error naming the unit and systemd's own" \
                "$(probe adopt probe-dead "$dead" 0 0)" \
                '^error ESRCH: systemd cannot start metald-vm-probe-dead\.scope: .+ \(org\.freedesktop\.[A-Za-z.]+\)$'
        check "and leaves no unit behind" "$(prop metald-vm-probe-dead.scope LoadState)" not-found
        p1=$(cx sh -c 'sleep 600 >/dev/null 2>&1 & echo $!')
        check "adopting the same pid twice: both succeed" "$(probe adopt probe-twice "$p1" 0 0 2)" ok
        check "the second did not stop the scope: the process lives in it" \
                "$(alive "$p1") $(unit_of "$p1") $(prop metald-vm-probe-twice.scope ActiveState)" \
                "alive metald-vm-probe-twice.scope active"
        check "no limits asked, none set" \
                "$(prop metald-vm-probe-twice.scope MemoryMax) $(prop metald-vm-probe-twice.scope CPUQuotaPerSecUSec)" \
                "infinity infinity"
        long=vm-$(printf 'x%.0s' $(seq 1 61))
        p2=$(cx sh -c 'sleep 600 >/dev/null 2>&1 & echo $!')
        check "a 64-character id, 1 GiB and 50%" "$(probe adopt "$long" "$p2" 1073741824 50)" ok
        check "its scope has the limits" \
                "$(unit_of "$p2") $(prop "metald-vm-$long.scope" MemoryMax) $(prop "metald-vm-$long.scope" CPUQuotaPerSecUSec)" \
                "metald-vm-$long.scope 1073741824 500ms"
        pids=$(cx sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 600 >/dev/null 2>&1 & echo $!; done' | tr '\n' ' ')
        check "8 threads adopt 8 pids at once (one bus, one mutex)" "$(probe adopt-threads probe-t $pids)" ok
        n=0 i=0
        for p in $pids; do
                [ "$(unit_of "$p")" = "metald-vm-probe-t-$i.scope" ] && n=$((n + 1))
                i=$((i + 1))
        done
        check "each in its own scope" "$n" 8
        cx systemctl stop 'metald-vm-probe-*.scope' 'metald-vm-vm-x*.scope'
        [ -s "$T/probe.err" ] && sed 's/^/# scope-probe: /' "$T/probe.err"
else
        pending "sys/scope.c on its own: SCOPE_PROBE (tests/systemd/scope-probe.c) not given"
fi

# ---------------------------------------------------------------------------
# Readiness: Type=notify, `systemctl start` returns once READY=1 came.

t0=$(now_ms)
cx systemctl start metald.service
check "systemctl start metald succeeds" "$?" 0
# No retry: READY=1 is sent after the listener is up, so this must answer now.
check "the API answers as soon as start returned" "$(rpc ListVms '{}' | cut -d' ' -f1)" 200
echo "# timing: systemctl start metald $(since "$t0")"
check "Type=notify" "$(prop metald.service Type)" notify
check "the service is active (running)" "$(prop metald.service ActiveState)/$(prop metald.service SubState)" active/running
check_match "StatusText comes from metald (STATUS=)" "$(prop metald.service StatusText)" '^serving' 
check_match "metald found systemd and uses scopes" "$(metald_log | grep -c 'each VMM runs in its own scope unit')" '^[1-9]'

# ---------------------------------------------------------------------------
# Watchdog: armed, pinged, and the service survives well past the period.

check "WatchdogSec is set" "$(prop metald.service WatchdogUSec)" "${WATCHDOG_S}s"
main_pid=$(prop metald.service MainPID)
ts1=$(prop metald.service WatchdogTimestampMonotonic)
sleep $((WATCHDOG_S * 2 + 1))
ts2=$(prop metald.service WatchdogTimestampMonotonic)
check "after 2x the watchdog period: still active, same pid, no restart" \
        "$(prop metald.service ActiveState) $(prop metald.service MainPID) $(prop metald.service NRestarts)" \
        "active $main_pid 0"
if [ -n "$ts1" ] && [ -n "$ts2" ] && [ "$ts2" -gt "$ts1" ] 2>/dev/null; then
        ok "metald keeps pinging the watchdog (WatchdogTimestamp advances)"
else
        not_ok "metald keeps pinging the watchdog: WatchdogTimestampMonotonic '$ts1' -> '$ts2'"
fi

# ---------------------------------------------------------------------------
# One transient scope per VMM, with the VM's limits.

check "CreateVm with boot" "$(rpc CreateVm "{\"vm_id\":\"sd-1\",\"boot\":true,\"config\":$(config 2 134217728)}")" \
        '200 {"vmId":"sd-1","state":"VM_STATE_RUNNING"}'
vmm1=$(jf .backendInfo.vmmPid "$(info sd-1)")
check_match "a VMM pid is recorded" "$vmm1" '^[1-9][0-9]*$'
check "the VMM runs in metald-vm-sd-1.scope" "$(unit_of "$vmm1")" metald-vm-sd-1.scope
check "the VMM runs as the VMM user metald-vmm, not root" \
        "$(cx awk '/^Uid:/ {print $2}' "/proc/$vmm1/status") $(cx id -u metald-vmm)" \
        "$(cx id -u metald-vmm) $(cx id -u metald-vmm)"
check "and cannot open metald's database" \
        "$(cx setpriv --reuid=metald-vmm --regid=metald-vmm --clear-groups -- cat /var/lib/metald/metald.db 2>&1 >/dev/null | grep -c 'Permission denied')" 1
check "systemd: the scope is active" "$(prop metald-vm-sd-1.scope ActiveState)" active
# 128 MiB guest + 256 MiB for the VMM itself; 2 vCPUs = 200% = 2 s per s.
check "systemd: MemoryMax is the guest's memory plus the VMM's overhead" \
        "$(prop metald-vm-sd-1.scope MemoryMax)" $((134217728 + 268435456))
check "systemd: CPUQuota is 100% per vCPU" "$(prop metald-vm-sd-1.scope CPUQuotaPerSecUSec)" 2s
check "systemd: the scope describes the VM" "$(prop metald-vm-sd-1.scope Description)" "metald VM sd-1"
check "systemd: the scope is collected when it ends" "$(prop metald-vm-sd-1.scope CollectMode)" inactive-or-failed
check "metald.service's cgroup holds metald only" \
        "$(cx sh -c 'cg=$(systemctl show -P ControlGroup metald.service)
                for base in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
                        [ -f "$base$cg/cgroup.procs" ] && exec cat "$base$cg/cgroup.procs"; done')" \
        "$(prop metald.service MainPID)"

# A scope of the same name left behind (here: a stray process in it) is
# stopped and replaced, never an error.
CX_TIMEOUT=120 cx systemd-run --quiet --scope --unit=metald-vm-sd-2.scope sleep 600 >/dev/null 2>&1 &
unit_active() { [ "$(prop "$1" ActiveState)" = active ]; }
wait_for 10 unit_active metald-vm-sd-2.scope
check "a stale metald-vm-sd-2.scope exists" "$(prop metald-vm-sd-2.scope ActiveState)" active
check "CreateVm over a stale scope" "$(rpc CreateVm "{\"vm_id\":\"sd-2\",\"boot\":true,\"config\":$(config)}")" \
        '200 {"vmId":"sd-2","state":"VM_STATE_RUNNING"}'
vmm2=$(jf .backendInfo.vmmPid "$(info sd-2)")
check "its VMM runs in the new metald-vm-sd-2.scope" "$(unit_of "$vmm2")" metald-vm-sd-2.scope
stray_gone() { ! cx pgrep -xf 'sleep 600' >/dev/null; }
check "the stale scope's process is gone" "$(wait_for 5 stray_gone && echo gone)" gone

# ---------------------------------------------------------------------------
# Restart and stop leave the VMs running; metald reattaches.

old_main=$(prop metald.service MainPID)
cx systemctl restart metald.service
check "systemctl restart metald succeeds" "$?" 0
check_match "a new metald process" "$(prop metald.service MainPID)" "^[1-9][0-9]*$"
[ "$(prop metald.service MainPID)" != "$old_main" ] || not_ok "restart changed the main pid ($old_main)"
i=$(info sd-1)
check "after restart: the VM is running" "$(jf .state "$i")/$(jf .lifecycleState "$i")" VM_STATE_RUNNING/running
check "after restart: reattached to the same VMM" "$(jf .backendInfo.vmmPid "$i")" "$vmm1"
check "after restart: the VMM is alive in its scope" "$(alive "$vmm1") $(unit_of "$vmm1")" "alive metald-vm-sd-1.scope"
check_match "the journal shows the reattach" "$(metald_log | grep -c 'reattach')" '^[1-9]'

cx systemctl stop metald.service 2>/dev/null # (warns: metald.socket can start it again)
check "systemctl stop metald succeeds" "$?" 0
check "metald is stopped" "$(prop metald.service ActiveState)" inactive
check "stopped metald: the VMMs keep running" "$(alive "$vmm1") $(alive "$vmm2")" "alive alive"
check "stopped metald: the scopes stay active" \
        "$(prop metald-vm-sd-1.scope ActiveState) $(prop metald-vm-sd-2.scope ActiveState)" "active active"
cx systemctl start metald.service
check "metald starts again" "$?" 0
i=$(info sd-1)
check "after stop+start: the same VMM, running" "$(jf .state "$i") $(jf .backendInfo.vmmPid "$i")" \
        "VM_STATE_RUNNING $vmm1"

# ---------------------------------------------------------------------------
# Lifecycle with scopes: reboot (a new VMM in the same-named scope), shutdown
# (the scope is collected), boot again, delete.

check "RebootVm" "$(rpc RebootVm '{"vm_id":"sd-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
vmm1b=$(jf .backendInfo.vmmPid "$(info sd-1)")
if [ "$vmm1b" != "$vmm1" ] && [ -n "$vmm1b" ] && [ "$vmm1b" != 0 ]; then ok "reboot started a new VMM"; else
        not_ok "reboot started a new VMM ($vmm1 -> $vmm1b)"; fi
check "the new VMM is in metald-vm-sd-1.scope" "$(unit_of "$vmm1b")" metald-vm-sd-1.scope
check "ShutdownVm" "$(rpc ShutdownVm '{"vm_id":"sd-1","timeout_seconds":5}')" \
        '200 {"success":true,"state":"VM_STATE_SHUTDOWN"}'
check "after shutdown the scope is collected" "$(wait_for 5 unit_gone metald-vm-sd-1.scope && echo gone)" gone
check "BootVm after shutdown" "$(rpc BootVm '{"vm_id":"sd-1"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
vmm1c=$(jf .backendInfo.vmmPid "$(info sd-1)")
check "booted again: in a fresh metald-vm-sd-1.scope" \
        "$(unit_of "$vmm1c") $(prop metald-vm-sd-1.scope ActiveState)" "metald-vm-sd-1.scope active"
check "DeleteVm" "$(rpc DeleteVm '{"vm_id":"sd-2"}')" '200 {"success":true}'
check "after delete the scope is gone" "$(wait_for 5 unit_gone metald-vm-sd-2.scope && echo gone)" gone

# ---------------------------------------------------------------------------
# Structured journal entries: metald's stderr is the journal (JOURNAL_STREAM),
# so it logs with sd_journal_send and VM_ID=, BACKEND=, STATE= fields; one
# VM's story is `journalctl VM_ID=<id>` and holds nothing of another VM.

vmlog() { cx journalctl "VM_ID=$1" -o cat --no-pager 2>/dev/null; }
story1=$(vmlog sd-1)
check_match "journalctl VM_ID=sd-1: created" "$story1" 'vm sd-1: created \(backend firecracker\)'
check_match "journalctl VM_ID=sd-1: booted" "$story1" 'vm sd-1: booting.*vm sd-1: running'
check_match "journalctl VM_ID=sd-1: reboot, shutdown, boot again, in order" "$story1" \
        'vm sd-1: RebootVm: desired running.*vm sd-1: ShutdownVm: desired shutdown.*vm sd-1: shutdown.*vm sd-1: BootVm: desired running'
check "journalctl VM_ID=sd-1: nothing of another VM" "$(grep -c 'sd-[23]' <<<"$story1")" 0
story2=$(vmlog sd-2)
check_match "journalctl VM_ID=sd-2: its own story, to its deletion" "$story2" 'vm sd-2: created.*vm sd-2: running.*vm sd-2: DeleteVm.*vm sd-2: deleted'
check "journalctl VM_ID=sd-2: nothing of sd-1" "$(grep -c 'sd-1' <<<"$story2")" 0
fields=$(cx journalctl VM_ID=sd-1 -o json --no-pager 2>/dev/null |
        jq -sr '[(map(.BACKEND) | unique | join(",")), (map(select(.STATE == "running")) | length > 0),
                 (map(.CODE_FILE | test("^src/.*\\.c$")) | all), (map(.PRIORITY) | unique | join(",")),
                 (map(.SYSLOG_IDENTIFIER) | unique | join(","))] | @tsv')
check_match "journal fields: BACKEND, STATE, CODE_FILE, PRIORITY, SYSLOG_IDENTIFIER" "$fields" \
        $'^firecracker\ttrue\ttrue\t[0-9,]*6[0-9,]*\tmetald$'
check_match "lines not about a VM stay in metald's journal, without VM_ID" \
        "$(cx journalctl -u metald.service -o json --no-pager 2>/dev/null | jq -r 'select(.VM_ID == null) | .MESSAGE' | grep -c .)" '^[1-9]'

# The bus broker restarts under a running metald: the next scope goes
# through a fresh connection.
cx systemctl restart dbus.service
check "dbus restarted" "$?" 0
check "CreateVm after the bus restarted" "$(rpc CreateVm "{\"vm_id\":\"sd-3\",\"boot\":true,\"config\":$(config)}")" \
        '200 {"vmId":"sd-3","state":"VM_STATE_RUNNING"}'
check "its VMM is in metald-vm-sd-3.scope" "$(unit_of "$(jf .backendInfo.vmmPid "$(info sd-3)")")" metald-vm-sd-3.scope
check_match "metald noticed the lost connection and used a new one" \
        "$(metald_log | grep -c 'metald-vm-sd-3.scope: the system bus connection was lost')" '^[1-9]'

# ---------------------------------------------------------------------------
# The watchdog is enforced: a hung metald (SIGSTOP) is killed by systemd and
# restarted (Restart=on-failure); the VMs do not notice.

hung=$(prop metald.service MainPID)
cx kill -STOP "$hung"
timed_out() { metald_log | grep -q 'Watchdog timeout'; }
if wait_for $((WATCHDOG_S + 10)) timed_out; then ok "a hung metald trips the watchdog"; else
        not_ok "a hung metald trips the watchdog (no 'Watchdog timeout' in the journal)"; fi
cx kill -CONT "$hung" 2>/dev/null # let the watchdog's SIGABRT land
restarted() { [ "$(prop metald.service NRestarts)" -ge 1 ] 2>/dev/null && [ "$(prop metald.service ActiveState)" = active ]; }
check "systemd restarts it" "$(wait_for 20 restarted && echo restarted)" restarted
i=$(info sd-1)
check "after the watchdog restart: same VMM, running" "$(jf .state "$i") $(jf .backendInfo.vmmPid "$i")" \
        "VM_STATE_RUNNING $vmm1c"

# ---------------------------------------------------------------------------
# Socket activation.

if [ "$HAVE_SOCKET" = 1 ]; then
        cx systemctl stop metald.service 2>/dev/null
        cx systemctl start metald.socket
        check "metald.socket listens" "$(prop metald.socket ActiveState)" active
        check "with the service stopped" "$(prop metald.service ActiveState)" inactive
        port=$(prop metald.socket Listen | grep -o '[0-9]*' | tail -1)
        out=$(cx curl -s --max-time 20 -w '\n%{http_code}' -X POST \
                "http://127.0.0.1:${port:-8080}/vmprovisioner.v1.VmService/GetVmInfo" -d '{"vm_id":"sd-1"}')
        check "a connection to the socket starts metald, which answers" "${out##*$'\n'}" 200
        check "metald.service was started by the socket" "$(prop metald.service ActiveState)" active
        check "systemd knows the socket triggers it" "$(prop metald.service TriggeredBy)" metald.socket
        # One listening socket for the port, held by systemd and metald both: metald
        # serves on the fd systemd passed and did not bind a socket of its own.
        listeners=$(cx ss -Hltnp "sport = :${port:-8080}")
        check "metald serves on the fd systemd passed (one listener, shared)" \
                "$(wc -l <<<"$listeners") $(grep -c '"systemd"' <<<"$listeners") $(grep -c '"metald"' <<<"$listeners")" \
                "1 1 1"
        check "the VM is still there" "$(jf .state "$(info sd-1)")" VM_STATE_RUNNING
else
        pending "socket activation: units/metald.socket does not exist yet"
fi

# With a sanitizer build, whatever ASan/UBSan found went to the journal.
check "no sanitizer reports in metald's journal" \
        "$(metald_log | grep -cE 'ERROR: [A-Za-z]+Sanitizer|runtime error:')" 0
cx systemctl stop metald.service metald.socket >/dev/null 2>&1
finish
