#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Tests of tools/jailersim, the jailer simulator: it refuses what
# Firecracker's jailer refuses, with the same texts and exit behaviour
# (argument errors: exit 1; later errors: a panic, SIGABRT), and does what
# the jailer does, for real: the jail, the devices, cgroups, pivot_root, the
# drop to uid/gid, the pid namespace, the pid file.
#
# usage: test-jailersim.sh JAILERSIM FIRECRACKER_SIM (a static fcsim whose
# name contains "firecracker"). Runs as root (the jailer needs it).
set -u

J=$(realpath "${1:?usage: test-jailersim.sh JAILERSIM FIRECRACKER_SIM}")
FC=$(realpath "${2:?usage: test-jailersim.sh JAILERSIM FIRECRACKER_SIM}")
NAME=$(basename "$FC")
VMM_UID=$(id -u metald-vmm 2>/dev/null || echo 65534)
VMM_GID=$(id -g metald-vmm 2>/dev/null || echo 65534)

T=$(mktemp -d /tmp/test-jailersim.XXXXXX)
BASE=$T/base
mkdir -p "$BASE"
PIDS=()
CGROUP_IDS=()
cleanup() {
        for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
        sleep 0.2
        for id in "${CGROUP_IDS[@]}"; do
                for m in $(awk '$3=="cgroup" || $3=="cgroup2" {print $2}' /proc/mounts); do
                        rmdir "$m/$NAME/$id" 2>/dev/null
                done
        done
        rm -rf "$T"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
check() {
        if [ "$2" == "$3" ]; then ok; else bad "$1"; echo "    expected: $2"; echo "    actual:   $3"; fi
}
check_contains() {
        if [[ "$3" == *"$2"* ]]; then ok; else bad "$1"; echo "    expected to contain: $2"; echo "    actual: ${3:0:600}"; fi
}

# run ARGS...: run the jailer; sets RC, OUT, ERR.
run() {
        "$J" "$@" >"$T/out" 2>"$T/err"
        RC=$?
        OUT=$(cat "$T/out")
        ERR=$(cat "$T/err")
}
# refused_arg DESC VARIANT ARG ARGS...: an argument error, exit 1.
refused_arg() {
        local d=$1 variant=$2 arg=$3 text
        shift 3
        run "$@"
        case $variant in
        MissingArgument) text="Argument '$arg' required, but not found." ;;
        MissingValue) text="The argument '$arg' requires a value, but none was supplied." ;;
        UnexpectedArgument) text="Found argument '$arg' which wasn't expected, or isn't valid in this context." ;;
        DuplicateArgument) text="The argument '$arg' was provided more than once." ;;
        esac
        check "$d: exit 1" 1 "$RC"
        check "$d: message" "Failed to parse arguments: $text
