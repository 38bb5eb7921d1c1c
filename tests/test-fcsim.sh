#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Tests of tools/fcsim, the Firecracker simulator: every check compares what
# fcsim does with what Firecracker does (status, fault_message, wire bytes,
# exit code, metrics). Talks to it like a client would: curl --unix-socket and
# jq, plus fcsim-raw for malformed HTTP and the connection limit.
#
# usage: test-fcsim.sh FCSIM FCSIM_RAW
set -u

FCSIM=$(realpath "${1:?usage: test-fcsim.sh FCSIM FCSIM_RAW}")
RAW=$(realpath "${2:?usage: test-fcsim.sh FCSIM FCSIM_RAW}")
for tool in curl jq; do
        command -v "$tool" >/dev/null || { echo "test-fcsim: $tool is required (apt-get install -y curl jq)"; exit 1; }
done

T=$(mktemp -d /tmp/test-fcsim.XXXXXX)
PIDS=()
cleanup() {
        for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

# check DESC EXPECTED ACTUAL
check() {
        if [ "$2" == "$3" ]; then ok; else bad "$1"; echo "    expected: $2"; echo "    actual:   $3"; fi
}
# check_contains DESC NEEDLE HAYSTACK
check_contains() {
        if [[ "$3" == *"$2"* ]]; then ok; else bad "$1"; echo "    expected to contain: $2"; echo "    actual: ${3:0:600}"; fi
}
check_not_contains() {
        if [[ "$3" != *"$2"* ]]; then ok; else bad "$1"; echo "    must not contain: $2"; fi
}
# check_true DESC COMMAND...
check_true() {
        local d=$1; shift
        if "$@"; then ok; else bad "$d"; fi
}

# ---- process helpers --------------------------------------------------------

# start NAME [ENV=VAL ...] -- [fcsim args]: start fcsim with --api-sock
# $T/NAME.sock and --id NAME unless given, wait for its socket.
start() {
        local name=$1; shift
        local envs=()
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
        [ "${1:-}" == "--" ] && shift
        SOCK=$T/$name.sock
        env "${envs[@]}" "$FCSIM" --api-sock "$SOCK" --id "$name" "$@" >"$T/$name.out" 2>"$T/$name.err" &
        PID=$!
        PIDS+=("$PID")
        for _ in $(seq 200); do
                [ -S "$SOCK" ] && return 0
                kill -0 "$PID" 2>/dev/null || break
                sleep 0.02
        done
        bad "start $name: no API socket"
        cat "$T/$name.err"
        return 1
}

# stop: kill the instance started last and reap it quietly.
stop() {
        kill -KILL "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
}

# wait_exit PID TIMEOUT_S: sets RC to the exit status, or "running".
wait_exit() {
        local pid=$1 limit=$(($2 * 50))
        for _ in $(seq "$limit"); do
                if ! kill -0 "$pid" 2>/dev/null; then
                        wait "$pid"
                        RC=$?
                        return 0
                fi
                sleep 0.02
        done
        RC=running
}

# run_fc ARGS...: run fcsim in the foreground, capture RC, OUT, ERR.
run_fc() {
        (cd "$T" && timeout 10 "$FCSIM" "$@" >"$T/fg.out" 2>"$T/fg.err")
        RC=$?
        OUT=$(cat "$T/fg.out")
        ERR=$(cat "$T/fg.err")
}

# ---- HTTP helpers -----------------------------------------------------------

# req METHOD PATH [BODY]: sets STATUS, BODY, HEADERS (raw header block).
req() {
        local args=(-sS --unix-socket "$SOCK" -X "$1" -D "$T/h" -o "$T/b" -w '%{http_code}')
        if [ $# -ge 3 ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
        STATUS=$(curl "${args[@]}" "http://localhost$2" 2>"$T/curl.err")
        BODY=$(cat "$T/b" 2>/dev/null)
        HEADERS=$(tr -d '\r' <"$T/h" 2>/dev/null)
}

fault() { jq -r '.fault_message' <<<"$BODY" 2>/dev/null; }

# expect_ok DESC METHOD PATH [BODY]: 204 (PUT/PATCH) expected.
expect_ok() {
        local d=$1; shift
        req "$@"
        if [ "$STATUS" == 204 ]; then ok; else bad "$d: status $STATUS, body $BODY"; fi
}

# expect_fault DESC STATUS MESSAGE METHOD PATH [BODY]
expect_fault() {
        local d=$1 st=$2 msg=$3; shift 3
        req "$@"
        check "$d (status)" "$st" "$STATUS"
        check "$d (fault_message)" "$msg" "$(fault)"
}

raw() { "$RAW" "$SOCK" send; }

KERNEL=$T/vmlinux
ROOTFS=$T/rootfs.ext4
DATA=$T/data.img
echo kernel >"$KERNEL"
echo rootfs >"$ROOTFS"
echo data >"$DATA"

DESER="An error occurred when deserializing the json body of a request:"
AFTER="The requested operation is not supported after starting the microVM."
BEFORE="The requested operation is not supported before starting the microVM."

# configure NAME: the usual pre-boot sequence on $SOCK.
configure() {
        expect_ok "$1: machine-config" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}'
        expect_ok "$1: boot-source" PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"boot_args\":\"console=ttyS0 reboot=k panic=1\"}"
        expect_ok "$1: rootfs" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
}

last_metrics() { tail -n 1 "$1"; }

###############################################################################
echo "== command line"

run_fc --version
check "--version exit code" 0 "$RC"
check_contains "--version output" "Firecracker v" "$OUT"

run_fc --help
check "--help exit code" 0 "$RC"
check_contains "--help lists --api-sock" "--api-sock <api-sock>: Path to unix domain socket used by the API." "$OUT"

run_fc --api-sock "$T/x.sock" --foo
check "unknown argument exits 153" 153 "$RC"
check_contains "unknown argument error" 'ParseArguments(UnexpectedArgument("foo"))' "$ERR"
check_contains "unknown argument log" "Found argument 'foo' which wasn't expected, or isn't valid in this context." "$OUT"
check_true "unknown argument: no socket" test ! -e "$T/x.sock"

run_fc positional
check "positional argument exits 153" 153 "$RC"
check_contains "positional argument error" 'UnexpectedArgument("positional")' "$ERR"

run_fc --api-sock=/tmp/x
check "--api-sock=VALUE is an unknown argument" 153 "$RC"

run_fc --id a --api-sock
check "missing value exits 153" 153 "$RC"
check_contains "missing value message" "The argument 'api-sock' requires a value, but none was supplied." "$OUT"

run_fc --id a --api-sock --id
check "value starting with -- is missing" 153 "$RC"

run_fc --id a --id b
check "duplicate argument exits 153" 153 "$RC"
check_contains "duplicate argument message" "The argument 'id' was provided more than once." "$OUT"

run_fc --no-api
check "--no-api without --config-file exits 153" 153 "$RC"
check_contains "--no-api requires --config-file" "Argument 'config-file' required, but not found." "$OUT"

run_fc --no-seccomp --seccomp-filter /x
check "--no-seccomp with --seccomp-filter exits 153" 153 "$RC"

run_fc --api-sock "$T/id.sock" --id bad_id
check "--id with '_' aborts (SIGABRT)" 134 "$RC"
check_contains "--id panic message" "Invalid instance ID: InvalidChar('_', 3)" "$ERR"
check_true "--id abort leaves no socket" test ! -e "$T/id.sock"

run_fc --api-sock "$T/id.sock" --id "$(printf 'a%.0s' $(seq 65))"
check "--id of 65 chars aborts" 134 "$RC"

run_fc --api-sock "$T/id.sock" --id ""
check "empty --id aborts" 134 "$RC"

run_fc --api-sock "$T/lvl.sock" --level bogus
check "--level bogus exits 152" 152 "$RC"
check_contains "--level message" "Invalid value for logger level" "$OUT"

run_fc --api-sock "$T/p.sock" --http-api-max-payload-size abc
check "non-numeric --http-api-max-payload-size aborts" 134 "$RC"

run_fc --api-sock "$T/l.sock" --log-path /nonexistent/dir/log
check "unopenable --log-path exits 1" 1 "$RC"

run_fc --api-sock "$T/m.sock" --metrics-path /nonexistent/dir/metrics
check "unopenable --metrics-path exits 1" 1 "$RC"

run_fc --api-sock "$T/s.sock" --seccomp-filter /nonexistent/filter.bpf
check "missing --seccomp-filter file exits 1" 1 "$RC"

run_fc --api-sock "$T/c.sock" --config-file /nonexistent/config.json
check "unreadable --config-file aborts" 134 "$RC"

echo stale >"$T/stale.sock"
run_fc --api-sock "$T/stale.sock" --id stale
check "existing socket path exits 1" 1 "$RC"
check_contains "existing socket message" "Failed to open the API socket at: $T/stale.sock" "$OUT"
check "existing socket file is not unlinked" stale "$(cat "$T/stale.sock")"

###############################################################################
echo "== HTTP wire format"
start wire || exit 1

req GET /
check "GET / status" 200 "$STATUS"
check "status line has no reason phrase" "HTTP/1.1 200 " "$(head -n 1 <<<"$HEADERS")"
check_contains "Server header" "Server: Firecracker API" "$HEADERS"
check_contains "Connection header" "Connection: keep-alive" "$HEADERS"
check_contains "Content-Type with a body" "Content-Type: application/json" "$HEADERS"
check "GET / id" wire "$(jq -r .id <<<"$BODY")"
check "GET / state" "Not started" "$(jq -r .state <<<"$BODY")"
check "GET / app_name" Firecracker "$(jq -r .app_name <<<"$BODY")"
check_true "GET / vmm_version" test -n "$(jq -r .vmm_version <<<"$BODY")"

req GET /version
check "GET /version" "$(jq -r .vmm_version <<<"$(curl -s --unix-socket "$SOCK" http://localhost/)")" \
        "$(jq -r .firecracker_version <<<"$BODY")"

req PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
check "204 status line" "HTTP/1.1 204 " "$(head -n 1 <<<"$HEADERS")"
check_not_contains "204 has no Content-Type" "Content-Type" "$HEADERS"
check_not_contains "204 has no Content-Length" "Content-Length" "$HEADERS"

out=$(printf 'GET / HTTP/1.1\r\n\r\n' | raw)
check_contains "GET without Content-Length is served" '"state":"Not started"' "$out"

MC='{"vcpu_count":1,"mem_size_mib":128}'
out=$(printf 'PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s' ${#MC} "$MC" | raw)
check "exact 204 bytes" "$(printf 'HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n')" "$out"

out=$(printf 'GET / HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n' | raw)
check "pipelined requests get two answers" 2 "$(grep -o 'HTTP/1.1 200 ' <<<"$out" | wc -l)"

out=$(printf 'POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n' | raw)
check_contains "POST is a parse error" "$(printf 'HTTP/1.1 400 \r\n')" "$out"
check_contains "POST error body" '{ "error": "Invalid HTTP Method: Unsupported HTTP method.' "$out"
check_contains "parse errors drop requests" "All previous unanswered requests will be dropped." "$out"

out=$(printf 'GET / HTTP/2.0\r\n\r\n' | raw)
check_contains "HTTP/2.0 refused" "Invalid HTTP Version: Unsupported HTTP version." "$out"

out=$(printf 'GARBAGE\r\n\r\n' | raw)
check_contains "request line without spaces" '"error": "Invalid request.' "$out"

out=$(printf 'PATCH /machine-config HTTP/1.1\r\nContent-Length: alpha\r\nContent-Type: application/json\r\n\r\nwhatever body' | raw)
expected=$(printf 'HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 136\r\n\r\n{ "error": "Invalid header. Reason: Invalid value. Key:Content-Length; Value: alpha\nAll previous unanswered requests will be dropped." }')
check "bad Content-Length: micro_http's exact answer" "$expected" "$out"

out=$(printf 'GET / HTTP/1.1\r\nNoColonHere\r\n\r\n' | raw)
check_contains "header without colon" "Header is incorrectly formatted. Key: NoColonHere" "$out"

out=$(printf 'GET / HTTP/1.1\r\nX-Unknown: whatever\r\nAccept: text/html\r\n\r\n' | raw)
check_contains "unknown headers are ignored" "HTTP/1.1 200 " "$out"

out=$(printf 'PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n%s' ${#MC} "$MC" | raw)
check_contains "Expect: 100-continue gets 100" "$(printf 'HTTP/1.1 100 \r\n')" "$out"
check_contains "then the answer" "$(printf 'HTTP/1.1 204 \r\n')" "$out"

out=$(printf 'PUT /boot-source HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"kernel_image_path":"x"}' | raw)
check_contains "a body without Content-Length is not read" '{"fault_message":"Empty PUT request."}' "$out"

out=$(printf 'PUT /boot-source HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' | raw)
# The chunk size line is then a bad request line: the parse error drops the
# PUT parsed from the same read, as micro_http does.
check_contains "chunked bodies are not supported" '"error": "Invalid request.' "$out"
check_not_contains "requests parsed with a bad one are dropped" "Empty PUT request." "$out"

long=$(printf 'a%.0s' $(seq 1100))
out=$(printf 'GET /%s HTTP/1.1\r\n\r\n' "$long" | raw)
check_contains "request line over 1 KiB refused" '"error": "Invalid request.' "$out"

###############################################################################
echo "== routing and generic errors"

expect_fault "unknown GET path" 400 "Invalid request method and/or path: GET foo." GET /foo
expect_fault "unknown nested path" 400 "Invalid request method and/or path: GET foo." GET /foo/bar
expect_fault "DELETE" 400 "Invalid request method and/or path: DELETE ." DELETE /
expect_fault "PUT to unknown path" 400 "Invalid request method and/or path: PUT nothing." PUT /nothing '{}'
expect_fault "GET /vm without config" 400 "Invalid request method and/or path: GET vm." GET /vm
expect_fault "PUT /balloon (not simulated)" 400 "Invalid request method and/or path: PUT balloon." PUT /balloon '{"amount_mib":1,"deflate_on_oom":false}'
expect_fault "PUT /snapshot/create (not simulated)" 400 "Invalid request method and/or path: PUT snapshot." PUT /snapshot/create '{"snapshot_path":"a","mem_file_path":"b"}'
expect_fault "empty PUT" 400 "Empty PUT request." PUT /boot-source
expect_fault "empty PUT on unknown path" 400 "Empty PUT request." PUT /nothing
expect_fault "empty PATCH" 400 "Empty PATCH request." PATCH /machine-config
expect_fault "GET with a body" 400 "GET request cannot have a body." GET / '{}'
expect_fault "not JSON" 400 "$DESER expected value at line 1 column 1." PUT /machine-config 'invalid_payload'
expect_fault "truncated JSON" 400 "$DESER EOF while parsing an object at line 1 column 15." PUT /machine-config '{"vcpu_count":1'
expect_fault "trailing characters" 400 "$DESER trailing characters at line 1 column 37." PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128} x'

###############################################################################
echo "== machine-config"

req GET /machine-config
check "default machine config" '1 128 false false None' "$(jq -r '"\(.vcpu_count) \(.mem_size_mib) \(.smt) \(.track_dirty_pages) \(.huge_pages)"' <<<"$BODY")"
expect_fault "missing mem_size_mib" 400 "$DESER missing field \`mem_size_mib\` at line 1 column 16." PUT /machine-config '{"vcpu_count":2}'
expect_fault "missing vcpu_count" 400 "$DESER missing field \`vcpu_count\` at line 1 column 20." PUT /machine-config '{"mem_size_mib":256}'
expect_fault "unknown field" 400 "$DESER unknown field \`foo\`, expected one of \`vcpu_count\`, \`mem_size_mib\`, \`smt\`, \`cpu_template\`, \`track_dirty_pages\`, \`huge_pages\` at line 1 column 40." \
        PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256,"foo":1}'
expect_fault "vcpu_count 300" 400 "$DESER invalid value: integer \`300\`, expected u8 at line 1 column 17." PUT /machine-config '{"vcpu_count":300,"mem_size_mib":256}'
expect_fault "vcpu_count as string" 400 "$DESER invalid type: string \"2\", expected u8 at line 1 column 17." PUT /machine-config '{"vcpu_count":"2","mem_size_mib":256}'
expect_fault "vcpu_count negative" 400 "$DESER invalid value: integer \`-1\`, expected u8 at line 1 column 16." PUT /machine-config '{"vcpu_count":-1,"mem_size_mib":256}'
expect_fault "mem_size_mib as float" 400 "$DESER invalid type: floating point \`1.5\`, expected usize at line 1 column 34." PUT /machine-config '{"vcpu_count":1,"mem_size_mib":1.5}'
expect_fault "smt not a bool" 400 "$DESER invalid type: integer \`1\`, expected a boolean at line 1 column 42." PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"smt":1}'
expect_fault "duplicate field" 400 "$DESER duplicate field \`vcpu_count\` at line 1 column 28." PUT /machine-config '{"vcpu_count":1,"vcpu_count":2,"mem_size_mib":128}'
VCPU_ERR="Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled."
expect_fault "vcpu_count 0" 400 "$VCPU_ERR" PUT /machine-config '{"vcpu_count":0,"mem_size_mib":256}'
expect_fault "vcpu_count 33" 400 "$VCPU_ERR" PUT /machine-config '{"vcpu_count":33,"mem_size_mib":256}'
expect_fault "odd vcpu_count with SMT" 400 "$VCPU_ERR" PUT /machine-config '{"vcpu_count":3,"mem_size_mib":256,"smt":true}'
expect_ok "vcpu_count 32" PUT /machine-config '{"vcpu_count":32,"mem_size_mib":256}'
expect_ok "even vcpu_count with SMT" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256,"smt":true}'
MEM_ERR="Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size."
expect_fault "mem_size_mib 0" 400 "$MEM_ERR" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":0}'
expect_fault "odd memory with 2M pages" 400 "$MEM_ERR" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":255,"huge_pages":"2M"}'
expect_fault "unknown huge_pages" 400 "$DESER unknown variant \`4M\`, expected one of \`None\`, \`Transparent\`, \`2M\` at line 1 column 52." PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256,"huge_pages":"4M"}'
expect_fault "unknown cpu_template" 400 "$DESER unknown variant \`X9\`, expected one of \`C3\`, \`T2\`, \`T2S\`, \`T2CL\`, \`T2A\`, \`None\` at line 1 column 54." PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256,"cpu_template":"X9"}'
req PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256,"cpu_template":"T2"}'
check "cpu_template accepted" 204 "$STATUS"
check_contains "cpu_template is deprecated" "Deprecation: true" "$HEADERS"
expect_ok "PUT machine-config" PUT /machine-config '{"vcpu_count":4,"mem_size_mib":512,"track_dirty_pages":true}'
req GET /machine-config
check "GET reflects PUT" '4 512 true T2' "$(jq -r '"\(.vcpu_count) \(.mem_size_mib) \(.track_dirty_pages) \(.cpu_template)"' <<<"$BODY")"
expect_ok "PATCH machine-config" PATCH /machine-config '{"mem_size_mib":1024}'
req GET /machine-config
check "PATCH keeps the other fields" '4 1024 true' "$(jq -r '"\(.vcpu_count) \(.mem_size_mib) \(.track_dirty_pages)"' <<<"$BODY")"
expect_fault "PATCH with nothing to change" 400 "Empty PATCH request." PATCH /machine-config '{}'
expect_fault "PATCH with only nulls" 400 "Empty PATCH request." PATCH /machine-config '{"vcpu_count":null}'
expect_fault "PATCH unknown field" 400 "$DESER unknown field \`memory\`, expected one of \`vcpu_count\`, \`mem_size_mib\`, \`smt\`, \`cpu_template\`, \`track_dirty_pages\`, \`huge_pages\` at line 1 column 9." PATCH /machine-config '{"memory":1}'
expect_fault "PATCH invalid vcpu" 400 "$VCPU_ERR" PATCH /machine-config '{"vcpu_count":0}'

