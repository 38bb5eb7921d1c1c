#!/bin/bash
# Listeners and transport credentials: a TCP and a Unix socket at once; the
# socket file is mode 0660 with --socket-group; SO_PEERCRED uids map to roles
# (--unix-user), root is admin, an unmapped uid needs a token, a uid outside
# the group cannot connect at all; TLS with a certtool-made server
# certificate; client certificates map to tenants (CN) or to a role
# (--tls-client-map), one from another CA is refused; systemd socket
# activation with two sockets. Throwaway users live only in this test's mount
# namespace (a bind-mounted copy of /etc/passwd and /etc/group).
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null || { echo "certtool (gnutls-bin) is missing"; exit 1; }
chmod 755 "$T" # other users must reach the socket inside

# ---- throwaway users: mapped, in the socket group, outside it -------------------------------------------
cp /etc/passwd "$T/passwd"
cp /etc/group "$T/group"
cat >>"$T/passwd" <<EOF
itacme:x:4242:4242::/nonexistent:/usr/sbin/nologin
itgroup:x:4244:4243::/nonexistent:/usr/sbin/nologin
itother:x:4245:4245::/nonexistent:/usr/sbin/nologin
EOF
cat >>"$T/group" <<EOF
itacme:x:4242:
itsock:x:4243:itacme
itother:x:4245:
EOF
mount --bind "$T/passwd" /etc/passwd
mount --bind "$T/group" /etc/group

SOCK=$T/metald.sock
TOK=transport-admin-token-0123456789
GTOK=globex-transport-token-0123456789
printf '%s * admin\n%s globex tenant\n' "$(printf %s $TOK | "$METALD" --hash-token)" \
        "$(printf %s $GTOK | "$METALD" --hash-token)" >"$T/tokens"

# as UID GID GROUPS COMMAND...: run a command as that uid and gid, with those
# supplementary groups (comma-separated; "" for none).
as() {
        local uid=$1 gid=$2 groups=$3
        shift 3
        if [ -n "$groups" ]; then
                setpriv --reuid "$uid" --regid "$gid" --groups "$groups" -- "$@"
        else
                setpriv --reuid "$uid" --regid "$gid" --clear-groups -- "$@"
        fi
}
# urpc METHOD JSON [curl args...]: over the Unix socket; "STATUS BODY" ("000 " when it cannot connect).
urpc() {
        local m=$1 d=$2
        shift 2
        curl -s -w '\n%{http_code}' --unix-socket "$SOCK" -X POST "http://metald/vmprovisioner.v1.VmService/$m" \
                -H 'Content-Type: application/json' -d "$d" "$@" |
                { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}
code() { jf .code "${1#* }"; }
# stop_metald, and check it exits 0 (under ASan: no leak, no error).
stop_clean() {
        stop_metald
        check "metald stops cleanly (exit 0)" "$?" 0
}
export -f urpc jf
export SOCK

start_metald --listen unix:"$SOCK" --socket-group itsock --unix-user itacme=tenant:acme \
        --unix-user 4244=read-only --tokens "$T/tokens" || exit 1
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done

check "the Unix socket is mode 0660, group --socket-group" "$(stat -c '%a %U %G' "$SOCK")" "660 root itsock"
out=$(urpc ListVms '{}')
check "root on the Unix socket is admin" "${out%% *}" 200
out=$(as 4242 4242 4243 bash -c "urpc CreateVm '{\"vm_id\":\"u-1\",\"config\":$(config)}'")
check "uid 4242 (--unix-user itacme=tenant:acme) creates" "${out%% *}" 200
check "... as tenant acme (SO_PEERCRED, not the body)" "$(sql "SELECT customer_id FROM vms WHERE id='u-1'")" acme
out=$(as 4244 4243 4243 bash -c "urpc GetVmInfo '{\"vm_id\":\"u-1\"}'")
check "uid 4244 (read-only, host-wide) reads" "${out%% *}" 200
out=$(as 4244 4243 4243 bash -c "urpc ShutdownVm '{\"vm_id\":\"u-1\"}'")
check "... but may not change" "$(code "$out")" permission_denied
out=$(urpc CreateVm "{\"vm_id\":\"g-1\",\"config\":$(config)}" -H "Authorization: Bearer $GTOK")
check "a bearer token on the Unix socket wins over the peer uid (root -> globex tenant)" \
        "$(sql "SELECT customer_id FROM vms WHERE id='g-1'")" globex
out=$(as 4242 4242 4243 bash -c "urpc GetVmInfo '{\"vm_id\":\"g-1\"}'")
check "tenant acme over the socket does not see globex's VM" "$(code "$out")" not_found
out=$(as 4245 4245 4243 bash -c "urpc ListVms '{}'")
check "an unmapped uid in the socket group: unauthenticated" "$(code "$out")" unauthenticated
out=$(as 4245 4245 4243 bash -c "urpc ListVms '{}' -H 'Authorization: Bearer $TOK'")
check "... it may use a token instead" "${out%% *}" 200
out=$(as 4245 4245 "" bash -c "urpc ListVms '{}'")
check "a uid outside the socket group cannot connect at all" "${out%% *}" 000
if [ -n "${METALCTL:-}" ]; then
        check_match "metalctl --url unix:PATH (root: admin) lists both tenants' VMs" \
                "$("$METALCTL" --url unix:"$SOCK" list 2>&1 | tr '\n' ' ')" "u-1.*g-1|g-1.*u-1"
        out=$(as 4242 4242 4243 "$METALCTL" --url unix:"$SOCK" list 2>&1)
        check "metalctl over the socket as uid 4242 sees acme's VM, not globex's" \
                "$(grep -c 'u-1' <<<"$out") $(grep -c 'g-1' <<<"$out")" "1 0"
fi
check "TCP still serves beside the socket (needs a token)" \
        "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/ListVms" -d '{}')" 401
