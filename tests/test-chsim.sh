#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Tests of tools/chsim, the Cloud Hypervisor simulator: it must refuse what
# Cloud Hypervisor refuses, with the same status codes and error chains, and
# follow the same states. Talks to it like a client does: curl --unix-socket
# and jq (tests/chsim-http.py for raw HTTP).
#
#   tests/test-chsim.sh build/tools/chsim
#
# Every check compares an exact value and prints "ok" or "FAIL"; the last
# line is "N passed, M failed". Exits 1 if any check failed.
set -u

CHSIM=$(realpath "${1:?usage: test-chsim.sh path/to/chsim}")
HERE=$(cd "$(dirname "$0")" && pwd)
RAW="python3 $HERE/chsim-http.py"
T=$(mktemp -d /tmp/test-chsim.XXXXXX)
SOCK=$T/api.sock
PASS=0
FAIL=0
PID=

cleanup() {
        [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
        for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
        rm -rf "$T"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && echo "       $2"; }

# check NAME EXPECTED ACTUAL
check() {
        if [ "$2" == "$3" ]; then ok "$1"; else bad "$1" "expected [$2] got [$3]"; fi
}

# check_match NAME REGEX ACTUAL
check_match() {
        if [[ "$3" =~ $2 ]]; then ok "$1"; else bad "$1" "expected /$2/ got [$3]"; fi
}

# start [chsim args...]: start chsim on $SOCK (env from the caller), wait for it.
start() {
        rm -f "$SOCK"
        "$CHSIM" --api-socket "path=$SOCK" "$@" >"$T/stdout" 2>"$T/stderr" &
        PID=$!
        for _ in $(seq 100); do
                [ -S "$SOCK" ] && return 0
                kill -0 "$PID" 2>/dev/null || break
                sleep 0.02
        done
        echo "chsim did not start: $(cat "$T/stderr")"
        return 1
}

# stop: SIGTERM and wait; sets RC.
stop() {
        [ -n "$PID" ] || return 0
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        RC=$?
        PID=
}

# wait_exit SECONDS: wait for $PID to end by itself; sets RC (124 on timeout).
wait_exit() {
        local n=$(($1 * 50))
        for _ in $(seq $n); do
                if ! kill -0 "$PID" 2>/dev/null; then
                        wait "$PID" 2>/dev/null
                        RC=$?
                        PID=
                        return 0
                fi
                sleep 0.02
        done
        RC=124
}

# api METHOD ENDPOINT [BODY]: sets STATUS and BODY.
api() {
        local out
        if [ $# -ge 3 ]; then
                out=$(curl -s -m 5 -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
                        -H 'Content-Type: application/json' --data-binary "$3" "http://localhost/api/v1/$2")
        else
                out=$(curl -s -m 5 -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
                        "http://localhost/api/v1/$2")
        fi
        STATUS=$out
        BODY=$(cat "$T/body" 2>/dev/null)
}

# expect NAME METHOD ENDPOINT BODY|- STATUS RESPONSE_BODY: an exact answer.
expect() {
        if [ "$4" == "-" ]; then api "$2" "$3"; else api "$2" "$3" "$4"; fi
        check "$1" "$5 $6" "$STATUS $BODY"
}

# raw: send stdin as raw bytes, print the answer with CRs removed.
raw() { $RAW "$SOCK" raw | tr -d '\r'; }

KERNEL=$T/vmlinux
printf '\177ELF\2\1\1\0' >"$KERNEL"
truncate -s 1M "$T/disk0.img" "$T/disk1.img" "$T/disk2.img" "$T/disk3.img"
printf 'not a kernel' >"$T/notakernel"

# A typical metald VmConfig.
config() {
        local cmdline=${1:-console=ttyS0 metald.vm_id=vm-test}
        cat <<EOF
{"cpus":{"boot_vcpus":2,"max_vcpus":4},"memory":{"size":268435456},
 "payload":{"kernel":"$KERNEL","cmdline":"$cmdline"},
 "disks":[{"path":"$T/disk0.img"}],"net":[{"tap":"lo"}],
 "serial":{"mode":"File","file":"$T/serial.log"},"console":{"mode":"Off"}}
EOF
}

echo "# command line"
out=$("$CHSIM" --version); rc=$?
check "--version prints the simulated version" "0 cloud-hypervisor v53.0.0" "$rc $out"
out=$("$CHSIM" -v --version | tail -1)
check "-v --version lists the features" 'Enabled features: ["io_uring", "kvm"]' "$out"
"$CHSIM" >/dev/null 2>"$T/err"; rc=$?
check "no argument: help on stderr, exit 2" "2 Usage: cloud-hypervisor [OPTIONS]" "$rc $(grep -m1 Usage "$T/err")"
out=$("$CHSIM" --help); rc=$?
check "--help: exit 0" "0" "$rc"
check_match "--help lists --api-socket" "--api-socket <api-socket>" "$out"
"$CHSIM" -h >/dev/null; check "-h: exit 0" "0" "$?"
"$CHSIM" --foo 2>"$T/err"; rc=$?
check "unknown argument: exit 2" "2" "$rc"
check "unknown argument: clap's message" "error: unexpected argument '--foo' found" "$(head -1 "$T/err")"
"$CHSIM" --dsk x 2>"$T/err"
check "misspelt argument: clap's suggestion" "  tip: a similar argument exists: '--disk'" "$(sed -n 3p "$T/err")"
"$CHSIM" stray 2>"$T/err"; rc=$?
check "positional argument: exit 2" "2 error: unexpected argument 'stray' found" "$rc $(head -1 "$T/err")"
for opt in "--serial file=$T/s.log" "--console off" "--disk path=$T/disk0.img" "--cpus boot=2" \
        "--memory size=1G" "--net tap=t0" "--cmdline console=ttyS0" "--initramfs $T/x" "--watchdog"; do
        # shellcheck disable=SC2086
        "$CHSIM" --api-socket "path=$SOCK" $opt 2>"$T/err"; rc=$?
        check "$opt without --kernel: exit 2" "2 error: the following required arguments were not provided:" \
                "$rc $(head -1 "$T/err")"
done
"$CHSIM" --seccomp maybe 2>"$T/err"; rc=$?
check "--seccomp maybe: exit 2" "2 error: invalid value 'maybe' for '--seccomp <seccomp>'" "$rc $(head -1 "$T/err")"
"$CHSIM" --api-socket a --api-socket b 2>"$T/err"; rc=$?
check "--api-socket twice: exit 2" "2 error: the argument '--api-socket <api-socket>' cannot be used multiple times" \
        "$rc $(head -1 "$T/err")"
"$CHSIM" --api-socket 2>"$T/err"; rc=$?
check "--api-socket without a value: exit 2" \
        "2 error: a value is required for '--api-socket <api-socket>' but none was supplied" "$rc $(head -1 "$T/err")"
"$CHSIM" --no-shutdown=yes 2>"$T/err"; rc=$?
check "a flag given a value: exit 2" "2" "$rc"
"$CHSIM" --api-socket "path=$SOCK" --event-monitor foo=bar 2>"$T/err"; rc=$?
check "--event-monitor foo=bar: exit 1" "1" "$rc"
check "--event-monitor foo=bar: error chain" "  1: unknown option: foo" "$(sed -n 3p "$T/err")"
"$CHSIM" --api-socket "path=$SOCK" --event-monitor fd= 2>"$T/err"; rc=$?
check "--event-monitor with an empty fd: exit 1" "1" "$rc"
"$CHSIM" --api-socket fd=abc 2>"$T/err"; rc=$?
check "--api-socket fd=abc: exit 1" "1" "$rc"
check "--api-socket fd=abc: error chain" "  0: Error parsing --api-socket|  1: invalid digit found in string" \
        "$(sed -n 2p "$T/err")|$(sed -n 3p "$T/err")"
"$CHSIM" --api-socket "path=$SOCK" --log-file "$T/nodir/ch.log" 2>"$T/err"; rc=$?
check "--log-file in a missing directory: exit 1" "1" "$rc"
check "--log-file in a missing directory: error chain" "  0: Error creating log file" "$(sed -n 2p "$T/err")"
"$CHSIM" --api-socket "path=$T/nodir/api.sock" 2>"$T/err"; rc=$?
check "API socket in a missing directory: exit 1" "1" "$rc"
check "API socket in a missing directory: error chain" \
        "  0: Failed to start the VMM thread|  1: Error creation API server's socket|  2: No such file or directory (os error 2)" \
        "$(sed -n 2p "$T/err")|$(sed -n 3p "$T/err")|$(sed -n 4p "$T/err")"
check "the Kernel command line is refused: not simulated" "1" \
        "$("$CHSIM" --kernel "$KERNEL" --api-socket "path=$SOCK" 2>/dev/null; echo $?)"

echo "# process: socket, lock, signals"
start
check "umask 077: the socket is srwx------" "srwx------" "$(stat -c %A "$SOCK")"
check "umask 077: the lock file is -rw-------" "-rw-------" "$(stat -c %A "$SOCK.lock")"
api GET vmm.ping
check "vmm.ping: 200" "200" "$STATUS"
check "vmm.ping: the real pid" "$PID" "$(jq -r .pid <<<"$BODY")"
check "vmm.ping: versions and features" 'v53.0.0 53.0.0 ["io_uring","kvm"]' \
        "$(jq -r '"\(.build_version) \(.version) \(.features|tojson)"' <<<"$BODY")"
"$CHSIM" --api-socket "path=$SOCK" 2>"$T/err2"; rc=$?
check "a second VMM on the same socket: exit 1" "1" "$rc"
check "a second VMM on the same socket: error" \
        "  1: API socket \"$SOCK\" is already in use by another running instance" "$(sed -n 3p "$T/err2")"
api GET vmm.ping
check "the first VMM still answers" "200" "$STATUS"
stop
check "SIGTERM: exit 0" "0" "$RC"
check "SIGTERM: the socket is removed" "gone" "$([ -e "$SOCK" ] && echo there || echo gone)"
check "the lock file stays (as in Cloud Hypervisor)" "there" "$([ -e "$SOCK.lock" ] && echo there || echo gone)"
start; kill -INT "$PID"; wait_exit 5
check "SIGINT: exit 0 and socket removed" "0 gone" "$RC $([ -e "$SOCK" ] && echo there || echo gone)"
start; kill -HUP "$PID"; wait_exit 5
check "SIGHUP has no handler: the process dies of it" "129" "$RC"
check "SIGHUP: the socket is left behind" "there" "$([ -S "$SOCK" ] && echo there || echo gone)"
"$CHSIM" --api-socket "path=$SOCK" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -m 1 --unix-socket "$SOCK" http://localhost/api/v1/vmm.ping >/dev/null && break; sleep 0.02; done
api GET vmm.ping
check "a stale socket (v53 holds the lock): removed and replaced" "200 $PID" "$STATUS $(jq -r .pid <<<"$BODY")"
stop
echo "regular file" >"$SOCK"
start
api GET vmm.ping
check "a stale regular file at the socket path is replaced" "200" "$STATUS"
stop
rm -f "$SOCK"
"$CHSIM" --api-socket "$SOCK" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.02; done
api GET vmm.ping
check "--api-socket PATH without path=" "200" "$STATUS"
stop
rm -f "$SOCK"
$RAW "$SOCK" listen-exec "$CHSIM" --api-socket "fd={fd}" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -m 1 --unix-socket "$SOCK" http://localhost/api/v1/vmm.ping >/dev/null && break; sleep 0.02; done
api GET vmm.ping
check "--api-socket fd=N serves a passed socket" "200 $PID" "$STATUS $(jq -r .pid <<<"$BODY")"
stop
check "--api-socket fd=N: exit 0, the socket file is not ours to remove" "0 there" \
        "$RC $([ -S "$SOCK" ] && echo there || echo gone)"

echo "# HTTP"
start --seccomp false
out=$(printf 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n' | raw)
check "status line without a reason phrase" "HTTP/1.1 200 " "$(head -1 <<<"$out")"
check "Server and Connection headers" "Server: Cloud Hypervisor API|Connection: keep-alive" \
        "$(sed -n 2p <<<"$out")|$(sed -n 3p <<<"$out")"
check "a body comes with Content-Type and Content-Length" \
        "Content-Type: application/json|Content-Length: $(tail -1 <<<"$out" | tr -d '\n' | wc -c)" \
        "$(sed -n 4p <<<"$out")|$(sed -n 5p <<<"$out")"
out=$(printf 'PUT /api/v1/vm.delete HTTP/1.1\r\nContent-Length: 0\r\n\r\n' | raw)
check "204 without Content-Type or Content-Length" "HTTP/1.1 204 |Server: Cloud Hypervisor API|Connection: keep-alive|" \
        "$(tr '\n' '|' <<<"$out")"
out=$(printf 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\n\r\n' | raw)
check "keep-alive: two requests on one connection, answered in order" "HTTP/1.1 200 |HTTP/1.1 404 " \
        "$(grep -o 'HTTP/1.1 [0-9]* ' <<<"$out" | tr '\n' '|' | sed 's/|$//')"
out=$(printf 'POST /api/v1/vmm.ping HTTP/1.1\r\n\r\n' | raw)
check "POST is a micro_http parse error" "HTTP/1.1 400 " "$(head -1 <<<"$out")"
check_match "POST: micro_http's own error body" 'Invalid HTTP Method: Unsupported HTTP method' "$out"
check "micro_http's own answers say Server: Firecracker API" "Server: Firecracker API" "$(sed -n 2p <<<"$out")"
out=$(printf 'PATCH /api/v1/vm.boot HTTP/1.1\r\n\r\n' | raw)
check "PATCH on an action: a bare 400" "HTTP/1.1 400 |Server: Cloud Hypervisor API|Connection: keep-alive|" \
        "$(tr '\n' '|' <<<"$out")"
out=$(printf 'DELETE /api/v1/vm.shutdown HTTP/1.1\r\n\r\n' | raw)
check "DELETE on an action: a bare 400" "HTTP/1.1 400 |" "$(head -1 <<<"$out")|$(grep -c Content-Length <<<"$out" | sed 's/^0$//')"
out=$(printf 'PUT /api/v1/vm.create HTTP/1.1\r\n\r\n' | raw)
check "vm.create without Content-Length (no body): a bare 400" "HTTP/1.1 400 |0" \
        "$(head -1 <<<"$out")|$(grep -c Content-Length <<<"$out")"
big=$(head -c 60000 /dev/zero | tr '\0' ' ')
api PUT vm.create "{\"payload\":{}$big}"
check "a body over 51200 bytes is refused by micro_http" "400" "$STATUS"
check_match "payload limit message" 'Request payload with size 60014 is larger than the limit of 51200 allowed by server' "$BODY"
mapfile -t lines < <($RAW "$SOCK" conns 11)
check "10 connections are served" "10" "$(printf '%s\n' "${lines[@]:0:10}" | grep -c '^HTTP/1.1 200')"
check_match "the 11th connection is refused" "^HTTP/1.1 503" "${lines[10]:-}"
expect "unknown endpoint: 404 Not Found" GET vm.nope - 404 '["Not Found"]'
expect "paths match exactly (trailing slash)" GET vm.info/ - 404 '["Not Found"]'
expect "paths match exactly (case)" GET VM.INFO - 404 '["Not Found"]'
expect "vm.coredump is not built (no guest_debug)" PUT vm.coredump '{"destination_url":"file:///x"}' 404 '["Not Found"]'
out=$(curl -s -m 5 -w ' %{http_code}' --unix-socket "$SOCK" http://localhost/vm.info)
check "paths outside /api/v1: 404" '["Not Found"] 404' "$out"

echo "# methods and bodies"
for ep in vm.boot vm.shutdown vm.reboot vm.pause vm.resume vm.power-button vm.delete vm.nmi; do
        expect "$ep with a body: 400" PUT "$ep" '{}' 400 '["Bad Request"]'
        expect "$ep with GET: 400" GET "$ep" - 400 '["Bad Request"]'
done
expect "vm.counters with PUT: 400" PUT vm.counters - 400 '["Bad Request"]'
expect "vm.info with PUT: 400" PUT vm.info - 400 '["Bad Request"]'
out=$(printf 'DELETE /api/v1/vm.info HTTP/1.1\r\n\r\n' | raw | tail -1)
check "vm.info with DELETE: [\"Bad Request\"]" '["Bad Request"]' "$out"
expect "vmm.ping with PUT: 400" PUT vmm.ping - 400 '["Bad Request"]'
expect "vmm.shutdown with GET: 400" GET vmm.shutdown - 400 '["Bad Request"]'
expect "vm.create with GET: 400" GET vm.create - 400 '["Bad Request"]'
expect "vm.add-disk without a body: 400" PUT vm.add-disk - 400 '["Bad Request"]'
expect "vm.resize without a body: 400" PUT vm.resize - 400 '["Bad Request"]'
expect "vm.create: bad JSON" PUT vm.create '{"cpus":' 400 \
        '["Failed to deserialize JSON","EOF while parsing a value at line 1 column 8"]'
expect "vm.create: wrong type" PUT vm.create '{"payload":{"kernel":5}}' 400 \
        '["Failed to deserialize JSON","invalid type: integer `5`, expected path string at line 1 column 22"]'
expect "vm.create: cpus needs max_vcpus" PUT vm.create '{"cpus":{"boot_vcpus":1}}' 400 \
        '["Failed to deserialize JSON","missing field `max_vcpus` at line 1 column 24"]'
expect "vm.create: memory needs size" PUT vm.create '{"memory":{"hotplug_size":1}}' 400 \
        '["Failed to deserialize JSON","missing field `size` at line 1 column 28"]'
expect "vm.create: unknown console mode" PUT vm.create '{"serial":{"mode":"Bogus"}}' 400 \
        '["Failed to deserialize JSON","unknown variant `Bogus`, expected one of `Off`, `Pty`, `Tty`, `File`, `Socket`, `Null` at line 1 column 25"]'
expect "vm.create: u8 overflow" PUT vm.create '{"cpus":{"boot_vcpus":1,"max_vcpus":1,"max_phys_bits":300}}' 400 \
        '["Failed to deserialize JSON","invalid value: integer `300`, expected u8 at line 1 column 57"]'
expect "vm.create: trailing characters" PUT vm.create '{} x' 400 \
        '["Failed to deserialize JSON","trailing characters at line 1 column 4"]'
expect "vm.create: not an object" PUT vm.create '"x"' 400 \
        '["Failed to deserialize JSON","invalid type: string \"x\", expected struct VmConfig at line 1 column 3"]'
expect "vm.create: bad MAC" PUT vm.create '{"net":[{"mac":"zz"}]}' 400 \
        '["Failed to deserialize JSON","invalid MAC address at line 1 column 20"]'
expect "vm.resize: wrong type" PUT vm.resize '{"desired_vcpus":"2"}' 400 \
        '["Failed to deserialize JSON","invalid type: string \"2\", expected u32 at line 1 column 20"]'
stop

echo "# state rules without a VM"
start
expect "vm.info before vm.create: 404" GET vm.info - 404 '["Error from API","The VM info is not available","VM is not created"]'
expect "vm.boot before vm.create: 404" PUT vm.boot - 404 '["Error from API","The VM could not boot","VM config is missing"]'
expect "vm.shutdown before vm.create" PUT vm.shutdown - 500 '["Error from API","The VM could not shutdown","VM is not running"]'
expect "vm.pause before vm.create" PUT vm.pause - 500 '["Error from API","The VM could not be paused","VM is not running"]'
expect "vm.resume before vm.create" PUT vm.resume - 500 '["Error from API","The VM could not resume","VM is not running"]'
expect "vm.reboot before vm.create: 404" PUT vm.reboot - 404 '["Error from API","The VM could not reboot","VM is not created"]'
expect "vm.power-button before vm.create" PUT vm.power-button - 500 '["Error from API","Error triggering power button","VM is not running"]'
expect "vm.nmi before vm.create" PUT vm.nmi - 500 '["Error from API","Error triggering NMI","VM is not running"]'
expect "vm.counters before vm.create" GET vm.counters - 500 '["Error from API","The VM info is not available","VM is not running"]'
expect "vm.resize before vm.create: 404" PUT vm.resize '{"desired_vcpus":2}' 404 '["Error from API","The VM could not be resized","VM is not created"]'
expect "vm.add-disk before vm.create: 404" PUT vm.add-disk "{\"path\":\"$T/disk1.img\"}" 404 '["Error from API","The disk could not be added to the VM","VM is not created"]'
expect "vm.remove-device before vm.create: 404" PUT vm.remove-device '{"id":"x"}' 404 '["Error from API","The device could not be removed from the VM","VM is not created"]'
expect "vm.delete without a VM: 204" PUT vm.delete - 204 ''
expect "vm.snapshot without a VM" PUT vm.snapshot '{"destination_url":"file:///tmp"}' 500 '["Error from API","The VM could not be snapshotted","VM is not running"]'

echo "# vm.create: validates almost nothing"
expect "vm.create with an empty config: 204" PUT vm.create '{}' 204 ''
expect "vm.create twice: 500" PUT vm.create '{}' 500 '["Error from API","The VM could not be created","VM is already created"]'
api GET vm.info
check "vm.info after vm.create: Created, no device tree" "200 Created null" "$STATUS $(jq -r '"\(.state) \(.device_tree)"' <<<"$BODY")"
check "vm.info: serde's defaults are filled in" \
        "1 1 536870912 /dev/urandom Null Tty null 536870912" \
        "$(jq -r '[.config.cpus.boot_vcpus,.config.cpus.max_vcpus,.config.memory.size,.config.rng.src,.config.serial.mode,.config.console.mode,(.config.payload|tojson),.memory_actual_size]|join(" ")' <<<"$BODY")"
expect "vm.boot without a payload: validation fails at boot" PUT vm.boot - 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Payload configuration is not bootable","No bootitem provided: neither firmware nor kernel"]'
api GET vm.info
check "a VM that failed validation is not kept" "Created" "$(jq -r .state <<<"$BODY")"
expect "vm.delete: 204" PUT vm.delete - 204 ''
expect "vm.info after vm.delete: 404" GET vm.info - 404 '["Error from API","The VM info is not available","VM is not created"]'
expect "unknown fields are ignored" PUT vm.create "{\"payload\":{\"kernel\":\"$KERNEL\",\"bogus\":1},\"bogus\":[1,{\"a\":null}]}" 204 ''
api GET vm.info
check "vm.create after vm.delete works" "200 Created" "$STATUS $(jq -r .state <<<"$BODY")"
api PUT vm.delete

boot_error() { # NAME CONFIG EXPECTED_STATUS EXPECTED_BODY
        api PUT vm.delete
        api PUT vm.create "$2"
        if [ "$STATUS" != 204 ]; then bad "$1 (vm.create: $STATUS $BODY)"; return; fi
        expect "$1" PUT vm.boot - "$3" "$4"
}
cfg=$(config)
boot_error "boot_vcpus > max_vcpus" "$(jq -c '.cpus={"boot_vcpus":4,"max_vcpus":2}' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Max CPUs lower than boot CPUs"]'
boot_error "kernel and firmware" "$(jq -c ".payload.firmware=\"$KERNEL\"" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Payload configuration is not bootable","Specifying a kernel is not supported when a firmware is provided"]'
boot_error "duplicate device ids: 409" "$(jq -c '.disks[0].id="d" | .net[0].id="d"' <<<"$cfg")" 409 \
        '["Error from API","The VM could not boot","Failed to validate config","Identifier d is not unique"]'
boot_error "reserved device id" "$(jq -c '.disks[0].id="__x"' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Identifier __x is not invalid"]'
boot_error "net with one queue" "$(jq -c '.net[0].num_queues=1' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Number of queues to virtio_net less than 2"]'
boot_error "more disk queues than vCPUs" "$(jq -c '.disks[0].num_queues=3' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Number of vCPUs is insufficient for number of queues"]'
boot_error "MTU below 1280" "$(jq -c '.net[0].mtu=1000' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Provided MTU 1000 is lower than 1280 (expected by VIRTIO specification)"]'
boot_error "huge page size without huge pages" "$(jq -c '.memory.hugepage_size=2097152' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","Huge page size specified but huge pages not enabled"]'
boot_error "vsock CID 2" "$(jq -c ".vsock={\"cid\":2,\"socket\":\"$T/v.sock\"}" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Failed to validate config","2 is a special VSOCK CID"]'
boot_error "missing disk image" "$(jq -c ".disks[0].path=\"$T/nope.img\"" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Error from device manager","Cannot open disk path","No such file or directory (os error 2)"]'
boot_error "missing TAP (an unprivileged VMM cannot create one)" "$(jq -c '.net[0].tap="nosuchtap0"' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Error from device manager","Cannot create virtio-net device","Open tap device failed","Unable to create tap interface: nosuchtap0","Operation not permitted (os error 1)"]'
boot_error "TAP name too long" "$(jq -c '.net[0].tap="averyveryverylongname"' <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Error from device manager","Cannot create virtio-net device","Open tap device failed","Unable to create tap interface: averyveryverylongname","Invalid argument (os error 22)"]'
api GET vm.info
check "a VM whose devices failed is not kept" "Created null" "$(jq -r '"\(.state) \(.device_tree)"' <<<"$BODY")"
boot_error "initramfs missing" "$(jq -c ".payload.initramfs=\"$T/nope\"" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Cannot open initramfs file","No such file or directory (os error 2)"]'
boot_error "kernel missing" "$(jq -c ".payload.kernel=\"$T/nope\"" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Cannot open kernel file","No such file or directory (os error 2)"]'
api GET vm.info
check "a VM whose payload failed stays, Created, with its devices" "Created true" \
        "$(jq -r '"\(.state) \(.device_tree != null)"' <<<"$BODY")"