###############################################################################
echo "== boot-source"

expect_fault "missing kernel" 400 "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)" \
        PUT /boot-source '{"kernel_image_path":"/nonexistent/vmlinux"}'
expect_fault "missing initrd" 400 "Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory (os error 2)" \
        PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"initrd_path\":\"/nonexistent/initrd\"}"
expect_fault "missing kernel_image_path" 400 "$DESER missing field \`kernel_image_path\` at line 1 column 21." PUT /boot-source '{"boot_args":"quiet"}'
expect_fault "unknown boot-source field" 400 "$DESER unknown field \`kernel\`, expected one of \`kernel_image_path\`, \`initrd_path\`, \`boot_args\` at line 1 column 9." PUT /boot-source '{"kernel":"x"}'
expect_fault "control character in boot_args" 400 "Boot source error: The kernel command line is invalid: String contains a non-printable ASCII character" \
        PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"boot_args\":\"a\\u0001b\"}"
expect_ok "valid boot-source" PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}"

###############################################################################
echo "== drives"

DRIVE_FIELDS="expected one of \`drive_id\`, \`partuuid\`, \`is_root_device\`, \`cache_type\`, \`is_read_only\`, \`path_on_host\`, \`rate_limiter\`, \`io_engine\`, \`socket\`"
expect_fault "missing backing file" 400 "Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) /nonexistent/disk.img" \
        PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/nonexistent/disk.img","is_root_device":true,"is_read_only":false}'
