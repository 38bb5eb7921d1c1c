#!/bin/bash
# Who may call, and tenant isolation, over TCP with bearer tokens: no or bad
# token -> unauthenticated (401); read-only cannot write (403); a tenant sees
# and changes only its own VMs (another tenant's answers not_found, exactly
# like a missing one, in every RPC), customer_id comes from the token;
# GET /metrics is host-wide only; quotas and host capacity -> resource_exhausted
# (concurrent creates cannot exceed a quota; deleted VMs do not count); SIGHUP
# re-reads the tokens (revokes; a broken file keeps the old ones); a
# non-loopback listener without authentication is refused unless --insecure;
# metalctl's METALD_TOKEN works.
. "$(dirname "$0")/lib.sh"

ADMIN_TOK=admin-token-0123456789abcdef
ACME_TOK=acme-token-0123456789abcdef
GLOBEX_TOK=globex-token-0123456789abcdef
READER_TOK=acme-reader-0123456789abcdef
HOSTREAD_TOK=host-reader-0123456789abcdef
INITECH_TOK=initech-token-0123456789abcdef
TOKENS=$T/tokens
h() { printf '%s' "$1" | "$METALD" --hash-token; }
write_tokens() {
        {
                echo "# metald tokens (test)"
                echo "$(h $ADMIN_TOK) * admin"
                echo "$(h $ACME_TOK) acme tenant   # acme's automation"
                echo "$(h $GLOBEX_TOK) globex tenant"
                echo "$(h $READER_TOK) acme read-only"
                echo "$(h $HOSTREAD_TOK) * read-only"
                echo "$(h $INITECH_TOK) initech tenant"
        } >"$TOKENS"
}
write_tokens

# arpc TOKEN METHOD JSON: "STATUS BODY" (TOKEN "-" sends no Authorization).
arpc() {
        local auth=()
        [ "$1" = - ] || auth=(-H "Authorization: Bearer $1")
        curl -s -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/$2" "${auth[@]}" \
                -H 'Content-Type: application/json' -d "$3" |
                { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}
code() { jf .code "${1#* }"; }
# stop_metald, and check it exits 0 (under ASan: no leak, no error).
stop_clean() {
        stop_metald
        check "metald stops cleanly (exit 0)" "$?" 0
}
status() { echo "${1%% *}"; }

# ---- --hash-token ------------------------------------------------------------------------------------
check_match "--hash-token prints sha256:<hex>" "$(h $ACME_TOK)" '^sha256:[0-9a-f]{64}$'
check "--hash-token is SHA-256 of the token" "$(h $ACME_TOK)" "sha256:$(printf '%s' $ACME_TOK | sha256sum | cut -d' ' -f1)"
out=$(printf 'short' | "$METALD" --hash-token 2>&1); rc=$?
check "--hash-token refuses a short token (exit 2)" "$rc" 2
check_match "... saying why" "$out" "at least 16 characters"
check "the token file holds no plaintext token" "$(grep -c -- "-0123456789abcdef" "$TOKENS")" 0

# ---- a malformed token file refuses to start -----------------------------------------------------------
printf '%s acme tenant\nnot-a-hash acme tenant\n' "$(h $ACME_TOK)" >"$T/bad-tokens"
out=$(timeout 10 "$METALD" --listen 127.0.0.1:8090 --data-dir "$T/d2" --tokens "$T/bad-tokens" 2>&1); rc=$?
check "a malformed token file: metald does not start" "$rc" 1
check_match "... and names the line" "$out" "bad-tokens:2: the hash must start with \"sha256:\""

start_metald --tokens "$TOKENS" || exit 1

# ---- no or bad credentials ------------------------------------------------------------------------------
out=$(arpc - ListVms '{}')
check "no token: 401" "$(status "$out")" 401
check "no token: unauthenticated" "$(code "$out")" unauthenticated
check_match "401 says WWW-Authenticate: Bearer" \
        "$(curl -s -D - -o /dev/null -X POST "$URL/vmprovisioner.v1.VmService/ListVms" -d '{}' | tr -d '\r')" \
        'WWW-Authenticate: Bearer realm="metald"'
out=$(arpc wrong-token-0123456789abcdef ListVms '{}')
check "bad token: 401 unauthenticated" "$(status "$out") $(code "$out")" "401 unauthenticated"
out=$(curl -s -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/ListVms" -H "Authorization: Basic YTpi" -d '{}')
check "Basic auth: 401" "${out##*$'\n'}" 401
check "a Connect GET without a token: 401" \
        "$(curl -s -o /dev/null -w '%{http_code}' "$URL/vmprovisioner.v1.VmService/ListVms?encoding=json&message=%7B%7D")" 401
check "unknown method without a token: 401, not 404 (nothing is revealed)" \
        "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/Nope" -d '{}')" 401
check "GET /healthz needs no token" "$(curl -s "$URL/healthz")" ok

# ---- roles ----------------------------------------------------------------------------------------------
out=$(arpc $READER_TOK CreateVm "{\"config\":$(config)}")
check "read-only cannot create: 403 permission_denied" "$(status "$out") $(code "$out")" "403 permission_denied"
check_match "... saying which role and call" "$(jf .message "${out#* }")" "role read-only may not call CreateVm"
check "the refused create wrote nothing" "$(sql 'SELECT count(*) FROM vms')" 0

# ---- tenants ----------------------------------------------------------------------------------------------
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-1\",\"config\":$(config),\"boot\":true}")
check "tenant acme creates a VM" "$(status "$out")" 200
check "customer_id comes from the token" "$(sql "SELECT customer_id FROM vms WHERE id='acme-1'")" acme
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-2\",\"customer_id\":\"globex\",\"config\":$(config)}")
check "a body customer_id naming another tenant: permission_denied" "$(code "$out")" permission_denied
check "... and nothing is written" "$(sql "SELECT count(*) FROM vms WHERE id='acme-2'")" 0
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-2\",\"customer_id\":\"acme\",\"config\":$(config)}")
check "naming its own tenant is fine" "$(status "$out")" 200
out=$(arpc $GLOBEX_TOK CreateVm "{\"vm_id\":\"globex-1\",\"config\":$(config)}")
check "tenant globex creates a VM" "$(status "$out")" 200
out=$(arpc $ADMIN_TOK CreateVm "{\"vm_id\":\"admin-1\",\"customer_id\":\"globex\",\"config\":$(config)}")
check "admin creates for any customer_id" "$(sql "SELECT customer_id FROM vms WHERE id='admin-1'")" globex