expect "and vm.boot then says it exists" PUT vm.boot - 500 '["Error from API","The VM could not boot","VM is already created"]'
expect "vm.shutdown drops it" PUT vm.shutdown - 204 ''
boot_error "not a kernel image" "$(jq -c ".payload.kernel=\"$T/notakernel\"" <<<"$cfg")" 500 \
        '["Error from API","The VM could not boot","Cannot load the kernel into memory","Invalid ELF magic number"]'
api PUT vm.delete
api PUT vm.create "$(jq -c ".serial.file=\"$T/nodir/serial.log\"" <<<"$cfg")"
check "vm.create: the console file cannot be created" \
        '500 ["Error from API","The VM could not be created","Error creating console devices","Error creating console device","No such file or directory (os error 2)"]' \
        "$STATUS $BODY"
expect "the config is kept all the same" PUT vm.create '{}' 500 '["Error from API","The VM could not be created","VM is already created"]'
api PUT vm.delete
api PUT vm.create "$cfg"
api PUT vm.boot
check "two VMMs cannot share a writable disk image: the first boots" "204" "$STATUS"
SOCK1=$SOCK PID1=$PID SOCK=$T/api2.sock
start
api PUT vm.create "$(jq -c ".serial.file=\"$T/serial2.log\"" <<<"$cfg")"
expect "the second one cannot lock it" PUT vm.boot - 500 \
        '["Error from API","The VM could not boot","Error locking disk images: Another instance likely holds a lock","The file is already locked"]'