expect_fault "path id differs from body id" 400 "The id from the path does not match the id from the body!" \
        PUT /drives/rootfs "{\"drive_id\":\"other\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
expect_fault "hyphen in drive id" 400 "API Resource IDs can only contain alphanumeric characters and underscores." \
        PUT /drives/root-fs "{\"drive_id\":\"root-fs\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
expect_fault "no drive id" 400 "The ID cannot be empty." PUT /drives "{\"drive_id\":\"a\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
expect_fault "empty drive id" 400 "The ID cannot be empty." PUT /drives/ "{\"drive_id\":\"a\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
expect_fault "id checked before the body" 400 "API Resource IDs can only contain alphanumeric characters and underscores." PUT /drives/a.b 'not json'
expect_fault "missing is_root_device" 400 "$DESER missing field \`is_root_device\` at line 1 column 16." PUT /drives/a '{"drive_id":"a"}'
expect_fault "unknown drive field" 400 "$DESER unknown field \`direct_write\`, $DRIVE_FIELDS at line 1 column 52." \
        PUT /drives/a '{"drive_id":"a","is_root_device":true,"direct_write":true}'
expect_fault "missing path_on_host" 400 "Drive config error: Unable to create the virtio block device: Invalid block config." \
        PUT /drives/a '{"drive_id":"a","is_root_device":false,"is_read_only":false}'
