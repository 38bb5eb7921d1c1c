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
check "Connect GET with encoding=proto: 415" "$(get ListVms '{}' -d encoding=proto | tail -1)" 415
check "Connect GET with connect=v2: 400" "$(get ListVms '{}' -d encoding=json -d connect=v2 | tail -1)" 400
check "PUT on an RPC: 405, GET and POST allowed" "$(curl -s -D - -o /dev/null -X PUT "$P/ListVms" -d '{}' | tr -d '\r' | grep -i '^allow:' | cut -d' ' -f2-)" "GET, POST"
check "PUT on an RPC: 405" "$(code -X PUT "$P/ListVms" -d '{}')" 405
check "no Content-Type is JSON" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type:')" 200
check "form content type (curl -d) is JSON" "$(code -X POST "$P/ListVms" -d '{}')" 200
check "application/json; charset=utf-8" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type: application/json; charset=utf-8')" 200
check "text/plain: 415" "$(code -X POST "$P/ListVms" -d '{}' -H 'Content-Type: text/plain')" 415
check "application/proto (not yet): 415" "$(code -X POST "$P/ListVms" -d '' -H 'Content-Type: application/proto')" 415
check "Connect-Protocol-Version 1 accepted" "$(code -X POST "$P/ListVms" -d '{}' -H 'Connect-Protocol-Version: 1')" 200
check "Connect-Protocol-Version 2 refused" "$(code -X POST "$P/ListVms" -d '{}' -H 'Connect-Protocol-Version: 2')" 400
check "empty body is an empty message" "$(code -X POST "$P/ListVms" --data-binary '')" 200
check "responses are application/json" "$(curl -s -D - -o /dev/null -X POST "$P/ListVms" -d '{}' | tr -d '\r' | grep -i '^content-type:' | cut -d' ' -f2)" application/json
check "duplicate keys are refused" "$(jf .code "$(body -X POST "$P/ListVms" -d '{"page_size":1,"page_size":2}')")" invalid_argument
check "lowerCamelCase answers" "$(jf 'keys | join(",")' "$(body -X POST "$P/ListVms" -d '{}')")" "nextPageToken,vms"
check "GET /healthz answers ok" "$(body "$URL/healthz")" ok
check "POST /healthz is not a route" "$(code -X POST "$URL/healthz" -d '{}')" 404
finish