stop
SOCK=$SOCK1 PID=$PID1
stop

echo "# lifecycle"
start --event-monitor "path=$T/events.json" -v --log-file "$T/ch.log"
expect "vm.create" PUT vm.create "$cfg" 204 ''
expect "vm.pause before vm.boot" PUT vm.pause - 500 '["Error from API","The VM could not be paused","VM is not running"]'
expect "vm.counters before vm.boot" GET vm.counters - 500 '["Error from API","The VM info is not available","VM is not running"]'
expect "vm.boot" PUT vm.boot - 204 ''
expect "vm.boot twice" PUT vm.boot - 500 '["Error from API","The VM could not boot","VM is already created"]'
api GET vm.info
check "vm.info: Running" "Running" "$(jq -r .state <<<"$BODY")"
check "default device ids _disk0 and _net1, written into the config" "_disk0 _net1" \
        "$(jq -r '"\(.config.disks[0].id) \(.config.net[0].id)"' <<<"$BODY")"
check_match "a random locally administered MAC" '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' "$(jq -r '.config.net[0].mac' <<<"$BODY")"
check "memory_actual_size" "268435456" "$(jq -r .memory_actual_size <<<"$BODY")"
check "device tree: disk and net behind virtio-pci" "0000:00:01.0 0000:00:02.0 _virtio-pci-_disk0" \
        "$(jq -r '"\(.device_tree["_virtio-pci-_disk0"].pci_bdf) \(.device_tree["_virtio-pci-_net1"].pci_bdf) \(.device_tree._disk0.parent)"' <<<"$BODY")"
