#!/bin/bash
# GetVmConsole: follow a guest's console by offset, capped in size; and
# GetVmHistory: a VM's events, paged, still there after it is deleted.
. "$(dirname "$0")/lib.sh"
start_metald --console-max-bytes 8192 || exit 1

rpc CreateVm "{\"vm_id\":\"con\",\"boot\":true,\"config\":$(config)}" >/dev/null
out=$(rpc GetVmConsole '{"vm_id":"con"}' | cut -d' ' -f2-)
check_match "the console shows the guest's boot" "$(jf .data "$out")" 'guest booted, id=con'
check "from offset 0" "$(jf .offset "$out")" 0
next=$(jf .nextOffset "$out")
check "nextOffset is the console's size" "$next" "$(stat -c %s "$DATA/vms/con/console.log")"
out=$(rpc GetVmConsole "{\"vm_id\":\"con\",\"offset\":\"$next\"}" | cut -d' ' -f2-)
check "nothing new past the end" "$(jf .data "$out")" ""
check "offset stays" "$(jf .nextOffset "$out")" "$next"
printf 'line one\nline \xff two\n' >> "$DATA/vms/con/console.log"
out=$(rpc GetVmConsole "{\"vm_id\":\"con\",\"offset\":$next}" | cut -d' ' -f2-)
check "a follower gets exactly the new bytes (invalid UTF-8 replaced)" "$(jf .data "$out")" $'line one\nline \uFFFD two'
check "max_bytes bounds a read" "$(jf '.data | length' "$(rpc GetVmConsole '{"vm_id":"con","max_bytes":10}' | cut -d' ' -f2-)")" 10

# A noisy guest: the log is capped, offsets stay monotonic.
before=$(stat -c %s "$DATA/vms/con/console.log")
head -c 30000 /dev/zero | tr '\0' 'x' >> "$DATA/vms/con/console.log"
for _ in $(seq 1 50); do [ -s "$DATA/vms/con/console.base" ] && break; sleep 0.05; done
size=$(stat -c %s "$DATA/vms/con/console.log")
if [ "$size" -le 8192 ]; then ok "the console log is capped ($size bytes)"; else not_ok "the console log is capped ($size bytes)"; fi
check "the newest output is kept aside" "$(test -s "$DATA/vms/con/console.log.1" && echo kept)" kept
out=$(rpc GetVmConsole '{"vm_id":"con"}' | cut -d' ' -f2-)
check "reading from 0 says output was skipped" "$(jf .skipped "$out")" true
check "and starts where the log now starts" "$(jf .offset "$out")" "$((before + 30000))"
printf 'after the cap\n' >> "$DATA/vms/con/console.log"
out=$(rpc GetVmConsole "{\"vm_id\":\"con\",\"offset\":$((before + 30000))}" | cut -d' ' -f2-)
check "new output follows at the next offset" "$(jf .data "$out")" "after the cap"

bad() { local out; out=$(rpc GetVmConsole "$1" | cut -d' ' -f2-); check_match "$2" "$(jf '.code + ": " + .message' "$out")" "$3"; }
bad '{"vm_id":"con","offset":-1}' "negative offset" '^invalid_argument: offset'
bad '{"vm_id":"con","max_bytes":99999999}' "max_bytes too large" '^invalid_argument: max_bytes'
bad '{"vm_id":"nope"}' "unknown VM" '^not_found'

# History, paged, outliving the VM.
rpc ShutdownVm '{"vm_id":"con"}' >/dev/null
rpc DeleteVm '{"vm_id":"con"}' >/dev/null
all=$(rpc GetVmHistory '{"vm_id":"con","page_size":1000}' | cut -d' ' -f2-)
n=$(jf '.events | length' "$all")
check "the deleted VM's history is there" "$(jf '.events[-1].toState' "$all")" deleted
check "it starts with its creation" "$(jf '.events[0] | "\(.kind) \(.toState) \(.reason)"' "$all")" "desired running CreateVm"
check "it matches the event table" "$n" "$(sql "SELECT count(*) FROM vm_events WHERE vm_id='con'")"
seen=0; tok=""
for _ in $(seq 1 50); do
        page=$(rpc GetVmHistory "{\"vm_id\":\"con\",\"page_size\":3,\"page_token\":\"$tok\"}" | cut -d' ' -f2-)
        seen=$((seen + $(jf '.events | length' "$page")))
        tok=$(jf .nextPageToken "$page")
        [ -z "$tok" ] && break
done
check "paging through it sees every event once" "$seen" "$n"
check "GetVmInfo on it is not_found" "$(rpc GetVmInfo '{"vm_id":"con"}' | cut -d' ' -f1)" 404
check "GetVmConsole on it is not_found" "$(rpc GetVmConsole '{"vm_id":"con"}' | cut -d' ' -f1)" 404
check "GetVmHistory of an unknown VM is not_found" "$(rpc GetVmHistory '{"vm_id":"ghost"}' | cut -d' ' -f1)" 404
finish
