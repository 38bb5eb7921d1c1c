#!/bin/bash
# ListVms: filtering by state and customer, keyset pagination.
. "$(dirname "$0")/lib.sh"
start_metald || exit 1
for i in 1 2 3 4 5; do rpc CreateVm "{\"vm_id\":\"l$i\",\"customer_id\":\"c$((i % 2))\",\"config\":$(config)}" >/dev/null; done
rpc BootVm '{"vm_id":"l2"}' >/dev/null
rpc BootVm '{"vm_id":"l4"}' >/dev/null
rpc PauseVm '{"vm_id":"l4"}' >/dev/null
ids() { jf '[.vms[].vmId] | join(",")' "$(rpc ListVms "$1" | cut -d' ' -f2-)"; }
check "all, in creation order" "$(ids '{}')" "l1,l2,l3,l4,l5"
check "state filter running" "$(ids '{"state_filter":["VM_STATE_RUNNING"]}')" "l2"
check "state filter running+paused" "$(ids '{"stateFilter":["VM_STATE_RUNNING","VM_STATE_PAUSED"]}')" "l2,l4"
check "state filter created" "$(ids '{"state_filter":["VM_STATE_CREATED"]}')" "l1,l3,l5"
check "customer filter" "$(ids '{"customer_id":"c1"}')" "l1,l3,l5"
p1=$(rpc ListVms '{"page_size":2}' | cut -d' ' -f2-)
check "page 1" "$(jf '[.vms[].vmId] | join(",")' "$p1")" "l1,l2"
tok=$(jf .nextPageToken "$p1")
p2=$(rpc ListVms "{\"page_size\":2,\"page_token\":\"$tok\"}" | cut -d' ' -f2-)
check "page 2" "$(jf '[.vms[].vmId] | join(",")' "$p2")" "l3,l4"
p3=$(rpc ListVms "{\"page_size\":2,\"page_token\":\"$(jf .nextPageToken "$p2")\"}" | cut -d' ' -f2-)
check "page 3" "$(jf '[.vms[].vmId] | join(",")' "$p3")" "l5"
check "last page has no token" "$(jf .nextPageToken "$p3")" ""
check "filtered pages" "$(jf '[.vms[].vmId] | join(",")' "$(rpc ListVms '{"page_size":1,"state_filter":["VM_STATE_CREATED"],"page_token":"p1"}' | cut -d' ' -f2-)")" "l3"
check "list items carry sizes" "$(jf '.vms[0] | "\(.vcpuCount) \(.memorySizeBytes) \(.customerId)"' "$(rpc ListVms '{}' | cut -d' ' -f2-)")" "1 134217728 c1"
check "page_size is capped, not refused" "$(rpc ListVms '{"page_size":100000}' | cut -d' ' -f1)" 200
finish