check "serial: the boot log with the command line" "[    0.000000] Command line: console=ttyS0 metald.vm_id=vm-test" \
        "$(grep 'Command line' "$T/serial.log")"
check "serial: the guest id from metald.vm_id=" "chsim: guest booted, id=vm-test" "$(grep 'guest booted' "$T/serial.log")"
api GET vm.counters
check "vm.counters: one disk, one NIC" "_disk0 _net1" "$(jq -r 'keys|join(" ")' <<<"$BODY")"
check "vm.counters: block counters" "read_bytes read_latency_avg read_latency_max read_latency_min read_ops write_bytes write_latency_avg write_latency_max write_latency_min write_ops" \
        "$(jq -r '._disk0|keys|join(" ")' <<<"$BODY")"
check "vm.counters: net counters" "rx_bytes rx_frames tx_bytes tx_frames" "$(jq -r '._net1|keys|join(" ")' <<<"$BODY")"
r1=$(jq '._disk0.read_ops' <<<"$BODY"); x1=$(jq '._net1.rx_bytes' <<<"$BODY")
sleep 0.35
api GET vm.counters
r2=$(jq '._disk0.read_ops' <<<"$BODY"); x2=$(jq '._net1.rx_bytes' <<<"$BODY")
check "counters grow while running" "yes yes" "$([ "$r2" -gt "$r1" ] && echo yes) $([ "$x2" -gt "$x1" ] && echo yes)"
expect "vm.pause" PUT vm.pause - 204 ''
api GET vm.info; check "vm.info: Paused" "Paused" "$(jq -r .state <<<"$BODY")"
expect "vm.pause when Paused" PUT vm.pause - 500 '["Error from API","The VM could not be paused","Cannot pause VM","Failed to pause migratable component: Invalid transition: InvalidStateTransition(Paused, Paused)","Invalid transition: InvalidStateTransition(Paused, Paused)"]'
expect "vm.boot when Paused" PUT vm.boot - 500 '["Error from API","The VM could not boot","VM is already created"]'
api GET vm.counters; c1=$BODY
sleep 0.35
api GET vm.counters
check "counters are readable and frozen while paused" "200 $c1" "$STATUS $BODY"
expect "vm.resume" PUT vm.resume - 204 ''
expect "vm.resume when Running" PUT vm.resume - 500 '["Error from API","The VM could not resume","Cannot resume VM","Failed to resume migratable component: Invalid transition: InvalidStateTransition(Running, Running)","Invalid transition: InvalidStateTransition(Running, Running)"]'
sleep 0.25
api GET vm.counters
check "counters grow again after resume" "yes" "$([ "$(jq '._disk0.read_ops' <<<"$BODY")" -gt "$(jq '._disk0.read_ops' <<<"$c1")" ] && echo yes)"
expect "vm.add-disk while running: 200 with id and bdf" PUT vm.add-disk "{\"path\":\"$T/disk1.img\",\"readonly\":true}" 200 '{"id":"_disk2","bdf":"0000:00:04.0"}'
expect "vm.add-disk: duplicate id: 409" PUT vm.add-disk "{\"path\":\"$T/disk2.img\",\"id\":\"_disk0\"}" 409 \
        '["Error from API","The disk could not be added to the VM","Failed to validate config","Identifier _disk0 is not unique"]'
