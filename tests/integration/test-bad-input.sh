#!/bin/bash
# Every kind of bad input gets a Connect error that names the problem, and
# nothing is written: the vms and vm_events tables stay as they were.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/outside"
printf 'k\n' > "$T/outside/vmlinux"
ln -s "$T/outside/vmlinux" "$ASSETS/escape"
mkdir -p "${ASSETS}-evil" && printf 'k\n' > "${ASSETS}-evil/vmlinux"
start_metald || exit 1
rpc CreateVm "{\"vm_id\":\"base\",\"config\":$(config)}" >/dev/null
before=$(sql "SELECT (SELECT count(*) FROM vms) || '/' || (SELECT count(*) FROM vm_events)")

K="$ASSETS/vmlinux"
R="$ASSETS/rootfs.ext4"
cfg() { # cfg CPU MEMORY BOOT STORAGE
        printf '{"cpu":%s,"memory":%s,"boot":%s,"storage":%s}' "$1" "$2" "$3" "$4"
}
CPU='{"vcpu_count":1}'
MEM='{"size_bytes":134217728}'
BOOT="{\"kernel_path\":\"$K\"}"
DISK="[{\"path\":\"$R\"}]"

# bad BODY EXPECTED_CODE MESSAGE_REGEX DESCRIPTION
bad() {
        local out status body
        out=$(rpc CreateVm "$1")
        status=${out%% *}
        body=${out#* }
        check "$4: code" "$(jf .code "$body")" "$2"
        check_match "$4: message names the problem" "$(jf .message "$body")" "$3"
        [ "$2" = invalid_argument ] && check "$4: HTTP 400" "$status" 400
}
bad '{"config":' invalid_argument 'malformed JSON' "malformed JSON"
bad '[]' invalid_argument 'JSON object' "not an object"
bad "{\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "$DISK"),\"colour\":1}" invalid_argument 'unknown field "colour"' "unknown top-level field"
bad "{\"config\":$(cfg '{"vcpu_count":1,"turbo":true}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'config.cpu.*turbo' "unknown nested field"
bad "{\"config\":$(cfg '{"vcpu_count":"two"}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'config.cpu.vcpu_count' "vcpu_count of the wrong type"
bad "{\"config\":$(cfg '{"vcpu_count":0}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'config.cpu.vcpu_count' "vcpu_count 0"
bad "{\"config\":$(cfg '{"vcpu_count":33}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'config.cpu.vcpu_count.*32' "vcpu_count 33"
bad "{\"config\":$(cfg '{"vcpu_count":-1}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'config.cpu.vcpu_count' "negative vcpu_count"
bad "{\"config\":$(cfg '{"vcpu_count":1,"max_vcpu_count":4}' "$MEM" "$BOOT" "$DISK")}" invalid_argument 'max_vcpu_count.*hotplug' "CPU hotplug on firecracker"
bad "{\"config\":$(cfg "$CPU" '{"size_bytes":134217729}' "$BOOT" "$DISK")}" invalid_argument 'config.memory.size_bytes.*MiB' "memory not a whole MiB"
bad "{\"config\":$(cfg "$CPU" '{"size_bytes":67108864}' "$BOOT" "$DISK")}" invalid_argument 'config.memory.size_bytes' "memory below 128 MiB"
bad "{\"config\":$(cfg "$CPU" '{"size_bytes":"1099511627776000"}' "$BOOT" "$DISK")}" invalid_argument 'config.memory.size_bytes' "memory above the host's"
bad "{\"config\":$(cfg "$CPU" '{"size_bytes":-134217728}' "$BOOT" "$DISK")}" invalid_argument 'config.memory.size_bytes' "negative memory"
bad "{\"config\":$(cfg "$CPU" '{"size_bytes":134217728,"hotplug_size_bytes":134217728}' "$BOOT" "$DISK")}" invalid_argument 'hotplug' "memory hotplug on firecracker"
bad "{\"config\":$(cfg "$CPU" "$MEM" '{"kernel_args":"x"}' "$DISK")}" invalid_argument 'config.boot.kernel_path' "missing kernel"
bad "{\"config\":$(cfg "$CPU" "$MEM" '{"kernel_path":"/etc/passwd"}' "$DISK")}" invalid_argument 'config.boot.kernel_path.*outside' "kernel outside the asset roots"
bad "{\"config\":$(cfg "$CPU" "$MEM" "{\"kernel_path\":\"$ASSETS/../outside/vmlinux\"}" "$DISK")}" invalid_argument 'config.boot.kernel_path' "kernel through .."
bad "{\"config\":$(cfg "$CPU" "$MEM" "{\"kernel_path\":\"$ASSETS/escape\"}" "$DISK")}" invalid_argument 'config.boot.kernel_path' "kernel through a symlink out"
bad "{\"config\":$(cfg "$CPU" "$MEM" "{\"kernel_path\":\"${ASSETS}-evil/vmlinux\"}" "$DISK")}" invalid_argument 'config.boot.kernel_path' "kernel in a sibling with the root as prefix"
bad "{\"config\":$(cfg "$CPU" "$MEM" "{\"kernel_path\":\"$ASSETS/nope\"}" "$DISK")}" invalid_argument 'config.boot.kernel_path' "kernel that does not exist"
bad "{\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "[{\"path\":\"$R\",\"is_root_device\":true},{\"path\":\"$ASSETS/data.ext4\",\"is_root_device\":true}]")}" invalid_argument 'config.storage.*root device' "two root devices"
bad "{\"config\":$(cfg "$CPU" "$MEM" "$BOOT" '[{"path":"/etc/shadow"}]')}" invalid_argument 'config.storage\[0\].path' "disk outside the asset roots"
bad "{\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "[{\"path\":\"$R\",\"readonly\":\"no\"}]")}" invalid_argument 'config.storage\[0\].readonly' "readonly of the wrong type"
bad "{\"vm_id\":\"bad id!\",\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "$DISK")}" invalid_argument 'vm_id' "invalid vm_id"
bad "{\"vm_id\":\"$(printf 'a%.0s' $(seq 1 65))\",\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "$DISK")}" invalid_argument 'vm_id' "vm_id of 65 characters"
bad "{\"backend\":\"xen\",\"config\":$(cfg "$CPU" "$MEM" "$BOOT" "$DISK")}" invalid_argument 'backend.*xen.*firecracker' "unknown backend"
bad '{}' invalid_argument 'config: required' "missing config"
bad "{\"vm_id\":\"base\",\"config\":$(config 2)}" already_exists 'base.*different configuration' "same id, another config"