stop_clean
check "the socket file is removed at stop" "$([ -e "$SOCK" ] && echo left || echo gone)" gone

# A regular file at the socket path is never replaced.
touch "$SOCK"
out=$(timeout 10 "$METALD" --listen unix:"$SOCK" --data-dir "$DATA" 2>&1); rc=$?
check "a non-socket at the --listen path: refused" "$rc" 1
check_match "... saying so" "$out" "exists and is not a socket"
rm -f "$SOCK"

# Without any authentication configured the socket's mode and group are the guard.
start_metald --listen unix:"$SOCK" || exit 1
out=$(as 4242 4242 "" bash -c "urpc ListVms '{}'")
check "without --socket-group only root's group may connect (uid 4242 cannot)" "${out%% *}" 000
stop_clean

# ---- TLS --------------------------------------------------------------------------------------------------------
C=$T/certs
mkdir -p "$C"
key() { certtool --generate-privkey --key-type=ecdsa --outfile "$C/$1.key" >/dev/null 2>&1; }
ca() {
        key "$1"
        printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 2\n' "$1" >"$C/$1.tmpl"
        certtool --generate-self-signed --load-privkey "$C/$1.key" --template "$C/$1.tmpl" --outfile "$C/$1.pem" >/dev/null 2>&1
}
# cert NAME CN CA KIND(server|client)
cert() {
        key "$1"
        { printf 'cn = "%s"\nexpiration_days = 2\nsigning_key\n' "$2"
          if [ "$4" = server ]; then printf 'dns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nencryption_key\n'
          else printf 'tls_www_client\n'; fi; } >"$C/$1.tmpl"
        certtool --generate-certificate --load-privkey "$C/$1.key" --load-ca-certificate "$C/$3.pem" \
                --load-ca-privkey "$C/$3.key" --template "$C/$1.tmpl" --outfile "$C/$1.pem" >/dev/null 2>&1
}
ca ca
ca rogue
cert server localhost ca server
cert acme acme ca client
cert ops ops ca client
cert evil ops rogue client
for f in ca.pem server.pem acme.pem ops.pem evil.pem; do [ -s "$C/$f" ] || not_ok "certtool made $f"; done

TLS_PORT=8443
TURL=https://127.0.0.1:$TLS_PORT
"$METALD" --listen 127.0.0.1:$TLS_PORT --data-dir "$DATA" --firecracker-binary "$FCSIM" --asset-root "$ASSETS" \
        --request-timeout 10 --tls-cert "$C/server.pem" --tls-key "$C/server.key" --tls-client-ca "$C/ca.pem" \
        --tls-client-map ops=admin --tokens "$T/tokens" >>"$T/metald.log" 2>&1 &