expect "vm.add-disk: duplicate path: 409" PUT vm.add-disk "{\"path\":\"$T/disk0.img\"}" 409 \
        "[\"Error from API\",\"The disk could not be added to the VM\",\"Failed to validate config\",\"Duplicated device path: $T/disk0.img\"]"
expect "vm.add-disk: missing image" PUT vm.add-disk "{\"path\":\"$T/nope.img\"}" 500 \
        '["Error from API","The disk could not be added to the VM","Error from device manager","Cannot open disk path","No such file or directory (os error 2)"]'
expect "vm.add-disk: explicit id" PUT vm.add-disk "{\"path\":\"$T/disk2.img\",\"id\":\"data\"}" 200 '{"id":"data","bdf":"0000:00:05.0"}'
api GET vm.counters
check "hot-added disks are counted" "_disk0 _disk2 _net1 data" "$(jq -r 'keys|join(" ")' <<<"$BODY")"
check "a read-only disk writes nothing" "0" "$(jq '._disk2.write_ops' <<<"$BODY")"
api GET vm.info
check "hot-added disks are in the config" "3" "$(jq '.config.disks|length' <<<"$BODY")"
expect "vm.add-net while running" PUT vm.add-net '{"tap":"lo","id":"eth1"}' 200 '{"id":"eth1","bdf":"0000:00:06.0"}'
expect "vm.remove-device: unknown id: 404" PUT vm.remove-device '{"id":"nope"}' 404 \
        '["Error from API","The device could not be removed from the VM","Error from device manager","Unknown device ID: nope"]'