expect_fault "missing is_read_only" 400 "Drive config error: Unable to create the virtio block device: Invalid block config." \
        PUT /drives/a "{\"drive_id\":\"a\",\"is_root_device\":false,\"path_on_host\":\"$DATA\"}"
expect_fault "bad cache_type" 400 "$DESER unknown variant \`Fast\`, expected \`Unsafe\` or \`Writeback\` at line 1 column 58." \
        PUT /drives/a '{"drive_id":"a","is_root_device":false,"cache_type":"Fast"}'
expect_fault "rate limiter without refill_time" 400 "$DESER missing field \`refill_time\` at line 1 column 71." \
        PUT /drives/a '{"drive_id":"a","is_root_device":false,"rate_limiter":{"ops":{"size":1}}}'
expect_ok "root drive" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":false}"
expect_ok "root drive updated in place" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$ROOTFS\",\"is_root_device\":true,\"is_read_only\":true}"
expect_fault "second root drive" 400 "Drive config error: A root block device already exists!" \
        PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$DATA\",\"is_root_device\":true,\"is_read_only\":false}"
expect_ok "data drive" PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$DATA\",\"is_root_device\":false,\"is_read_only\":false,\"cache_type\":\"Writeback\",\"rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":100}}}"
expect_fault "vhost-user drive (not simulated)" 400 "Drive config error: Unable to create the virtio block device: Vhost user backend error: vhost-user-block is not simulated by fcsim" \
        PUT /drives/vu '{"drive_id":"vu","is_root_device":false,"socket":"/tmp/vu.sock"}'
