#!/bin/bash
# The Connect protocol on HTTP: methods, routes, content types, versions.
. "$(dirname "$0")/lib.sh"
start_metald || exit 1
P="$URL/vmprovisioner.v1.VmService"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
body() { curl -s "$@"; }
check "unknown method: 404" "$(code -X POST "$P/FlyVm" -d '{}')" 404
check "unknown method: unimplemented" "$(jf .code "$(body -X POST "$P/FlyVm" -d '{}')")" unimplemented
check "unknown service: 404" "$(code -X POST "$URL/other.v1.Svc/CreateVm" -d '{}')" 404
check "GET on an RPC with side effects: 405" "$(code "$P/CreateVm?encoding=json&message=%7B%7D")" 405
check "405 says Allow: POST" "$(curl -s -D - -o /dev/null "$P/CreateVm" | tr -d '\r' | grep -i '^allow:' | cut -d' ' -f2-)" POST
# Connect GET for the read-only RPCs: the message URL-encoded in the query.
get() { curl -s -w '\n%{http_code}' -G "$P/$1" --data-urlencode "message=$2" "${@:3}"; }
out=$(get ListVms '{"page_size":5}' -d encoding=json -d connect=v1)
check "Connect GET ListVms: 200" "${out##*$'\n'}" 200
check "Connect GET ListVms answers the message" "$(jf 'keys | join(",")' "${out%$'\n'*}")" "nextPageToken,vms"
out=$(get GetVmInfo '{"vm_id":"nope"}' -d encoding=json)
check "Connect GET GetVmInfo of an unknown VM: not_found" "$(jf .code "${out%$'\n'*}") ${out##*$'\n'}" "not_found 404"
out=$(get ListVms '{"bogus":1}' -d encoding=json)
check "Connect GET decodes like POST (unknown field)" "$(jf .code "${out%$'\n'*}")" invalid_argument
check "Connect GET without encoding: 400" "$(get ListVms '{}' | tail -1)" 400
check "Connect GET with encoding=xml: 415" "$(get ListVms '{}' -d encoding=xml | tail -1)" 415
check "Connect GET with connect=v2: 400" "$(get ListVms '{}' -d encoding=json -d connect=v2 | tail -1)" 400
check "PUT on an RPC: 405, GET and POST allowed" "$(curl -s -D - -o /dev/null -X PUT "$P/ListVms" -d '{}' | tr -d '\r' | grep -i '^allow:' | cut -d' ' -f2-)" "GET, POST"
check "PUT on an RPC: 405" "$(code -X PUT "$P/ListVms" -d '{}')" 405
check "no Content-Type is JSON" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type:')" 200
check "form content type (curl -d) is JSON" "$(code -X POST "$P/ListVms" -d '{}')" 200
check "application/json; charset=utf-8" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type: application/json; charset=utf-8')" 200
check "text/plain: 415" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type: text/plain')" 415