expect "vm.remove-device" PUT vm.remove-device '{"id":"data"}' 204 ''
api GET vm.counters
check "a removed device is no longer counted" "_disk0 _disk2 _net1 eth1" "$(jq -r 'keys|join(" ")' <<<"$BODY")"
expect "vm.resize above max_vcpus" PUT vm.resize '{"desired_vcpus":5}' 500 \
        '["Error from API","The VM could not be resized","Error from CPU manager","Requested vCPUs exceed maximum"]'
expect "vm.resize to 0 vCPUs" PUT vm.resize '{"desired_vcpus":0}' 500 \
        '["Error from API","The VM could not be resized","Error from CPU manager","Requested zero vCPUs"]'
expect "vm.resize down to 1 vCPU" PUT vm.resize '{"desired_vcpus":1}' 204 ''
expect "vm.resize while a vCPU removal is pending: 429" PUT vm.resize '{"desired_vcpus":3}' 429 '["Too Many Requests"]'
sleep 0.2
expect "vm.resize once the removal is done" PUT vm.resize '{"desired_vcpus":3}' 204 ''
api GET vm.info
check "vm.info shows the new vCPU count" "3" "$(jq .config.cpus.boot_vcpus <<<"$BODY")"
expect "vm.resize RAM without hotplug_size is a no-op" PUT vm.resize '{"desired_ram":536870912}' 204 ''
expect "vm.resize balloon without a balloon" PUT vm.resize '{"desired_balloon":1}' 500 \
        '["Error from API","The VM could not be resized","Error from device manager","Missing virtio-balloon, can'"'"'t proceed as expected"]'