{ printf '{"config":{}'; head -c 1100000 /dev/zero | tr '\0' ' '; printf '}'; } > "$T/big.json"
out=$(curl -s -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/CreateVm" --data-binary @"$T/big.json")
check "body over 1 MiB: resource_exhausted" "$(jf .code "${out%$'\n'*}")" resource_exhausted
check "body over 1 MiB: HTTP 429" "${out##*$'\n'}" 429

after=$(sql "SELECT (SELECT count(*) FROM vms) || '/' || (SELECT count(*) FROM vm_events)")
check "nothing was written by any bad request" "$after" "$before"

# Retrying the same create is not an error, and writes nothing new.
check "idempotent CreateVm retry" "$(rpc CreateVm "{\"vm_id\":\"base\",\"config\":$(config)}")" '200 {"vmId":"base","state":"VM_STATE_CREATED"}'
check "the retry wrote nothing" "$(sql "SELECT (SELECT count(*) FROM vms) || '/' || (SELECT count(*) FROM vm_events)")" "$before"

# Lifecycle preconditions.
pre() { # pre METHOD BODY CODE REGEX DESCRIPTION
        local out; out=$(rpc "$1" "$2"); out=${out#* }
        check "$5: code" "$(jf .code "$out")" "$3"
        check_match "$5: message" "$(jf .message "$out")" "$4"
}
pre PauseVm '{"vm_id":"base"}' failed_precondition 'not running' "PauseVm on a created VM"
pre ResumeVm '{"vm_id":"base"}' failed_precondition 'not paused' "ResumeVm on a created VM"
pre ShutdownVm '{"vm_id":"base"}' failed_precondition 'never been booted' "ShutdownVm on a created VM"
pre RebootVm '{"vm_id":"base"}' failed_precondition 'not running' "RebootVm on a created VM"
pre BootVm '{"vm_id":"ghost"}' not_found 'ghost' "BootVm on an unknown VM"
pre GetVmInfo '{"vm_id":"ghost"}' not_found 'ghost' "GetVmInfo on an unknown VM"
pre BootVm '{}' invalid_argument 'vm_id: required' "BootVm without vm_id"
pre BootVm '{"vm_id":"base","force":true}' invalid_argument 'unknown field "force"' "BootVm with a field it does not have"
pre ShutdownVm '{"vm_id":"base","timeout_seconds":-1}' failed_precondition 'never been booted' "precondition checked before the timeout"
rpc BootVm '{"vm_id":"base"}' >/dev/null
pre ShutdownVm '{"vm_id":"base","timeout_seconds":100000}' invalid_argument 'timeout_seconds' "absurd shutdown timeout"
check "ResumeVm on a running VM is a no-op" "$(rpc ResumeVm '{"vm_id":"base"}')" '200 {"success":true,"state":"VM_STATE_RUNNING"}'
rpc PauseVm '{"vm_id":"base"}' >/dev/null
pre BootVm '{"vm_id":"base"}' failed_precondition 'paused; use ResumeVm' "BootVm on a paused VM"
pre ListVms '{"page_token":"garbage"}' invalid_argument 'page_token' "ListVms with a bad token"
pre ListVms '{"page_size":-5}' invalid_argument 'page_size' "ListVms with a negative page size"
pre ListVms '{"state_filter":["RUNNING"]}' invalid_argument 'state_filter' "ListVms with a bad state"
finish