expect_fault "PATCH drive before boot" 400 "$BEFORE" PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$DATA\"}"
expect_fault "PATCH drive parses first" 400 "$DESER unknown field \`is_read_only\`, expected one of \`drive_id\`, \`path_on_host\`, \`rate_limiter\` at line 1 column 33." \
        PATCH /drives/data '{"drive_id":"data","is_read_only":true}'

###############################################################################
echo "== network interfaces"

expect_fault "missing TAP" 400 "Network config error: Could not create the network device: Open tap device failed: Error while creating ifreq structure: Operation not permitted (os error 1). Invalid TUN/TAP Backend provided by nosuchtap0. Check our documentation on setting up the network devices." \
        PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"nosuchtap0"}'
expect_fault "net path id differs" 400 "The id from the path [eth0] does not match the id from the body [eth1]!" \
        PUT /network-interfaces/eth0 '{"iface_id":"eth1","host_dev_name":"lo"}'
expect_fault "net missing host_dev_name" 400 "$DESER missing field \`host_dev_name\` at line 1 column 19." PUT /network-interfaces/eth0 '{"iface_id":"eth0"}'
expect_fault "bad MAC" 400 "$DESER The provided MAC address is not valid. at line 1 column 60." \
        PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"lo","guest_mac":"zz:zz"}'
expect_fault "interface name too long" 400 "Network config error: Could not create the network device: Open tap device failed: Invalid interface name" \
        PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"averyveryverylongname"}'
expect_ok "existing interface" PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"lo","guest_mac":"06:00:AC:10:00:02"}'
expect_fault "MAC already in use" 400 "Network config error: The MAC address is already in use: 06:00:ac:10:00:02" \
        PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"lo","guest_mac":"06:00:ac:10:00:02"}'
expect_fault "TAP already in use" 400 "Network config error: Could not create the network device: Open tap device failed: Error while creating ifreq structure: Device or resource busy (os error 16). Invalid TUN/TAP Backend provided by lo. Check our documentation on setting up the network devices." \
        PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"lo"}'
expect_fault "PATCH net before boot" 400 "$BEFORE" PATCH /network-interfaces/eth0 '{"iface_id":"eth0"}'

###############################################################################
echo "== logger, metrics, vsock, mmds"

expect_fault "metrics path unopenable" 400 "Metrics error: No such file or directory (os error 2)" PUT /metrics '{"metrics_path":"/nonexistent/dir/m"}'
expect_fault "metrics unknown field" 400 "$DESER unknown field \`path\`, expected one of \`metrics_path\`, \`emit_id\`, \`properties\` at line 1 column 7." PUT /metrics '{"path":"x"}'
expect_ok "PUT /metrics" PUT /metrics "{\"metrics_path\":\"$T/wire.metrics\"}"
check_true "metrics file created" test -f "$T/wire.metrics"
expect_fault "PUT /metrics twice" 400 "Metrics error: Reinitialization of metrics not allowed." PUT /metrics "{\"metrics_path\":\"$T/wire2.metrics\"}"
expect_fault "logger bad level" 400 "$DESER unknown variant \`Loud\`, expected one of \`Off\`, \`Trace\`, \`Debug\`, \`Info\`, \`Warn\`, \`Error\` at line 1 column 15." PUT /logger '{"level":"Loud"}'
expect_fault "logger unopenable" 400 "Logger error: Failed to open target file: No such file or directory (os error 2)" PUT /logger '{"log_path":"/nonexistent/dir/log"}'
expect_ok "PUT /logger" PUT /logger "{\"log_path\":\"$T/wire.log\",\"level\":\"debug\",\"show_level\":true}"
req GET /
check_contains "requests are logged to the log file" 'The API server received a Get request on "/".' "$(cat "$T/wire.log")"
check_contains "show_level adds the level" ":INFO]" "$(cat "$T/wire.log")"
expect_fault "vsock guest_cid 2" 400 "Vsock config error: Cannot create vsock device: the guest CID must be at least 3 (got 2)" \
        PUT /vsock "{\"guest_cid\":2,\"uds_path\":\"$T/v.sock\"}"
expect_fault "vsock missing uds_path" 400 "$DESER missing field \`uds_path\` at line 1 column 15." PUT /vsock '{"guest_cid":3}'
expect_ok "PUT /vsock" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T/v.sock\"}"
check_true "vsock socket created" test -S "$T/v.sock"
expect_fault "vsock socket busy" 400 "Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: Address already in use (os error 98)" \
        PUT /vsock "{\"guest_cid\":4,\"uds_path\":\"$SOCK\"}"