expect "vm.reboot" PUT vm.reboot - 204 ''
api GET vm.info
check "vm.reboot: still Running" "Running" "$(jq -r .state <<<"$BODY")"
check "vm.reboot: the console file restarts with a new boot" "chsim: boot #2|1" \
        "$(grep 'boot #' "$T/serial.log")|$(grep -c 'Linux version' "$T/serial.log")"
api GET vm.counters
check "vm.reboot: new devices, counters start over" "yes" "$([ "$(jq '._disk0.read_ops' <<<"$BODY")" -lt "$r2" ] && echo yes)"
expect "vm.power-button while paused waits for the guest" PUT vm.pause - 204 ''
expect "vm.power-button" PUT vm.power-button - 204 ''
sleep 0.3
api GET vm.info
check "a paused guest does not act on the power button" "Paused" "$(jq -r .state <<<"$BODY")"
expect "vm.shutdown from Paused" PUT vm.shutdown - 204 ''
api GET vm.info
check "vm.shutdown: the VM is dropped, its config kept: Created" "Created null" "$(jq -r '"\(.state) \(.device_tree)"' <<<"$BODY")"
expect "vm.shutdown twice" PUT vm.shutdown - 500 '["Error from API","The VM could not shutdown","VM is not running"]'
expect "vm.counters after vm.shutdown" GET vm.counters - 500 '["Error from API","The VM info is not available","VM is not running"]'
expect "vm.boot works again after vm.shutdown" PUT vm.boot - 204 ''
check "the console file is recreated on boot" "1" "$(grep -c 'guest booted' "$T/serial.log")"
expect "vm.delete shuts down and forgets" PUT vm.delete - 204 ''
expect "vm.info after vm.delete" GET vm.info - 404 '["Error from API","The VM info is not available","VM is not created"]'
api PUT vm.create "$(jq -c '.disks=[]' <<<"$cfg")"
expect "cold vm.add-disk: 204" PUT vm.add-disk "{\"path\":\"$T/disk3.img\"}" 204 ''
expect "cold vm.resize: 204" PUT vm.resize '{"desired_vcpus":4,"desired_ram":1073741824}' 204 ''
api GET vm.info
check "cold changes land in the config" "4 1073741824 $T/disk3.img null" \
        "$(jq -r '"\(.config.cpus.boot_vcpus) \(.config.memory.size) \(.config.disks[0].path) \(.config.disks[0].id)"' <<<"$BODY")"
expect "cold vm.remove-device: unknown id" PUT vm.remove-device '{"id":"x"}' 404 \
        '["Error from API","The device could not be removed from the VM","No device with id \"x\" to remove"]'
expect "vmm.shutdown: 200" PUT vmm.shutdown - 200 ''
wait_exit 5
check "vmm.shutdown: the process exits 0" "0" "$RC"
check "vmm.shutdown: the socket is removed" "gone" "$([ -e "$SOCK" ] && echo there || echo gone)"
events=$(jq -r -s 'map(.source + "/" + .event) | join(" ")' "$T/events.json")
check "event monitor: the lifecycle" \
        "vmm/starting vm/booting cpu_manager/create_vcpu cpu_manager/create_vcpu vm/booted vm/pausing vm/paused vm/pausing vm/resuming vm/resumed vm/resuming vm/rebooting cpu_manager/create_vcpu cpu_manager/create_vcpu cpu_manager/create_vcpu vm/rebooted vm/pausing vm/paused vm/shutdown vm/booting cpu_manager/create_vcpu cpu_manager/create_vcpu cpu_manager/create_vcpu vm/booted vm/shutdown vm/deleted vm/deleted vmm/shutdown" \
        "$events"
check "event monitor: pretty JSON with a timestamp" "true" \
        "$(jq -s 'all(.timestamp.secs >= 0 and .timestamp.nanos >= 0 and (.properties == null or (.properties|type) == "object"))' "$T/events.json")"
check "event monitor: an empty line after each event" "$(grep -c '^}' "$T/events.json")" "$(grep -c '^$' "$T/events.json")"
check_match "log file: Cloud Hypervisor's format at -v" \
        'cloud-hypervisor: +[0-9]+\.[0-9]{6}s: <vmm> INFO:vmm/src/lib.rs:[0-9]+ -- Booting VM' "$(cat "$T/ch.log")"

