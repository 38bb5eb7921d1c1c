#!/bin/bash
# metald --check-config: the effective settings with their sources, every
# problem named, exit 0 only when valid, and nothing started or created.
set -u
: "${METALD:?path of the metald binary}"
: "${FCSIM:?path of the fcsim binary}"
# A network namespace of our own: host names are resolved without leaving it.
if [ -z "${METALD_TEST_NS:-}" ]; then
        export METALD_TEST_NS=1
        exec unshare --net --fork -- bash "$0" "$@"
fi
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi; }
check_match() { if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1: '$2' does not match /$3/"; fi; }
T=$(mktemp -d /tmp/metald-cc-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/assets" "$T/more"
unset $(env | grep -o '^METALD_[A-Z_]*' | grep -v METALD_TEST_NS)

# cc ARGS...: run the check; its output in $out, its exit status in $rc.
cc() { out=$("$METALD" --check-config "$@" 2>&1); rc=$?; }
line() { grep -E "^  $1 " <<<"$out" | sed -E 's/ +/ /g; s/^ //'; }
GOOD=(--data-dir "$T/data" --asset-root "$T/assets" --firecracker-binary "$FCSIM")

cc "${GOOD[@]}"
check "a valid configuration: exit 0" "$rc" 0
check "it says so" "$(tail -1 <<<"$out")" "configuration is valid"
check "a flag's value and source" "$(line data-dir)" "data-dir $T/data (flag --data-dir)"
check "a default's value and source" "$(line workers)" "workers 4 (default)"
check "the resolved backend binary" "$(grep -c "^  firecracker: $FCSIM\$" <<<"$out")" 1
check "no problem lines" "$(grep -c 'problem:' <<<"$out")" 0
check "nothing was created: no data dir" "$(test -e "$T/data" && echo created || echo absent)" absent

METALD_WORKERS=8 METALD_MAX_VMS=50 METALD_ASSET_ROOT="$T/assets:$T/more" cc --workers 3 \
        --data-dir "$T/data" --firecracker-binary "$FCSIM"
check "env and flag: the flag wins, and says so" "$(line workers)" "workers 3 (flag --workers)"
check "env alone: named by its variable" "$(line max-vms)" "max-vms 50 (env METALD_MAX_VMS)"
check "a list from the environment" "$(line asset-root)" "asset-root $T/assets:$T/more (env METALD_ASSET_ROOT)"
check "still valid" "$rc" 0

# Each problem alone: exit 1, one problem line naming the option.
one() { # DESCRIPTION REGEX ARGS...
        local what=$1 re=$2
        shift 2
        cc "$@"
        check "$what: exit 1" "$rc" 1
        check "$what: one problem" "$(grep -c 'problem:' <<<"$out") $(tail -1 <<<"$out")" \
                "1 configuration is invalid: 1 problem(s)"
        check_match "$what: named" "$(grep 'problem:' <<<"$out")" "$re"
}
touch "$T/file"
printf '#!/bin/sh\n' >"$T/noexec"
chmod 0644 "$T/noexec"
one "listen without a port" '--listen "127.0.0.1": expected HOST:PORT' "${GOOD[@]}" --listen 127.0.0.1
one "listen with port 70000" '"70000" is not a port number' "${GOOD[@]}" --listen 127.0.0.1:70000
one "listen on an unknown host" '--listen "nosuch.invalid:80": host "nosuch.invalid"' "${GOOD[@]}" --listen nosuch.invalid:80
one "a data dir that is a file" "--data-dir $T/file: exists and is not a directory" "${GOOD[@]}" --data-dir "$T/file"
one "a data dir under a file" "--data-dir $T/file/x: $T/file is not a directory" "${GOOD[@]}" --data-dir "$T/file/x"
one "a missing asset root" "--asset-root $T/nope: No such file or directory" "${GOOD[@]}" --asset-root "$T/nope"
one "an asset root that is a file" "--asset-root $T/file: not a directory" "${GOOD[@]}" --asset-root "$T/file"
one "a missing firecracker" "--firecracker-binary $T/nope: No such file or directory \\(the default backend firecracker needs it\\)" \
        "${GOOD[@]}" --firecracker-binary "$T/nope"
one "a firecracker that is not executable" "--firecracker-binary $T/noexec: not executable" "${GOOD[@]}" --firecracker-binary "$T/noexec"
one "a binary not in PATH" "--qemu-binary no-such-qemu: not found in PATH" "${GOOD[@]}" --default-backend qemu --qemu-binary no-such-qemu
one "an unknown default backend" '--default-backend "bhyve": not a backend' "${GOOD[@]}" --default-backend bhyve
one "a VMM timeout longer than the request timeout" '--vmm-api-timeout 9000 ms is not shorter than --request-timeout 5 s' \
        "${GOOD[@]}" --request-timeout 5 --vmm-api-timeout 9000
one "retention shorter than the sampling interval" '--metrics-retention is shorter than one --metrics-interval' \
        "${GOOD[@]}" --metrics-interval 10 --metrics-retention 0.001

# Another backend's binary missing is a note, not a problem.
cc "${GOOD[@]}" --cloud-hypervisor-binary "$T/nope"
check "a non-default backend's missing binary: still valid" "$rc" 0
check_match "... but noted" "$out" "note: cloud-hypervisor: --cloud-hypervisor-binary $T/nope: No such file"

# Several problems: each named, counted.
cc --data-dir "$T/file" --asset-root "$T/nope" --firecracker-binary "$T/noexec" --listen x
check "four problems at once: exit 1" "$rc" 1
check "each is listed" "$(grep -c 'problem:' <<<"$out")" 4
check "and counted" "$(tail -1 <<<"$out")" "configuration is invalid: 4 problem(s)"

# Usage errors: every one reported, exit 2, before any check.
out=$(METALD_WORKERS=100 "$METALD" --check-config --bogus --max-vms x --request-timeout 0 2>&1)
rc=$?
check "usage errors: exit 2" "$rc" 2
check "usage errors: all four named" "$(grep -c '^metald: ' <<<"$out")" 4
check_match "usage errors: the env variable is named" "$out" 'METALD_WORKERS: --workers: "100" is not a number between 1 and 64'
check_match "usage errors: the unknown flag is named" "$out" 'unknown option or missing value: --bogus'

# Nothing is started: the check does not bind the address it checks.
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",18099)); s.listen(); sys.stdout.write("x\n"); sys.stdout.flush(); time.sleep(5)' >"$T/busy" 2>&1 &
busy=$!
ip link set lo up 2>/dev/null
for _ in $(seq 50); do [ -s "$T/busy" ] && break; sleep 0.05; done
cc "${GOOD[@]}" --listen 127.0.0.1:18099
check "a port in use (metald may be running): the check does not bind, valid" "$rc" 0
kill $busy 2>/dev/null
wait $busy 2>/dev/null

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