req GET /mmds
check "GET /mmds before PUT" "{}" "$BODY"
expect_fault "PATCH /mmds before PUT" 400 "MMDS error: The MMDS data store is not initialized." PATCH /mmds '{"a":1}'
expect_ok "PUT /mmds" PUT /mmds '{"latest":{"meta-data":{"ami-id":"abc"}}}'
expect_ok "PATCH /mmds" PATCH /mmds '{"latest":{"meta-data":{"hostname":"vm"}}}'
req GET /mmds
check "MMDS merge patch" '{"latest":{"meta-data":{"ami-id":"abc","hostname":"vm"}}}' "$(jq -c . <<<"$BODY")"
expect_fault "PUT /mmds/bogus" 400 "Unrecognized PUT request path \`bogus\`." PUT /mmds/bogus '{}'
expect_fault "mmds config unknown iface" 400 "MMMDS config error: The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface." \
        PUT /mmds/config '{"network_interfaces":["nope"]}'
expect_ok "PUT /mmds/config" PUT /mmds/config '{"network_interfaces":["eth0"],"version":"V2"}'

###############################################################################
echo "== phase rules before boot"

expect_fault "FlushMetrics before boot" 400 "$BEFORE" PUT /actions '{"action_type":"FlushMetrics"}'
expect_fault "SendCtrlAltDel before boot" 400 "$BEFORE" PUT /actions '{"action_type":"SendCtrlAltDel"}'
expect_fault "pause before boot" 400 "$BEFORE" PATCH /vm '{"state":"Paused"}'
expect_fault "resume before boot" 400 "$BEFORE" PATCH /vm '{"state":"Resumed"}'
expect_fault "unknown action" 400 "$DESER unknown variant \`Start\`, expected one of \`FlushMetrics\`, \`InstanceStart\`, \`SendCtrlAltDel\` at line 1 column 22." PUT /actions '{"action_type":"Start"}'
expect_fault "action unknown field" 400 "$DESER unknown field \`payload\`, expected \`action_type\` at line 1 column 40." PUT /actions '{"action_type":"InstanceStart","payload":1}'
expect_fault "bad VM state" 400 "$DESER unknown variant \`Stopped\`, expected \`Paused\` or \`Resumed\` at line 1 column 18." PATCH /vm '{"state":"Stopped"}'

# The instance that took all the bad requests above ends cleanly: in a
# sanitizer build a leak would turn its exit code into 23.
WIRE=$PID
expect_ok "wire: InstanceStart" PUT /actions '{"action_type":"InstanceStart"}'
expect_ok "wire: Ctrl-Alt-Del" PUT /actions '{"action_type":"SendCtrlAltDel"}'
wait_exit "$WIRE" 5
check "wire: clean exit after all the errors" 0 "$RC"

start nokernel || exit 1
expect_fault "InstanceStart without boot source" 400 "Start microvm error: Cannot start microvm without kernel configuration." PUT /actions '{"action_type":"InstanceStart"}'
req GET /
check "still not started" "Not started" "$(jq -r .state <<<"$BODY")"
stop

###############################################################################
echo "== boot, phase rules after boot, pause, metrics, Ctrl-Alt-Del"

start vm1 FCSIM_METRICS_PERIOD_MS=600000 -- --log-path "$T/vm1.log" || exit 1
VM1=$PID
configure vm1
expect_ok "data drive" PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$DATA\",\"is_root_device\":false,\"is_read_only\":true}"
expect_ok "metrics" PUT /metrics "{\"metrics_path\":\"$T/vm1.metrics\"}"
check "no metrics before boot" 0 "$(wc -l <"$T/vm1.metrics")"
expect_ok "InstanceStart" PUT /actions '{"action_type":"InstanceStart"}'
req GET /
check "state after boot" Running "$(jq -r .state <<<"$BODY")"
check_contains "console shows the boot" "fcsim: guest booted, id=vm1" "$(cat "$T/vm1.out")"
check_contains "console shows the kernel args" "Kernel command line: console=ttyS0 reboot=k panic=1 root=/dev/vda rw" "$(cat "$T/vm1.out")"
check_not_contains "--log-path keeps the console clean" "The API server received" "$(cat "$T/vm1.out")"
check_contains "log file has the requests" "The API server received a Put request on \"/actions\"" "$(cat "$T/vm1.log")"
check "metrics flushed right after boot" 1 "$(wc -l <"$T/vm1.metrics")"
line=$(last_metrics "$T/vm1.metrics")
for key in utc_timestamp_ms api_server block block_rootfs block_data net vcpu vmm signals uart latencies_us logger i8042 put_api_requests; do
        check_true "metrics key $key" jq -e "has(\"$key\")" <<<"$line" >/dev/null
done
check_true "boot read the root drive" jq -e '.block_rootfs.read_count > 0' <<<"$line" >/dev/null
check_true "aggregate block >= per-drive" jq -e '.block.read_count >= .block_rootfs.read_count + .block_data.read_count' <<<"$line" >/dev/null
check_true "put_api_requests counted" jq -e '.put_api_requests.machine_cfg_count == 1 and .put_api_requests.drive_count == 2' <<<"$line" >/dev/null

expect_fault "second InstanceStart" 400 "$AFTER" PUT /actions '{"action_type":"InstanceStart"}'
expect_fault "boot-source after boot" 400 "$AFTER" PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\"}"
expect_fault "machine-config after boot" 400 "$AFTER" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
expect_fault "PATCH machine-config after boot" 400 "$AFTER" PATCH /machine-config '{"vcpu_count":1}'
expect_fault "logger after boot" 400 "$AFTER" PUT /logger '{"level":"Info"}'
expect_fault "metrics after boot" 400 "$AFTER" PUT /metrics "{\"metrics_path\":\"$T/x.metrics\"}"
expect_fault "vsock after boot" 400 "$AFTER" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T/v1.sock\"}"
expect_fault "mmds config after boot" 400 "$AFTER" PUT /mmds/config '{"network_interfaces":[]}'
expect_fault "after-boot check comes after parsing" 400 "$DESER missing field \`kernel_image_path\` at line 1 column 2." PUT /boot-source '{}'
expect_fault "drive hotplug without PCI" 400 "PCI is not enabled" PUT /drives/more "{\"drive_id\":\"more\",\"path_on_host\":\"$DATA\",\"is_root_device\":false,\"is_read_only\":true}"
expect_fault "net hotplug without PCI" 400 "PCI is not enabled" PUT /network-interfaces/eth9 '{"iface_id":"eth9","host_dev_name":"lo"}'
expect_ok "mmds after boot" PUT /mmds '{"k":"v"}'
req GET /vm/config
check "GET /vm/config drives" "rootfs data" "$(jq -r '[.drives[].drive_id] | join(" ")' <<<"$BODY")"
check "GET /vm/config machine" "2 256" "$(jq -r '."machine-config" | "\(.vcpu_count) \(.mem_size_mib)"' <<<"$BODY")"
check "GET /vm/config boot-source" "$KERNEL" "$(jq -r '."boot-source".kernel_image_path' <<<"$BODY")"