echo "# guest power-off"
start
api PUT vm.create "$cfg"; api PUT vm.boot
expect "vm.power-button" PUT vm.power-button - 204 ''
wait_exit 5
check "the guest powers off and the VMM exits 0" "0" "$RC"
check "the socket is removed" "gone" "$([ -e "$SOCK" ] && echo there || echo gone)"
check "the console shows the power-off" "reboot: Power down" "$(tail -1 "$T/serial.log" | sed 's/^\[[^]]*\] //')"
start --no-shutdown
api PUT vm.create "$cfg"; api PUT vm.boot; api PUT vm.power-button
sleep 0.3
check "--no-shutdown: the VMM stays" "alive" "$(kill -0 "$PID" 2>/dev/null && echo alive)"
api GET vm.info
check "--no-shutdown: the VM is dropped (as vm.shutdown): Created" "Created" "$(jq -r .state <<<"$BODY")"
expect "--no-shutdown: counters need a VM" GET vm.counters - 500 '["Error from API","The VM info is not available","VM is not running"]'
expect "--no-shutdown: vm.boot works again" PUT vm.boot - 204 ''
stop
CHSIM_IGNORE_POWER_BUTTON=1 start
api PUT vm.create "$cfg"; api PUT vm.boot; api PUT vm.power-button
sleep 0.3
api GET vm.info
check "CHSIM_IGNORE_POWER_BUTTON=1: the guest ignores it" "Running" "$(jq -r .state <<<"$BODY")"
stop
CHSIM_SHUTDOWN_DELAY_MS=400 start
api PUT vm.create "$cfg"; api PUT vm.boot; api PUT vm.power-button
sleep 0.2
check "CHSIM_SHUTDOWN_DELAY_MS: not yet" "alive" "$(kill -0 "$PID" 2>/dev/null && echo alive)"
wait_exit 5
check "CHSIM_SHUTDOWN_DELAY_MS: then it powers off" "0" "$RC"
CHSIM_GUEST_HALT_AFTER_MS=200 start
api PUT vm.create "$cfg"; api PUT vm.boot
wait_exit 5
check "CHSIM_GUEST_HALT_AFTER_MS: the guest halts by itself" "0" "$RC"
CHSIM_GUEST_REBOOT_AFTER_MS=150 start
api PUT vm.create "$cfg"; api PUT vm.boot
sleep 0.5
api GET vm.info
check "CHSIM_GUEST_REBOOT_AFTER_MS: rebooted in place, still Running" "Running" "$(jq -r .state <<<"$BODY")"
api PUT vm.pause # stops the guest's timers: no reboot truncates the console while we read it
check_match "CHSIM_GUEST_REBOOT_AFTER_MS: the console shows the boot count" 'chsim: boot #[2-9]' "$(cat "$T/serial.log")"
stop

echo "# console"
CHSIM_HEARTBEAT_MS=50 start
api PUT vm.create "$cfg"; api PUT vm.boot
sleep 0.3
n1=$(grep -c heartbeat "$T/serial.log")
check "heartbeats while running" "yes" "$([ "$n1" -ge 3 ] && echo yes)"
api PUT vm.pause; n1=$(grep -c heartbeat "$T/serial.log"); sleep 0.3
check "no heartbeat while paused" "$n1" "$(grep -c heartbeat "$T/serial.log")"
api PUT vm.delete
api PUT vm.create "$(config 'console=hvc0 metald.vm_id=x' | jq -c ".console={\"mode\":\"File\",\"file\":\"$T/hvc.log\"}")"
api PUT vm.boot
check "console=hvc0: the log goes to the virtio console" "chsim: guest booted, id=x|0" \
        "$(grep 'guest booted' "$T/hvc.log")|$(wc -c <"$T/serial.log")"
api PUT vm.delete
api PUT vm.create "$(config 'root=/dev/vda')"
api PUT vm.boot
check "no console= on the command line: the serial stays silent" "0" "$(wc -c <"$T/serial.log")"
api PUT vm.delete
api PUT vm.create "$(config | jq -c '.serial={"mode":"Pty"}')"
api GET vm.info
check_match "serial Pty: the pty path is written into the config" '^/dev/pts/[0-9]+$' "$(jq -r .config.serial.file <<<"$BODY")"
stop
start
api PUT vm.create "$(config | jq -c '.serial={"mode":"File"}')"
check "serial File without a file: the VMM thread panics" \
        '500 ["Error from API","API response receive error","receiving on a closed channel"]' "$STATUS $BODY"
wait_exit 5
check "and the process exits 1" "1" "$RC"

echo "# hangs and delays"
CHSIM_BOOT_DELAY_MS=400 start
api PUT vm.create "$cfg"
t0=$(date +%s%N); api PUT vm.boot; t1=$(date +%s%N)
check "CHSIM_BOOT_DELAY_MS: vm.boot answers late" "204 yes" "$STATUS $([ $(((t1 - t0) / 1000000)) -ge 400 ] && echo yes)"
stop
CHSIM_HANG=1 start
curl -s -m 1 --unix-socket "$SOCK" http://localhost/api/v1/vmm.ping >/dev/null; rc=$?
check "CHSIM_HANG=1: the API never answers" "28" "$rc"
stop
check "CHSIM_HANG=1: SIGTERM still ends it" "0" "$RC"
CHSIM_HANG_ON=vm.boot start
api PUT vm.create "$cfg"
check "CHSIM_HANG_ON: earlier requests are answered" "204" "$STATUS"
curl -s -m 1 --unix-socket "$SOCK" -X PUT http://localhost/api/v1/vm.boot >/dev/null; rc=$?
check "CHSIM_HANG_ON=vm.boot: vm.boot never answers" "28" "$rc"
curl -s -m 1 --unix-socket "$SOCK" http://localhost/api/v1/vmm.ping >/dev/null; rc=$?
check "CHSIM_HANG_ON: nothing answers afterwards" "28" "$rc"
kill -TERM "$PID"; sleep 0.3
check "CHSIM_HANG_ON: a stuck VMM ignores SIGTERM" "alive" "$(kill -0 "$PID" 2>/dev/null && echo alive)"
kill -KILL "$PID"; wait "$PID" 2>/dev/null; PID=

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