Error: ArgumentParsing($variant(\"$arg\"))" "$ERR"
}
# refused DESC TEXT ARGS...: a jailer error: panic, SIGABRT (134).
refused() {
        local d=$1 text=$2
        shift 2
        run "$@"
        check "$d: killed by SIGABRT (panic = abort)" 134 "$RC"
        check_contains "$d: message" "Jailer error: $text" "$ERR"
        check_contains "$d: a Rust panic" "thread 'main' panicked at" "$ERR"
}
ok_args() { echo --id "$1" --exec-file "$FC" --uid "$VMM_UID" --gid "$VMM_GID" --chroot-base-dir "$BASE"; }

# ---- arguments ------------------------------------------------------------------
run --version
check "--version: exit 0" 0 "$RC"
check "--version text" "Jailer v1.17.0-dev" "$OUT"
run --bogus x --version
check "--version wins over anything else before --" "0 Jailer v1.17.0-dev" "$RC $OUT"
run --help
check_contains "--help says where the exec file's arguments go" \
        "Any arguments after the -- separator will be supplied to the jailed binary." "$OUT"
refused_arg "no arguments" MissingArgument exec-file
refused_arg "no --gid" MissingArgument gid --id a --exec-file "$FC" --uid 1
refused_arg "no --id" MissingArgument id --exec-file "$FC" --uid 1 --gid 1
refused_arg "no --uid" MissingArgument uid --id a --exec-file "$FC" --gid 1
refused_arg "an unknown argument" UnexpectedArgument foo $(ok_args a) --foo 1
refused_arg "a bare word" UnexpectedArgument stray $(ok_args a) stray
refused_arg "--id twice" DuplicateArgument id $(ok_args a) --id b
refused_arg "--id without a value" MissingValue id --id --exec-file "$FC" --uid 1 --gid 1
refused_arg "--daemonize does not take a value" UnexpectedArgument yes $(ok_args a) --daemonize yes

# ---- Env::new's checks, in its order; nothing is created -----------------------------
refused "an id with '_'" "Invalid instance ID: Invalid char (_) at position 2" \
        --id ab_c --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$BASE"
long=$(printf 'a%.0s' $(seq 1 65))
refused "a 65-char id" "Invalid instance ID: Invalid len (65);  the length must be between 1 and 64" \
        --id "$long" --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$BASE"
refused "a missing exec file" "Failed to canonicalize path $T/nope: No such file or directory (os error 2)" \
        --id a --exec-file "$T/nope" --uid 1 --gid 1 --chroot-base-dir "$BASE"
mkdir "$T/firecracker-dir"
refused "an exec file that is a directory" "$T/firecracker-dir is not a file" \
        --id a --exec-file "$T/firecracker-dir" --uid 1 --gid 1 --chroot-base-dir "$BASE"
cp "$FC" "$T/vmm"
refused "an exec file not named firecracker" \
        "Invalid filename. The filename of \`--exec-file\` option must contain \"firecracker\": vmm" \
        --id a --exec-file "$T/vmm" --uid 1 --gid 1 --chroot-base-dir "$BASE"
ln -s "$T/vmm" "$T/firecracker-link"
refused "a symlink named firecracker to one that is not" \
        "Invalid filename. The filename of \`--exec-file\` option must contain \"firecracker\": vmm" --id a --exec-file "$T/firecracker-link" --uid 1 --gid 1 --chroot-base-dir "$BASE"
refused "a missing chroot base" "Failed to canonicalize path $T/nobase: No such file or directory (os error 2)" \
        --id a --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$T/nobase"
touch "$T/afile"
refused "a chroot base that is a file" "$T/afile is not a directory" \
        --id a --exec-file "$FC" --uid 1 --gid 1 --chroot-base-dir "$T/afile"
refused "a uid that is not a number" "Invalid uid: root" $(ok_args a | sed 's/--uid [0-9]*/--uid root/')
refused "a negative gid" "Invalid gid: -1" --id a --exec-file "$FC" --uid 1 --gid -1 --chroot-base-dir "$BASE"
refused "a gid over u32" "Invalid gid: 4294967296" --id a --exec-file "$FC" --uid 1 --gid 4294967296 --chroot-base-dir "$BASE"
refused "an absolute --parent-cgroup" \
        "Parent cgroup path is invalid. Path should not be absolute or contain '..' or '.'" $(ok_args a) --parent-cgroup /x
refused "a --parent-cgroup with .." "Parent cgroup path is invalid" $(ok_args a) --parent-cgroup a/../b
refused "--cgroup-version abc" "abc is an invalid cgroup version specifier" $(ok_args a) --cgroup-version abc
refused "--cgroup-version 3 with a cgroup" "3 is an invalid cgroup version specifier" \
        $(ok_args a) --cgroup-version 3 --cgroup memory.max=1
refused "a cgroup without =" "Invalid format for cgroups: memory.limit_in_bytes" \
        $(ok_args a) --cgroup memory.limit_in_bytes
refused "a cgroup without a value" "Invalid format for cgroups: memory.limit_in_bytes=" \
        $(ok_args a) --cgroup memory.limit_in_bytes=
refused "a cgroup with two =" "Invalid format for cgroups: a.b=1=2" $(ok_args a) --cgroup a.b=1=2
refused "a cgroup file with .." "Cgroup invalid file: ../memory.max=1" $(ok_args a) --cgroup ../memory.max=1
refused "a cgroup file without a controller" "Cgroup invalid file: tasks" $(ok_args a) --cgroup tasks=1
refused "a v1 controller that is not mounted" "nosuch configurations not found in /proc/mounts" \
        $(ok_args a) --cgroup-version 1 --cgroup nosuch.limit=1
v2=$(awk '$3=="cgroup2" {print $2; exit}' /proc/mounts)
if [ -z "$v2" ]; then
        refused "cgroup v2 without a cgroup2 mount" "Hierarchy not found: cgroup2" \
                $(ok_args a) --cgroup-version 2 --cgroup memory.max=1
elif ! grep -qw memory "$v2/cgroup.controllers"; then
        refused "cgroup v2 where the memory controller is not there (hybrid host)" \
                "Controller memory is unavailable" $(ok_args a) --cgroup-version 2 --cgroup memory.max=1
else
        refused "cgroup v2: an unknown controller" "Controller nosuch is unavailable" \
                $(ok_args a) --cgroup-version 2 --cgroup nosuch.max=1
fi
refused "a resource limit without =" "Invalid format for resources limits: fsize" $(ok_args a) --resource-limit fsize
refused "a resource limit that is not a number" \
        "Invalid limit value for resource: 1k: invalid digit found in string" $(ok_args a) --resource-limit fsize=1k
refused "an unknown resource" "Invalid resource argument: cpu" $(ok_args a) --resource-limit cpu=1
check "the refusals created nothing in the chroot base" "" "$(ls -A "$BASE")"

# ---- a jail, for real, with a new pid namespace -------------------------------------
exec 7>"$T/inherited-fd"
export JAILERSIM_TEST_SECRET=1
CGROUP_IDS+=(vm-1)
run $(ok_args vm-1) --cgroup-version 1 --cgroup memory.limit_in_bytes=268435456 --cgroup cpu.cfs_quota_us=50000 \
        --resource-limit no-file=1024 --new-pid-ns -- --api-sock /run/firecracker.socket --level Info
exec 7>&-
unset JAILERSIM_TEST_SECRET
check "--new-pid-ns: the jailer exits 0 once its child runs" 0 "$RC"
ROOT=$BASE/$NAME/vm-1/root
pid=$(cat "$ROOT/$NAME.pid" 2>/dev/null)
PIDS+=("$pid")
check "it wrote the child's host pid to <root>/$NAME.pid" "yes" "$([ -d "/proc/$pid" ] && echo yes)"
for _ in $(seq 1 50); do [ -S "$ROOT/run/firecracker.socket" ] && break; sleep 0.05; done
check "the child is pid 1 of a new pid namespace" "$pid 1" "$(awk '/^NSpid:/ {print $2, $3}' /proc/$pid/status)"
check "it runs as --uid/--gid" "$VMM_UID $VMM_UID $VMM_UID $VMM_UID/$VMM_GID $VMM_GID $VMM_GID $VMM_GID" \
        "$(awk '/^Uid:/ {u=$2" "$3" "$4" "$5} /^Gid:/ {g=$2" "$3" "$4" "$5} END {print u "/" g}' /proc/$pid/status)"
check "with no supplementary groups" "" "$(awk '/^Groups:/ {$1=""; print $0}' /proc/$pid/status | xargs)"
check "the exec file's arguments: the jailer's four, then the caller's" \
        "/$NAME --id vm-1 --start-time-us N --start-time-cpu-us 0 --parent-cpu-time-us N --api-sock /run/firecracker.socket --level Info" \
        "$(tr '\0' ' ' </proc/$pid/cmdline | sed -E 's/(--start-time-us|--parent-cpu-time-us) [0-9]+/\1 N/g; s/ $//')"
check "with an empty environment" "0" "$(wc -c </proc/$pid/environ)"
check "no inherited fd but stdio" "" "$(ls -l /proc/$pid/fd/ 2>/dev/null | grep inherited-fd)"
check "its root is the jail" "$(ls "$ROOT" | sort | xargs)" "$(ls /proc/$pid/root/ | sort | xargs)"
check "the exec file was copied, not linked" "no" \
        "$([ "$(stat -c %i "$ROOT/$NAME")" = "$(stat -c %i "$FC")" ] && echo yes || echo no)"
check "the jail's folders: 0700, --uid's" "700 $VMM_UID 700 $VMM_UID 700 $VMM_UID 700 $VMM_UID" \
        "$(stat -c '%a %u' "$ROOT" "$ROOT/dev" "$ROOT/dev/net" "$ROOT/run" | xargs)"
check "/dev/net/tun: char 10:200, 0600, --uid's" "character special file 10:200 600 $VMM_UID" \
        "$(stat -c '%F %Hr:%Lr %a %u' "$ROOT/dev/net/tun")"
check "/dev/kvm: char 10:232, 0600" "character special file 10:232 600 $VMM_UID" \
        "$(stat -c '%F %Hr:%Lr %a %u' "$ROOT/dev/kvm")"
check "/dev/urandom: char 1:9" "character special file 1:9 600" "$(stat -c '%F %Hr:%Lr %a' "$ROOT/dev/urandom")"
uffd=$(awk '$2=="userfaultfd" {print $1}' /proc/misc)
if [ -n "$uffd" ]; then
        check "/dev/userfaultfd with the host's minor" "10:$uffd" "$(stat -c '%Hr:%Lr' "$ROOT/dev/userfaultfd")"
fi
check "the API answers on the socket in the jail" '"Not started"' \
        "$(curl -s --max-time 2 --unix-socket "$ROOT/run/firecracker.socket" http://localhost/ | jq .state)"
check "its open-files limit is --resource-limit no-file" "1024 1024" \
        "$(awk '/^Max open files/ {print $4, $5}' /proc/$pid/limits)"
mem=$(awk '$3=="cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2; exit}' /proc/mounts)
cpu=$(awk '$3=="cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
if [ -n "$mem" ]; then
        check "v1: in <memory mount>/$NAME/vm-1" "/$NAME/vm-1" "$(grep -E '^[0-9]+:memory:' /proc/$pid/cgroup | cut -d: -f3)"
        check "v1: memory.limit_in_bytes written" 268435456 "$(cat "$mem/$NAME/vm-1/memory.limit_in_bytes")"
        check "v1: cpu.cfs_quota_us written" 50000 "$(cat "$cpu/$NAME/vm-1/cpu.cfs_quota_us")"
fi

# The same jail again: the jailer refuses a leftover (cleanup is the caller's
# job). While its VMM runs, the copy of the exec file over the running one fails.
refused "the jail of a running VMM" \
        "Failed to copy $FC to $ROOT/$NAME: Text file busy (os error 26)" $(ok_args vm-1) --new-pid-ns
check "the running VMM is untouched" yes "$([ -d /proc/$pid ] && echo yes)"
kill -KILL "$pid"
for _ in $(seq 1 50); do [ -d /proc/$pid ] || break; sleep 0.05; done
refused "a leftover jail" "Failed to create /dev/net/tun via mknod inside the jail: File exists (os error 17)" \
        $(ok_args vm-1) --new-pid-ns

# ---- without --new-pid-ns: the jailer becomes the exec file, pid file = its pid -------
"$J" $(ok_args vm-2) -- --api-sock /run/firecracker.socket >"$T/out2" 2>&1 &
jpid=$!
PIDS+=("$jpid")
ROOT2=$BASE/$NAME/vm-2/root
for _ in $(seq 1 50); do [ -S "$ROOT2/run/firecracker.socket" ] && break; sleep 0.05; done
check "without --new-pid-ns the pid file holds the jailer's own pid" "$jpid" "$(cat "$ROOT2/$NAME.pid")"
check "which is now the exec file (exec in place), as --uid" "/$NAME $VMM_UID" \
        "$(tr '\0' '\n' </proc/$jpid/cmdline | head -1) $(awk '/^Uid:/ {print $2}' /proc/$jpid/status)"
check "in the host's pid namespace" "$jpid" "$(awk '/^NSpid:/ {print $2 $3}' /proc/$jpid/status)"
kill -KILL "$jpid"

# ---- --daemonize: double fork, setsid, stdio on /dev/null -----------------------------
run $(ok_args vm-3) --daemonize -- --api-sock /run/firecracker.socket
check "--daemonize: the jailer returns 0" 0 "$RC"
dpid=$(cat "$BASE/$NAME/vm-3/root/$NAME.pid")
PIDS+=("$dpid")
check "the daemon's stdout is /dev/null" "/dev/null" "$(readlink /proc/$dpid/fd/1)"
check "in a session of its own, not leading it" "yes" \
        "$([ "$(ps -o sid= -p "$dpid" | xargs)" != "$dpid" ] && [ "$(ps -o sid= -p "$dpid" | xargs)" != "$$" ] && echo yes)"
kill -KILL "$dpid"

# ---- an exec file that cannot be executed (as the jailer: after the jail is built) -----
printf 'not a program\n' >"$T/firecracker-text"
chmod 0644 "$T/firecracker-text"
refused "an exec file that is not executable" "Failed to exec into Firecracker: Permission denied (os error 13)" \
        --id vm-4 --exec-file "$T/firecracker-text" --uid "$VMM_UID" --gid "$VMM_GID" --chroot-base-dir "$BASE"

echo "test-jailersim: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