echo new >"$T/data2.img"
expect_ok "PATCH drive path" PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$T/data2.img\"}"
expect_fault "PATCH drive to a missing file" 400 "Drive config error: Unable to patch the block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) /nonexistent/x.img Please verify the request arguments." \
        PATCH /drives/data '{"drive_id":"data","path_on_host":"/nonexistent/x.img"}'
expect_fault "PATCH drive id mismatch" 400 "The id from the path does not match the id from the body!" PATCH /drives/data '{"drive_id":"rootfs"}'
req PATCH /drives/nosuch '{"drive_id":"nosuch","path_on_host":"/x"}'
check "PATCH unknown drive" 400 "$STATUS"
check_contains "PATCH unknown drive message" "Drive config error: Unable to patch the block device" "$(fault)"

sleep 0.3
expect_ok "FlushMetrics" PUT /actions '{"action_type":"FlushMetrics"}'
check "FlushMetrics writes a line" 2 "$(wc -l <"$T/vm1.metrics")"
line=$(last_metrics "$T/vm1.metrics")
check_true "counters grow while running" jq -e '.block_rootfs.read_count > 0 and .vcpu.exit_io_in > 0' <<<"$line" >/dev/null
check_true "read-only drive does not write" jq -e '.block_data.write_count == 0' <<<"$line" >/dev/null
check_true "net counters stay zero" jq -e '.net.rx_bytes_count == 0 and .net.tx_bytes_count == 0' <<<"$line" >/dev/null

expect_ok "pause" PATCH /vm '{"state":"Paused"}'
req GET /
check "state paused" Paused "$(jq -r .state <<<"$BODY")"
expect_ok "pause a paused VM" PATCH /vm '{"state":"Paused"}'
expect_ok "FlushMetrics while paused" PUT /actions '{"action_type":"FlushMetrics"}'
sleep 0.3
expect_ok "FlushMetrics again" PUT /actions '{"action_type":"FlushMetrics"}'
line=$(last_metrics "$T/vm1.metrics")
check_true "no activity while paused" jq -e '.block_rootfs.read_count == 0 and .vcpu.exit_io_in == 0 and .vcpu.exit_mmio_read == 0' <<<"$line" >/dev/null
check_true "pause latency recorded" jq -e '.latencies_us.pause_vm > 0' <<<"$line" >/dev/null

expect_ok "Ctrl-Alt-Del while paused" PUT /actions '{"action_type":"SendCtrlAltDel"}'
sleep 0.3
check_true "a paused guest does not shut down" kill -0 "$VM1"
expect_ok "resume" PATCH /vm '{"state":"Resumed"}'
wait_exit "$VM1" 5
check "guest shuts down after Ctrl-Alt-Del, exit 0" 0 "$RC"
check_true "metrics written on exit" jq -e '.utc_timestamp_ms > 0' <<<"$(last_metrics "$T/vm1.metrics")" >/dev/null
check_true "socket not unlinked on exit" test -S "$T/vm1.sock"
check_contains "exit logged" "Firecracker exiting successfully. exit_code=0" "$(cat "$T/vm1.log")"

###############################################################################
echo "== guest and signal behaviour"

boot() {
        configure "$1"
        expect_ok "$1: InstanceStart" PUT /actions '{"action_type":"InstanceStart"}'
}

start ignore FCSIM_IGNORE_CTRL_ALT_DEL=1 FCSIM_SHUTDOWN_DELAY_MS=10 -- --log-path "$T/ignore.log" || exit 1
boot ignore
expect_ok "Ctrl-Alt-Del ignored by the guest" PUT /actions '{"action_type":"SendCtrlAltDel"}'
sleep 0.4
check_true "guest without i8042 keeps running" kill -0 "$PID"
kill -TERM "$PID"
wait_exit "$PID" 5
check "SIGTERM kills outright" 143 "$RC"
check_true "socket left after SIGTERM" test -S "$SOCK"

start halt FCSIM_GUEST_HALT_AFTER_MS=200 -- --log-path "$T/halt.log" || exit 1
boot halt
wait_exit "$PID" 5
check "guest power-off exits 0" 0 "$RC"
check_contains "power-off on the console" "reboot: Power down" "$(cat "$T/halt.out")"

start reboot FCSIM_GUEST_REBOOT_AFTER_MS=150 -- --log-path "$T/reboot.log" || exit 1
boot reboot
wait_exit "$PID" 5
check "guest reboot with reboot=k exits 0" 0 "$RC"

# Without job control, bash starts background jobs with SIGINT ignored (and
# Firecracker would inherit that too): start this one with job control on.
set -m
start noreboot FCSIM_GUEST_REBOOT_AFTER_MS=100 -- --log-path "$T/noreboot.log" || exit 1
set +m
expect_ok "noreboot: boot-source without reboot=k" PUT /boot-source "{\"kernel_image_path\":\"$KERNEL\",\"boot_args\":\"console=ttyS0\"}"
expect_ok "noreboot: InstanceStart" PUT /actions '{"action_type":"InstanceStart"}'
sleep 0.4
check_true "reboot without reboot=k does not exit" kill -0 "$PID"
kill -INT "$PID"
wait_exit "$PID" 5
check "SIGINT kills outright" 130 "$RC"

