# Shared by the integration tests: run the real metald with fcsim as its
# Firecracker, in a private network and mount namespace, and talk to it with
# curl exactly as a user does. Each test file sources this and calls
# `finish` at the end.
set -u

: "${METALD:?path of the metald binary}"
: "${FCSIM:?path of the fcsim binary}"

# Re-run inside fresh namespaces: loopback of our own (port 8080 is ours),
# and mounts that vanish with the test.
if [ -z "${METALD_TEST_NS:-}" ]; then
        export METALD_TEST_NS=1
        exec unshare --mount --net --fork -- bash "$0" "$@"
fi
ip link set lo up

PASS=0
FAIL=0
T=$(mktemp -d /tmp/metald-it-XXXXXX)
# VMMs run as the VMM user (metald --vmm-user): it must pass through $T to
# its run dir and the assets, as through /var/lib and /opt on a real host.
chmod 0711 "$T"
DATA=$T/data
ASSETS=$T/assets
PORT=8080
URL=http://127.0.0.1:$PORT
METALD_PID=
mkdir -p "$ASSETS"
printf '\177ELF: not really a kernel\n' > "$ASSETS/vmlinux"
truncate -s 64M "$ASSETS/rootfs.ext4"
truncate -s 16M "$ASSETS/data.ext4"

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION ACTUAL EXPECTED
check() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}
# check_match DESCRIPTION ACTUAL REGEX
check_match() {
        if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1: '$2' does not match /$3/"; fi
}

# start_metald [extra args...]: start and wait until it answers. With CHSIM
# set, chsim is the daemon's cloud-hypervisor (a later argument overrides it).
start_metald() {
        "$METALD" --listen 127.0.0.1:$PORT --data-dir "$DATA" --firecracker-binary "$FCSIM" \
                ${CHSIM:+--cloud-hypervisor-binary "$CHSIM"} \
                --asset-root "$ASSETS" --request-timeout 10 --resync-interval 200 "$@" \
                >>"$T/metald.log" 2>&1 &
        METALD_PID=$!
        for _ in $(seq 1 100); do
                if curl -s -o /dev/null "$URL/"; then return 0; fi
                if ! kill -0 $METALD_PID 2>/dev/null; then break; fi
                sleep 0.05
        done
        echo "metald did not start:"; tail -20 "$T/metald.log"
        return 1
}

kill9_metald() {
        kill -9 $METALD_PID 2>/dev/null
        wait $METALD_PID 2>/dev/null
        METALD_PID=
}

stop_metald() {
        [ -n "$METALD_PID" ] || return 0
        kill -TERM $METALD_PID 2>/dev/null
        wait $METALD_PID
        local rc=$?
        METALD_PID=
        return $rc
}

# rpc METHOD JSON: prints "HTTP_STATUS BODY".
rpc() {
        curl -s -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/$1" \
                -H 'Content-Type: application/json' -d "$2" |
                { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}
# Field of a JSON body ("jq filter").
jf() { jq -r "$1" 2>/dev/null <<<"$2"; }

# A valid config using the test's assets.
config() {
        printf '{"cpu":{"vcpu_count":%s},"memory":{"size_bytes":%s},"boot":{"kernel_path":"%s/vmlinux","kernel_args":"console=ttyS0 reboot=k panic=1 pci=off"},"storage":[{"path":"%s/rootfs.ext4","readonly":false}]}' \
                "${1:-1}" "${2:-134217728}" "$ASSETS" "$ASSETS"
}

sql() { sqlite3 -readonly "$DATA/metald.db" "$1"; }

# wait_state ID STATE [SECONDS]: poll GetVmInfo until state matches.
wait_state() {
        local i out
        for i in $(seq 1 $((${3:-10} * 20))); do
                out=$(rpc GetVmInfo "{\"vm_id\":\"$1\"}")
                [ "$(jf .state "${out#* }")" = "$2" ] && return 0
                sleep 0.05
        done
        echo "wait_state $1 $2: last answer $out"
        return 1
}

cleanup() {
        stop_metald >/dev/null 2>&1
        # VMMs outlive metald by design; the test's own must not outlive the test.
        pkill -9 -f "$T/" 2>/dev/null
        rm -rf "$T"
}

finish() {
        if [ "$FAIL" -gt 0 ]; then
                echo "--- metald log ---"; tail -40 "$T/metald.log"
        fi
        cleanup
        echo "$PASS passed, $FAIL failed"
        [ "$FAIL" -eq 0 ]
}
trap 'cleanup' INT TERM