METALD_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null --cacert "$C/ca.pem" "$TURL/healthz" && break; sleep 0.05; done
# trpc CERT METHOD JSON [curl args]: CERT "-" for none.
trpc() {
        local c=$1 m=$2 d=$3
        shift 3
        local certargs=()
        [ "$c" = - ] || certargs=(--cert "$C/$c.pem" --key "$C/$c.key")
        curl -s -w '\n%{http_code}' --cacert "$C/ca.pem" "${certargs[@]}" -X POST "$TURL/vmprovisioner.v1.VmService/$m" \
                -H 'Content-Type: application/json' -d "$d" "$@" |
                { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; }
}
check "TLS: /healthz over https, verified against the CA" "$(curl -s --cacert "$C/ca.pem" "$TURL/healthz")" ok
check "plain HTTP to the TLS port gets no answer" \
        "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TLS_PORT/healthz")" 000
out=$(trpc - ListVms '{}')
check "TLS without a client certificate or token: unauthenticated" "$(code "$out")" unauthenticated
out=$(trpc - ListVms '{}' -H "Authorization: Bearer $TOK")
check "TLS with a token: ok" "${out%% *}" 200
out=$(trpc acme CreateVm "{\"vm_id\":\"tls-1\",\"config\":$(config)}")
check "client certificate CN=acme creates" "${out%% *}" 200
check "... as tenant acme" "$(sql "SELECT customer_id FROM vms WHERE id='tls-1'")" acme
out=$(trpc acme ListVms '{}')
check "CN=acme lists acme's VMs only" "$(jf '[.vms[].vmId] | sort | join(",")' "${out#* }")" "tls-1,u-1"
out=$(trpc acme GetVmInfo '{"vm_id":"g-1"}')
check "CN=acme: globex's VM is not_found" "$(code "$out")" not_found
out=$(trpc ops ListVms '{}')
check "CN=ops (--tls-client-map ops=admin) lists every VM" "$(jf '.vms | length' "${out#* }")" 3
check "CN=ops may read GET /metrics" \
        "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$C/ca.pem" --cert "$C/ops.pem" --key "$C/ops.key" "$TURL/metrics")" 200
# The server's own certificate (same CA, CN=localhost, TLS server purpose only) is no client.
out=$(curl -s -w '\n%{http_code}' --cacert "$C/ca.pem" --cert "$C/server.pem" --key "$C/server.key" -X POST \
        "$TURL/vmprovisioner.v1.VmService/ListVms" -d '{}' | { body=$(cat); echo "${body##*$'\n'} ${body%$'\n'*}"; })
check "a certificate of the same CA without the TLS client purpose: unauthenticated" "$(code "$out")" unauthenticated
out=$(trpc evil ListVms '{}')
check "a certificate from another CA with CN=ops: unauthenticated" "$(code "$out")" unauthenticated
check_match "... saying why" "$(jf .message "${out#* }")" "not signed by --tls-client-ca"
stop_clean

out=$(timeout 10 "$METALD" --listen 127.0.0.1:8444 --data-dir "$DATA" --tls-cert "$C/server.pem" 2>&1); rc=$?
check "--tls-cert without --tls-key: refused" "$rc $out" "2 metald: --tls-cert and --tls-key go together"
out=$(timeout 10 "$METALD" --listen 127.0.0.1:8444 --data-dir "$DATA" --tls-cert "$C/server.pem" --tls-key "$C/acme.key" 2>&1); rc=$?
check "a key that does not match the certificate: refused (exit 1)" "$rc" 1
check_match "... naming TLS" "$out" "TLS certificate and key"

# ---- systemd socket activation with a TCP and a Unix socket ---------------------------------------------------------
systemd-socket-activate -l 127.0.0.1:8090 -l "$T/act.sock" -- "$METALD" --data-dir "$DATA" \
        --firecracker-binary "$FCSIM" --asset-root "$ASSETS" >>"$T/metald.log" 2>&1 &
ACT_PID=$!
for _ in $(seq 1 100); do [ -S "$T/act.sock" ] && break; sleep 0.05; done # bound: connections now wait for metald
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:8090/vmprovisioner.v1.VmService/ListVms -d '{}')
check "socket activation: the TCP socket systemd passed serves" "$st" 200
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --unix-socket "$T/act.sock" -X POST http://x/vmprovisioner.v1.VmService/ListVms -d '{}')
check "socket activation: the Unix socket systemd passed serves too" "$st" 200
check_match "... metald says it took 2 sockets" "$(grep 'socket(s) systemd passed' "$T/metald.log")" "on 2 socket"
kill -TERM $ACT_PID 2>/dev/null
wait $ACT_PID 2>/dev/null

check "no sanitizer report in the log" "$(grep -c -E 'Sanitizer|runtime error' "$T/metald.log")" 0
finish