# Another tenant's VM and a missing one answer alike, in every RPC.
for pair in "GetVmInfo:{}" "GetVmConsole:{}" "GetVmHistory:{}" "GetVmMetrics:{}" "BootVm:{}" \
            "ShutdownVm:{}" "PauseVm:{}" "ResumeVm:{}" "RebootVm:{}" "DeleteVm:{}"; do
        m=${pair%%:*}
        theirs=$(arpc $GLOBEX_TOK "$m" '{"vm_id":"acme-1"}')
        missing=$(arpc $GLOBEX_TOK "$m" '{"vm_id":"acme-9"}')
        check "$m of another tenant's VM: 404 not_found" "$(status "$theirs") $(code "$theirs")" "404 not_found"
        check "$m: same message shape as a missing VM" "$(jf .message "${theirs#* }" | sed 's/acme-1/ID/')" \
                "$(jf .message "${missing#* }" | sed 's/acme-9/ID/')"
done
check "acme-1 is untouched by globex's calls" "$(sql "SELECT desired_state || ' ' || (deleted_at IS NULL) FROM vms WHERE id='acme-1'")" "running 1"
theirs=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $GLOBEX_TOK" \
        "$URL/vmprovisioner.v1.VmService/GetVmInfo?encoding=json&message=%7B%22vm_id%22%3A%22acme-1%22%7D")
check_match "Connect GET of another tenant's VM: not_found 404" "$theirs" '"not_found".* 404$'

out=$(arpc $ACME_TOK ListVms '{}')
check "ListVms shows a tenant its own VMs only" "$(jf '[.vms[].vmId] | sort | join(",")' "${out#* }")" "acme-1,acme-2"
out=$(arpc $ACME_TOK ListVms '{"customer_id":"globex"}')
check "ListVms for another tenant's customer_id: permission_denied" "$(code "$out")" permission_denied
out=$(arpc $READER_TOK ListVms '{}')
check "an acme read-only token lists acme's VMs" "$(jf '[.vms[].vmId] | sort | join(",")' "${out#* }")" "acme-1,acme-2"
out=$(arpc $READER_TOK GetVmInfo '{"vm_id":"globex-1"}')
check "... and not globex's (not_found)" "$(code "$out")" not_found
out=$(arpc $READER_TOK ShutdownVm '{"vm_id":"acme-1"}')
check "read-only cannot shut down its tenant's VM" "$(code "$out")" permission_denied
out=$(arpc $HOSTREAD_TOK ListVms '{}')
check "a host-wide read-only token lists every VM" "$(jf '.vms | length' "${out#* }")" 4
out=$(arpc $ADMIN_TOK ListVms '{}')
check "admin lists every VM" "$(jf '.vms | length' "${out#* }")" 4
out=$(arpc $GLOBEX_TOK GetVmInfo '{"vm_id":"acme-1"}')
out2=$(arpc $ACME_TOK GetVmInfo '{"vm_id":"acme-1"}')
check "the owner sees its VM" "$(jf .customerId "${out2#* }")" acme
check "a tenant's GetVmInfo shows no host paths or pids" "$(jf '.backendInfo | keys | join(",")' "${out2#* }")" backend
out2=$(arpc $ADMIN_TOK GetVmInfo '{"vm_id":"acme-1"}')
check_match "an admin's does" "$(jf '.backendInfo | keys | join(",")' "${out2#* }")" "apiSocketPath.*runDir.*vmmPid"
out=$(arpc $GLOBEX_TOK CreateVm "{\"vm_id\":\"acme-1\",\"config\":$(config)}")
check "CreateVm with another tenant's id: already_exists without saying whose" "$(code "$out")" already_exists
check_match "... message" "$(jf .message "${out#* }")" "already in use"
out=$(arpc $ACME_TOK DeleteVm '{"vm_id":"acme-2"}')
check "a tenant deletes its own VM" "$(status "$out")" 200

# /metrics: host-wide callers only.
check "GET /metrics without a token: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" 401
check "GET /metrics as a tenant: 403" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ACME_TOK" "$URL/metrics")" 403
check "GET /metrics as a tenant-bound reader: 403" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER_TOK" "$URL/metrics")" 403
check "GET /metrics as admin: 200" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOK" "$URL/metrics")" 200
check "GET /metrics as a host-wide reader: 200" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HOSTREAD_TOK" "$URL/metrics")" 200

# ---- metalctl with METALD_TOKEN ------------------------------------------------------------------------------
if [ -n "${METALCTL:-}" ]; then
        out=$(METALD_URL=$URL "$METALCTL" list 2>&1); rc=$?
        check "metalctl without a token fails" "$([ $rc -ne 0 ] && echo yes)" yes
        check_match "... saying unauthenticated" "$out" "unauthenticated"
        out=$(METALD_URL=$URL METALD_TOKEN=$ACME_TOK "$METALCTL" list 2>&1)
        check_match "metalctl with METALD_TOKEN lists the tenant's VM" "$out" "acme-1"
        check "... and not the other tenant's" "$(grep -c globex-1 <<<"$out")" 0
        printf '%s\n' "$ADMIN_TOK" >"$T/admin.token"
        out=$(METALD_URL=$URL "$METALCTL" --token-file "$T/admin.token" list 2>&1)
        check_match "metalctl --token-file (admin) sees globex-1" "$out" "globex-1"
fi

# ---- SIGHUP re-reads the tokens ---------------------------------------------------------------------------------
grep -v " globex tenant" "$TOKENS" >"$TOKENS.new" && mv "$TOKENS.new" "$TOKENS"
kill -HUP $METALD_PID
revoked=
for _ in $(seq 1 100); do
        [ "$(status "$(arpc $GLOBEX_TOK ListVms '{}')")" = 401 ] && { revoked=yes; break; }
        sleep 0.05
done
check "SIGHUP: a removed token is revoked" "$revoked" yes
check "... the others still work" "$(status "$(arpc $ACME_TOK ListVms '{}')")" 200
echo "garbage line" >>"$TOKENS"
kill -HUP $METALD_PID
for _ in $(seq 1 100); do grep -q "keeping the old tokens" "$T/metald.log" && break; sleep 0.05; done
check_match "SIGHUP with a broken file: the old table stays and the line is logged" \
        "$(grep "keeping the old tokens" "$T/metald.log")" "tokens:7: expected"
check "... acme's token still works" "$(status "$(arpc $ACME_TOK ListVms '{}')")" 200
write_tokens
stop_clean

# ---- quotas ---------------------------------------------------------------------------------------------------------
start_metald --tokens "$TOKENS" --tenant-quota "acme:vms=3,vcpus=4,memory=512M" --tenant-quota "initech:vms=3" || exit 1
# acme has acme-1 (1 vCPU, 128 MiB) alive; acme-2 is deleted and does not count.
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-3\",\"config\":$(config 4)}")
check "over the vCPU quota: resource_exhausted" "$(code "$out")" resource_exhausted
check_match "... naming the limit" "$(jf .message "${out#* }")" 'quota of tenant "acme": 1 of 4 vCPUs'
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-3\",\"config\":$(config 1 536870912)}")
check_match "over the memory quota: names memory" "$(code "$out") $(jf .message "${out#* }")" "resource_exhausted .*bytes of memory"
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-3\",\"config\":$(config)}")
check "within quota: created" "$(status "$out")" 200
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-4\",\"config\":$(config)}")
check "third live VM: created" "$(status "$out")" 200
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-5\",\"config\":$(config)}")
check_match "fourth: over the VM quota" "$(code "$out") $(jf .message "${out#* }")" 'resource_exhausted quota of tenant "acme": it has 3 of at most 3 VMs'
arpc $ACME_TOK DeleteVm '{"vm_id":"acme-4"}' >/dev/null
out=$(arpc $ACME_TOK CreateVm "{\"vm_id\":\"acme-5\",\"config\":$(config)}")
check "after a delete, the quota has room again" "$(status "$out")" 200
out=$(arpc $GLOBEX_TOK CreateVm "{\"vm_id\":\"globex-2\",\"config\":$(config 4)}")
check "a tenant without a quota is not limited" "$(status "$out")" 200

# Concurrent creates cannot exceed the quota: 8 at once, 3 allowed.
pids=()
for i in $(seq 1 8); do
        arpc $INITECH_TOK CreateVm "{\"vm_id\":\"ini-$i\",\"config\":$(config)}" >"$T/conc-$i" &
        pids+=($!)
done
wait "${pids[@]}" # not a bare wait: metald is a child too
ok_n=$(cat "$T"/conc-* | grep -c '^200 ')
ex_n=$(cat "$T"/conc-* | grep -c 'resource_exhausted')
check "8 concurrent creates against vms=3: 3 succeed" "$ok_n" 3
check "... 5 are resource_exhausted" "$ex_n" 5
check "... and the database holds 3" "$(sql "SELECT count(*) FROM vms WHERE customer_id='initech' AND deleted_at IS NULL")" 3
stop_clean

# ---- host capacity --------------------------------------------------------------------------------------------------
live_vcpus=$(sql "SELECT sum(json_extract(config_json, '\$.cpu.maxVcpuCount')) FROM vms WHERE deleted_at IS NULL")
start_metald --tokens "$TOKENS" --host-vcpus $((live_vcpus + 2)) --overcommit 1.5 || exit 1
# capacity = (live + 2) * 1.5 vCPUs; a VM of (live/2 + 4) vCPUs does not fit.
cap=$(( (live_vcpus + 2) * 3 / 2 ))
big=$(( cap - live_vcpus + 1 ))
out=$(arpc $ADMIN_TOK CreateVm "{\"vm_id\":\"big-1\",\"config\":$(config $big)}")
check_match "over host vCPU capacity: resource_exhausted naming it" "$(code "$out") $(jf .message "${out#* }")" \
        "resource_exhausted host capacity: $live_vcpus of $cap vCPUs"
out=$(arpc $ADMIN_TOK CreateVm "{\"vm_id\":\"fit-1\",\"config\":$(config $((big - 1)))}")
check "exactly filling the capacity: created" "$(status "$out")" 200
arpc $ADMIN_TOK DeleteVm '{"vm_id":"fit-1"}' >/dev/null
out=$(arpc $ADMIN_TOK CreateVm "{\"vm_id\":\"fit-2\",\"config\":$(config $((big - 1)))}")
check "a deleted VM's vCPUs are free again" "$(status "$out")" 200
stop_clean
start_metald --tokens "$TOKENS" --host-memory 1G --host-vcpus 1000 || exit 1
out=$(arpc $ADMIN_TOK CreateVm "{\"vm_id\":\"mem-1\",\"config\":$(config 1 1073741824)}")
check_match "over host memory: resource_exhausted naming it" "$(code "$out") $(jf .message "${out#* }")" \
        "resource_exhausted host capacity: .* bytes of memory"
stop_clean

# ---- non-loopback listeners -------------------------------------------------------------------------------------------
ip addr add 10.77.0.1/32 dev lo
out=$(timeout 10 "$METALD" --listen 10.77.0.1:8081 --data-dir "$T/d3" 2>&1); rc=$?
check "a non-loopback listener without authentication: refused (exit 1)" "$rc" 1
check_match "... saying so" "$out" "not a loopback address, without authentication: give --tokens or --tls-client-ca, or --insecure"
out=$(timeout 10 "$METALD" --listen 127.0.0.1:8082 --listen 0.0.0.0:8083 --data-dir "$T/d3" 2>&1); rc=$?
check "0.0.0.0 among the listeners: refused" "$rc" 1
"$METALD" --listen 10.77.0.1:8081 --data-dir "$T/d3" --insecure >>"$T/insecure.log" 2>&1 &
pid=$!
st=
for _ in $(seq 1 100); do st=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://10.77.0.1:8081/vmprovisioner.v1.VmService/ListVms -d '{}') && [ "$st" = 200 ] && break; sleep 0.05; done
check "--insecure: it serves there, every caller an admin" "$st" 200
kill -TERM $pid; wait $pid
"$METALD" --listen 10.77.0.1:8081 --data-dir "$T/d3" --tokens "$TOKENS" >>"$T/insecure.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do st=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://10.77.0.1:8081/vmprovisioner.v1.VmService/ListVms -d '{}') && [ "$st" = 401 ] && break; sleep 0.05; done
check "with --tokens a non-loopback listener starts, and wants a token" "$st" 401
kill -TERM $pid; wait $pid

check "no sanitizer report in the log" "$(grep -c -E 'Sanitizer|runtime error' "$T/metald.log")" 0
finish