start hup -- --log-path "$T/hup.log" --metrics-path "$T/hup.metrics" || exit 1
expect_fault "PUT /metrics after --metrics-path" 400 "Metrics error: Reinitialization of metrics not allowed." PUT /metrics "{\"metrics_path\":\"$T/hup2.metrics\"}"
kill -HUP "$PID"
wait_exit "$PID" 5
check "SIGHUP exits 156" 156 "$RC"
check_true "SIGHUP counted in the metrics" jq -e '.signals.sighup == 1' <<<"$(last_metrics "$T/hup.metrics")" >/dev/null

start delay FCSIM_BOOT_DELAY_MS=400 -- --log-path "$T/delay.log" || exit 1
configure delay
t0=$(date +%s%N)
expect_ok "delayed InstanceStart" PUT /actions '{"action_type":"InstanceStart"}'
elapsed=$((($(date +%s%N) - t0) / 1000000))
check_true "InstanceStart answers after the boot delay (${elapsed} ms)" test "$elapsed" -ge 390
stop

start period FCSIM_METRICS_PERIOD_MS=100 -- --log-path "$T/period.log" --metrics-path "$T/period.metrics" || exit 1
check "no periodic metrics before boot" 0 "$(wc -l <"$T/period.metrics")"
boot period
sleep 0.55
n=$(wc -l <"$T/period.metrics")
check_true "periodic metrics after boot ($n lines)" test "$n" -ge 4
check_true "every metrics line is JSON" jq -e -s 'length > 0' "$T/period.metrics" >/dev/null
stop

start pci -- --enable-pci --log-path "$T/pci.log" || exit 1
boot pci
expect_ok "drive hotplug with --enable-pci" PUT /drives/more "{\"drive_id\":\"more\",\"path_on_host\":\"$DATA\",\"is_root_device\":false,\"is_read_only\":true}"
stop

start mmdslimit -- --mmds-size-limit 50 --log-path "$T/mmdslimit.log" || exit 1
expect_fault "MMDS over its size limit is 413" 413 "MMDS limit exceeded error: The MMDS patch request doesn't fit." PUT /mmds "{\"k\":\"$(printf 'x%.0s' $(seq 100))\"}"
stop

start small -- --http-api-max-payload-size 250 --log-path "$T/small.log" || exit 1
out=$(curl -s --unix-socket "$SOCK" -i -X PUT "http://localhost/mmds/config" -H "Content-Length: 260" -H "Accept: application/json" -d "some body")
expected=$(printf 'HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 145\r\n\r\n{ "error": "Request payload with size 260 is larger than the limit of 250 allowed by server.\nAll previous unanswered requests will be dropped." }')
check "payload over the limit: Firecracker's exact answer" "$expected" "$out"
req GET /
check "server still answers after a refused payload" 200 "$STATUS"

###############################################################################
echo "== connection limit"

out=$("$RAW" "$SOCK" hold 10)
check_contains "11th connection refused" "$(printf 'HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\nContent-Length: 40\r\n\r\n{ "error": "Too many open connections" }')" "$out"
check_contains "11th connection closed" "== closed" "$out"
check_contains "held connections still served" "$(printf '== first:\nHTTP/1.1 200 ')" "$out"
out=$("$RAW" "$SOCK" hold 9)
check_contains "10th connection accepted" "== open" "$out"
stop

###############################################################################
echo "== --config-file and --no-api"

cat >"$T/config.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$KERNEL", "boot_args": "console=ttyS0 reboot=k"},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$ROOTFS", "is_root_device": true, "is_read_only": true}],
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
  "metrics": {"metrics_path": "$T/cfg.metrics"}
}
EOF
FCSIM_GUEST_HALT_AFTER_MS=200 timeout 10 "$FCSIM" --no-api --config-file "$T/config.json" --id cfg >"$T/cfg.out" 2>&1
check "--config-file --no-api boots and exits 0 on power-off" 0 "$?"
check_contains "--config-file boot on the console" "fcsim: guest booted, id=cfg" "$(cat "$T/cfg.out")"
check_contains "--config-file root drive is read-only" "root=/dev/vda ro" "$(cat "$T/cfg.out")"
check_true "--config-file metrics" test -s "$T/cfg.metrics"

sed 's#"path_on_host": "[^"]*"#"path_on_host": "/nonexistent/root.img"#' "$T/config.json" >"$T/bad.json"
timeout 10 "$FCSIM" --no-api --config-file "$T/bad.json" >"$T/bad.out" 2>&1
check "--config-file with a missing drive exits 1" 1 "$?"
check_contains "--config-file error" "Error manipulating the backing file" "$(cat "$T/bad.out")"

echo '{"boot-source": {"kernel_image_path": "x"}, "bogus": 1}' >"$T/unknown.json"
timeout 10 "$FCSIM" --no-api --config-file "$T/unknown.json" >"$T/unknown.out" 2>&1
check "--config-file with an unknown key exits 1" 1 "$?"
check_contains "--config-file unknown key error" "unknown field \`bogus\`" "$(cat "$T/unknown.out")"

start cfgapi FCSIM_METRICS_PERIOD_MS=600000 -- --config-file "$T/config.json" --log-path "$T/cfgapi.log" || exit 1
req GET /
check "--config-file with the API: running at once" Running "$(jq -r .state <<<"$BODY")"
expect_fault "--config-file with the API: InstanceStart refused" 400 "$AFTER" PUT /actions '{"action_type":"InstanceStart"}'
stop

###############################################################################
echo "== sanitizers"
# In an ASan/UBSan build, any report in any instance's stderr is a failure.
reports=$(grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/*.err "$T"/*.out "$T"/fg.err 2>/dev/null)
check "no sanitizer reports" "" "$reports"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