# The binary codec (application/proto): messages written and read with protoc
# from the schema, so the bytes are the reference implementation's.
SCHEMA=$(cd "$(dirname "$0")/../../schema" && pwd)
penc() { protoc --proto_path="$SCHEMA" --encode="vmprovisioner.v1.$1" vmprovisioner/v1/vm.proto; }
pdec() { protoc --proto_path="$SCHEMA" --decode="vmprovisioner.v1.$1" vmprovisioner/v1/vm.proto; }
# pcall METHOD TEXT-MESSAGE: POST the binary message; the answer's bytes in $T/answer, headers in $T/headers.
pcall() { penc "$1Request" <<<"$2" | curl -s -D "$T/headers" -o "$T/answer" -w '%{http_code}' -X POST "$P/$1" -H 'Content-Type: application/proto' --data-binary @-; }
ctype() { tr -d '\r' <"$T/headers" | grep -i '^content-type:' | cut -d' ' -f2; }
check "application/proto: empty ListVms 200" "$(pcall ListVms '')" 200
check "application/proto answers application/proto" "$(ctype)" application/proto
check "application/proto: CreateVm" "$(pcall CreateVm "vm_id: \"vm-proto\" customer_id: \"c1\" config { cpu { vcpu_count: 1 } memory { size_bytes: 134217728 } boot { kernel_path: \"$ASSETS/vmlinux\" } storage { path: \"$ASSETS/rootfs.ext4\" } metadata { key: \"team\" value: \"blue\" } }")" 200
check "application/proto: CreateVm answer decodes" "$(pdec CreateVmResponse <"$T/answer" | tr '\n' ' ')" 'vm_id: "vm-proto" state: VM_STATE_CREATED '
check "application/proto: GetVmInfo" "$(pcall GetVmInfo 'vm_id: "vm-proto"')" 200
info=$(pdec GetVmInfoResponse <"$T/answer")
check_match "GetVmInfo in binary: nested config and map" "$(tr '\n' ' ' <<<"$info")" 'vcpu_count: 1 .*size_bytes: 134217728 .*key: "team" +value: "blue"'
check_match "GetVmInfo in binary: int64 and enum" "$(tr '\n' ' ' <<<"$info")" 'state: VM_STATE_CREATED .*generation: 1 '
check "the same VM in JSON" "$(jf .config.metadata.team "$(body -X POST "$P/GetVmInfo" -d '{"vm_id":"vm-proto"}')")" blue
check "application/proto: ListVms with a repeated enum filter" "$(pcall ListVms 'state_filter: VM_STATE_CREATED state_filter: VM_STATE_RUNNING')" 200
check "ListVms in binary lists it" "$(pdec ListVmsResponse <"$T/answer" | grep -c 'vm_id: "vm-proto"')" 1
check "application/proto: not_found is 404" "$(pcall GetVmInfo 'vm_id: "vm-nope"')" 404
check "errors stay JSON" "$(ctype) $(jq -r .code "$T/answer")" "application/json not_found"
check "application/proto: a refused config is invalid_argument" "$(pcall CreateVm 'config { cpu { vcpu_count: 33 } }'; echo " $(jq -r .code "$T/answer")")" "400 invalid_argument"
check "application/proto; charset is still proto" "$(penc ListVmsRequest <<<'' | code -X POST "$P/ListVms" -H 'Content-Type: application/proto; charset=binary' --data-binary @-)" 200
printf '\x0a\x09vm' >"$T/junk"
check "malformed protobuf: 400" "$(curl -s -o "$T/answer" -w '%{http_code}' -X POST "$P/GetVmInfo" -H 'Content-Type: application/proto' --data-binary @"$T/junk")" 400
check_match "malformed protobuf says so" "$(jq -r .message "$T/answer")" 'malformed protobuf message \(vmprovisioner.v1.GetVmInfoRequest'
# Connect GET with the binary codec: base64url, unpadded, as connect-es sends it.
b64=$(penc GetVmInfoRequest <<<'vm_id: "vm-proto"' | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "Connect GET encoding=proto&base64=1" "$(curl -s -D "$T/headers" -o "$T/answer" -w '%{http_code}' "$P/GetVmInfo?connect=v1&encoding=proto&base64=1&message=$b64")" 200
check "Connect GET proto answer" "$(ctype) $(pdec GetVmInfoResponse <"$T/answer" | head -1)" 'application/proto vm_id: "vm-proto"'
check "Connect GET encoding=json&base64=1" "$(body "$P/GetVmInfo?encoding=json&base64=1&message=$(printf '{"vm_id":"vm-proto"}' | base64 -w0)" | jq -r .vmId)" vm-proto
check "Connect GET bad base64: 400" "$(code "$P/GetVmInfo?encoding=proto&base64=1&message=*")" 400
check "Connect-Protocol-Version 1 accepted" "$(code -X POST "$P/ListVms" -d '{}' -H 'Connect-Protocol-Version: 1')" 200
check "Connect-Protocol-Version 2 refused" "$(code -X POST "$P/ListVms" -d '{}' -H 'Connect-Protocol-Version: 2')" 400
check "empty body is an empty message" "$(code -X POST "$P/ListVms" --data-binary '')" 200
check "responses are application/json" "$(curl -s -D - -o /dev/null -X POST "$P/ListVms" -d '{}' | tr -d '\r' | grep -i '^content-type:' | cut -d' ' -f2)" application/json
check "duplicate keys are refused" "$(jf .code "$(body -X POST "$P/ListVms" -d '{"page_size":1,"page_size":2}')")" invalid_argument
check "lowerCamelCase answers" "$(jf 'keys | join(",")' "$(body -X POST "$P/ListVms" -d '{}')")" "nextPageToken,vms"
check "GET /healthz answers ok" "$(body "$URL/healthz")" ok
check "POST /healthz is not a route" "$(code -X POST "$URL/healthz" -d '{}')" 404
finish
