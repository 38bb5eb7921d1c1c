#!/bin/bash
# metalctl, the command-line client, against the real metald (with fcsim):
# every lifecycle operation only through metalctl - create from flags and from
# files, boot, pause, resume, reboot, shutdown, delete, info, list with filters
# and pages, history, console (printed and followed), wait, metrics - with the
# outputs and the exit statuses scripts rely on (metalctl(1), EXIT STATUS).
. "$(dirname "$0")/lib.sh"
: "${METALCTL:?path of the metalctl binary}"

# mc ARGS...: run metalctl against the test's metald; sets OUT, ERR and RC.
mc() {
        OUT=$("$METALCTL" --url "$URL" "$@" 2>"$T/stderr")
        RC=$?
        ERR=$(cat "$T/stderr")
}
# check_rc DESCRIPTION WANT_RC [STDERR_REGEX]: the last mc's status (and stderr).
check_rc() {
        check "$1: exit status" "$RC" "$2"
        if [ -n "${3:-}" ]; then check_match "$1: message" "$ERR" "$3"; fi
}
HAS_SOCAT=$(command -v socat >/dev/null && echo 1)
skip() { ok "# skip $*"; }

# ---- metald not running: a connection failure, and usage errors that never try to connect
mc list
check_rc "metald down" 4
check "metald down: says what to do" "$ERR" \
        "metalctl: metald is not reachable at http://127.0.0.1:8080 (connection refused): is it running? set --url or METALD_URL"
check "metald down: nothing on stdout" "$OUT" ""
out=$(METALD_URL=http://127.0.0.1:9 "$METALCTL" info x 2>&1); rc=$?
check "METALD_URL is used" "$rc:$out" \
        "4:metalctl: metald is not reachable at http://127.0.0.1:9 (connection refused): is it running? set --url or METALD_URL"
out=$("$METALCTL" --url "unix:$T/nothing.sock" list 2>&1); rc=$?
check "a missing Unix socket" "$rc:$out" \
        "4:metalctl: metald is not reachable at unix:$T/nothing.sock (no such file or directory): is it running? set --url or METALD_URL"
mc create --vcpus 1 --memory 1.5G --kernel "$ASSETS/vmlinux"
check_rc "bad size: a usage error, metald not contacted" 1 \
        '^metalctl: --memory: "1.5G" is not a size: use a whole number with an optional unit K, M, G or T'
mc create --vcpus 1 --memory 512MB --kernel "$ASSETS/vmlinux"
check_rc "ambiguous unit MB refused" 1 '"512MB" is not a size'
mc create --vcpus 1 --memory 1G --kernel "$ASSETS/vmlinux" --disk "$ASSETS/rootfs.ext4,rx"
check_rc "bad disk option" 1 'unknown option "rx" \(use ro, rw, root or id=NAME'
mc create --memory 1G --kernel "$ASSETS/vmlinux"
check_rc "missing --vcpus" 1 'create: --vcpus is required'
mc create --vcpus 1 --memory 1G --kernel "$ASSETS/vmlinux" --restart-policy sometimes
check_rc "bad restart policy" 1 'is not never, on-failure or always'
mc list --state sleeping
check_rc "bad state" 1 '"sleeping" is not a state \(use created, running'
mc boot
check_rc "boot without a VM" 1 '^metalctl: boot: which VM\?'
mc info a b
check_rc "too many arguments" 1 'too many arguments'
mc frobnicate
check_rc "unknown command" 1 'unknown command "frobnicate"'
mc list --frob
check_rc "unknown option" 1 'list: unknown option --frob \(see metalctl list --help\)'
mc wait x
check_rc "wait without --state" 1 'wait: say which state with --state'
mc --json=yaml list
check_rc "bad --json format" 1 'use --json, --json=pretty or --json=compact'
out=$("$METALCTL" --url ftp://x list 2>&1); rc=$?
check "a URL that cannot work" "$rc:$out" '1:metalctl: --url "ftp://x": use http://HOST:PORT, https://HOST:PORT or unix:/PATH'
"$METALCTL" >/dev/null 2>&1
check "no command: usage error" "$?" 1
out=$("$METALCTL" --help); rc=$?
check "--help exits 0" "$rc" 0
check_match "--help lists the exit statuses" "$out" 'Exit statuses:.*4  metald is not reachable'
out=$("$METALCTL" shutdown --help)
check_match "a command's --help shows its options" "$out" '--timeout SECONDS'
check_match "--version" "$("$METALCTL" --version)" '^metalctl [0-9]+\.[0-9]+\.[0-9]+$'
printf '' >"$T/empty-token"
mc --token-file "$T/empty-token" list
check_rc "an empty token file" 1 'token-file .*: is empty'
mc --token-file "$T/no-such-token" list
check_rc "a missing token file" 1 'No such file or directory'

start_metald || exit 1

# ---- create from flags
mc create --id ctl-1 --vcpus 2 --memory 256M --kernel "$ASSETS/vmlinux" --kernel-args "console=ttyS0 quiet" \
        --disk "$ASSETS/rootfs.ext4,root" --disk "$ASSETS/data.ext4,ro,id=data" --customer acme \
        --metadata team=infra --metadata tier=web --restart-policy never
check_rc "create from flags" 0
check "create prints the id" "$OUT" ctl-1
mc info --json ctl-1
info=$OUT
check "info --json: vcpus" "$(jf .config.cpu.vcpuCount "$info")" 2
check "info --json: memory" "$(jf .config.memory.sizeBytes "$info")" 268435456
check "info --json: kernel args" "$(jf .config.boot.kernelArgs "$info")" "console=ttyS0 quiet"
check "info --json: disks" "$(jf '[.config.storage[] | "\(.id):\(.readonly):\(.isRootDevice)"] | join(" ")' "$info")" \
        "rootfs:false:true data:true:false"
check "info --json: metadata" "$(jf '.config.metadata | "\(.team) \(.tier)"' "$info")" "infra web"
check "info --json: customer, restart policy" "$(jf '"\(.customerId) \(.restartPolicy)"' "$info")" "acme never"
check "info --json is pretty" "$(head -1 <<<"$info")" "{"
mc info ctl-1
check_rc "info" 0
check_match "info: the state" "$OUT" $'\nState: +created\n'
check_match "info: memory in units" "$OUT" $'\nMemory: +256M\n'
check_match "info: the disks" "$OUT" $'Disks: +rootfs [^ ]+/rootfs.ext4 \\(rw, root\\)\n +data [^ ]+/data.ext4 \\(ro\\)\n'
mc create --id ctl-1 --vcpus 2 --memory 256M --kernel "$ASSETS/vmlinux" --kernel-args "console=ttyS0 quiet" \
        --disk "$ASSETS/rootfs.ext4,root" --disk "$ASSETS/data.ext4,ro,id=data" --customer acme \
        --metadata team=infra --metadata tier=web --restart-policy never
check_rc "create again, same config: the same VM" 0
check "create again prints the id" "$OUT" ctl-1
mc create --id ctl-1 --vcpus 1 --memory 256M --kernel "$ASSETS/vmlinux"
check_rc "create again, another config" 2 '^metalctl: already_exists: '
mc create --vcpus 64 --memory 128M --kernel "$ASSETS/vmlinux"
check_rc "metald refuses 64 vCPUs" 2 \
        '^metalctl: invalid_argument: config.cpu.vcpu_count: must be between 1 and 32, got 64$'
mc create --vcpus 1 --memory 128M --kernel /etc/passwd
check_rc "a kernel outside the asset roots" 2 '^metalctl: (invalid_argument|failed_precondition): .*kernel_path'
mc create --vcpus 1 --memory 128M --kernel "$ASSETS/vmlinux" --disk "$ASSETS/rootfs.ext4" --boot
check_rc "create --boot without an id" 0
gen=$OUT
check_match "metald made the id" "$gen" '^vm-[a-z0-9]{26}$'
mc --json=compact info "$gen"
check "created and booted in one call" "$(jf .state "$OUT")" VM_STATE_RUNNING
check "--json=compact is one line" "$(wc -l <<<"$OUT")" 1

# ---- create from files: a VmConfig, a whole CreateVmRequest, stdin
config 2 134217728 >"$T/config.json"
mc create -f "$T/config.json" --id file-1 --customer globex --metadata from=file
check_rc "create -f with a VmConfig" 0
check "create -f prints the id" "$OUT" file-1
mc --json info file-1
check "the file's config is used" "$(jf '"\(.config.cpu.vcpuCount) \(.customerId) \(.config.metadata.from)"' "$OUT")" \
        "2 globex file"
printf '{"vm_id":"file-2","boot":true,"restart_policy":"always","config":%s}\n' "$(config)" >"$T/request.json"
mc create --file "$T/request.json"
check_rc "create -f with a CreateVmRequest" 0
check "it boots as the file says" "$(jf .state "$("$METALCTL" --json info file-2)")" VM_STATE_RUNNING
out=$(config | "$METALCTL" create -f - --id file-3); rc=$?
check "create -f - reads stdin" "$rc:$out" "0:file-3"
mc create -f "$T/config.json" --vcpus 4
check_rc "config flags do not mix with -f" 1 '^metalctl: --vcpus cannot be combined with -f'
printf '{"cpu": {' >"$T/broken.json"
mc create -f "$T/broken.json"
check_rc "a broken file" 1 "^metalctl: -f $T/broken.json:1:[0-9]+: "
mc create -f "$T/missing.json"
check_rc "a missing file" 1 'No such file or directory'
mc create --json=compact -f "$T/config.json" --id file-4
check "create --json prints metald's answer" "$OUT" '{"vmId":"file-4","state":"VM_STATE_CREATED"}'

# ---- the lifecycle
mc boot ctl-1
check "boot" "$RC:$OUT" "0:ctl-1: running"
mc pause ctl-1
check "pause" "$RC:$OUT" "0:ctl-1: paused"
mc resume ctl-1
check "resume" "$RC:$OUT" "0:ctl-1: running"
mc reboot ctl-1
check "reboot" "$RC:$OUT" "0:ctl-1: running"
mc reboot --force ctl-1
check "reboot --force" "$RC:$OUT" "0:ctl-1: running"
mc shutdown --timeout 5 ctl-1
check "shutdown --timeout" "$RC:$OUT" "0:ctl-1: shutdown"
mc pause ctl-1
check_rc "pause a shut down VM" 2 '^metalctl: failed_precondition: vm "ctl-1" '
mc --json=compact boot ctl-1
check "boot --json" "$RC:$OUT" '0:{"success":true,"state":"VM_STATE_RUNNING"}'
mc shutdown --force ctl-1
check "shutdown --force" "$RC:$OUT" "0:ctl-1: shutdown"
mc shutdown --timeout 601 ctl-1
check_rc "shutdown --timeout out of range" 1 'between 0 and 600'
mc boot nope
check_rc "boot an unknown VM" 3 '^metalctl: not_found: vm "nope" not found$'
mc info nope
check_rc "info of an unknown VM" 3 '^metalctl: not_found: vm "nope" not found$'
mc metrics file-2
if [ "$RC" = 8 ]; then # a metald without GetVmMetrics
        check_match "metrics without GetVmMetrics" "$ERR" '^metalctl: not supported by this metald \(no GetVmMetrics\)'
        check "metrics fakes nothing" "$OUT" ""
else
        check_rc "metrics" 0
        check_match "metrics: the table" "$(head -1 <<<"$OUT")" '^AT +CPU% +MEMORY +UPTIME +DISK-READ +DISK-WRITE +NET-RX +NET-TX$'
        mc --json=compact metrics file-2
        check "metrics --json" "$(jf '"\(.vmId) \(.samples | type)"' "$OUT")" "file-2 array"
        mc metrics nope
        check_rc "metrics of an unknown VM" 3 'not_found'
fi

# ---- wait
mc create --id w-1 --vcpus 1 --memory 128M --kernel "$ASSETS/vmlinux"
(sleep 0.5; "$METALCTL" boot w-1 >/dev/null 2>&1) &
bpid=$!
mc wait w-1 --state running --timeout 10
check "wait until running" "$RC:$OUT" "0:w-1: running"
wait $bpid
mc wait w-1 --state paused --timeout 1
check_rc "wait times out" 5 '^metalctl: timed out after 1 s waiting for vm "w-1" to be paused \(it is running\)$'
mc wait w-1 --state paused --state running
check "wait for any of several states" "$RC:$OUT" "0:w-1: running"
mc wait nope --state running
check_rc "wait for an unknown VM" 3 'not_found'
cp "$ASSETS/vmlinux" "$ASSETS/vmlinux-gone"
mc create --id broken --vcpus 1 --memory 128M --kernel "$ASSETS/vmlinux-gone"
rm "$ASSETS/vmlinux-gone"
mc boot broken
check_rc "boot without its kernel" 2 '^metalctl: failed_precondition: .*kernel_path: no such file'
mc wait broken --state running --timeout 5
check_rc "wait on a failed VM" 6 '^metalctl: vm "broken" failed: .*kernel_path: no such file'
mc wait broken --state failed
check "wait for failed itself" "$RC:$OUT" "0:broken: failed"

# ---- list: filters, pages, --all
for i in 1 2 3 4 5; do
        mc create --id "l-$i" --vcpus 1 --memory 128M --kernel "$ASSETS/vmlinux" --customer "$([ $i -le 3 ] && echo initech || echo hooli)"
done
mc boot l-1 >/dev/null; mc boot l-2 >/dev/null; mc pause l-2 >/dev/null
mc list
check_rc "list" 0
check_match "list: the header" "$(head -1 <<<"$OUT")" '^ID +STATE +VCPUS +MEMORY +BACKEND +CUSTOMER +CREATED$'
check_match "list: a row, aligned" "$OUT" $'\nctl-1 +shutdown +2 +256M +firecracker +acme +20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\n'
all=$(sql "SELECT count(*) FROM vms WHERE deleted_at IS NULL")
check "list shows every VM" "$(($(wc -l <<<"$OUT") - 1))" "$all"
mc list --customer initech
check "list --customer" "$(tail -n +2 <<<"$OUT" | awk '{print $1}' | sort | tr '\n' ' ')" "l-1 l-2 l-3 "
mc list --state running --customer initech
check "list --state --customer" "$(tail -n +2 <<<"$OUT" | awk '{print $1 "=" $2}' | tr '\n' ' ')" "l-1=running "
mc list --state running,paused --customer initech --json=compact
check "list --state a,b" "$(jf '[.vms[].vmId] | sort | join(" ")' "$OUT")" "l-1 l-2"
mc list --state running --state paused --customer initech --json=compact
check "list --state repeated" "$(jf '[.vms[].vmId] | sort | join(" ")' "$OUT")" "l-1 l-2"
mc list --page-size 2 --json=compact
check "list follows the pages" "$(jf '.vms | length' "$OUT")" "$all"
check "every VM once" "$(jf '[.vms[].vmId] | unique | length' "$OUT")" "$all"
check "no token left after the last page" "$(jf .nextPageToken "$OUT")" ""
mc list --limit 2 --json=compact
check "list --limit" "$(jf '.vms | length' "$OUT")" 2
tok=$(jf .nextPageToken "$OUT")
check_match "list --limit gives the token to go on" "$tok" '.+'
mc list --page-token "$tok" --json=compact
check "list --page-token goes on" "$(jf '.vms | length' "$OUT")" "$((all - 2))"
mc list --limit 0
check_rc "list --limit 0" 1 'between 1 and'
mc delete l-5
check "delete" "$RC:$OUT" "0:l-5: deleted"
mc delete --force l-1
check "delete --force a running VM" "$RC:$OUT" "0:l-1: deleted"
mc info l-5
check_rc "info after delete" 3 '^metalctl: not_found: vm "l-5" not found$'
mc list --customer hooli
check "list leaves deleted VMs out" "$(tail -n +2 <<<"$OUT" | awk '{print $1}' | tr '\n' ' ')" "l-4 "
mc list --customer hooli --all
check "list --all shows them" "$(tail -n +2 <<<"$OUT" | awk '{print $1 "=" $2}' | sort | tr '\n' ' ')" "l-4=created l-5=deleted "
mc list --state deleted --all --json=compact
check "list --state deleted --all" "$(jf '[.vms[].vmId] | sort | join(" ")' "$OUT")" "l-1 l-5"
mc delete l-5
check_rc "delete twice" 3 'not_found'

# ---- history
n=$(sql "SELECT count(*) FROM vm_events WHERE vm_id='ctl-1'")
mc history ctl-1
check_rc "history" 0
check_match "history: the header" "$(head -1 <<<"$OUT")" '^SEQ +AT +KIND +FROM +TO +GEN +REASON$'
check "history: every event" "$(($(wc -l <<<"$OUT") - 1))" "$n"
check_match "history: the creation first" "$(sed -n 2p <<<"$OUT")" '^ +[0-9]+ +20[0-9-]+T[0-9:]+Z +desired +pending +created +1 +CreateVm$'
mc history --page-size 3 --json=compact ctl-1
check "history follows the pages" "$(jf '.events | length' "$OUT")" "$n"
check "history: in order" "$(jf '[.events[].seq | tonumber] | . == sort' "$OUT")" true
mc history l-5
check_match "history of a deleted VM" "$(tail -1 <<<"$OUT")" ' deleted +[0-9]+ +DeleteVm$| deleted +[0-9]+ '
mc history ghost
check_rc "history of an unknown VM" 3 'not_found'

# ---- console
mc console file-2
check_rc "console" 0
check_match "console shows the boot" "$OUT" 'fcsim: guest booted, id=file-2'
mc console --from-start file-2
check_match "console --from-start starts at the start" "$(head -1 <<<"$OUT")" 'Linux version'
log="$DATA/vms/file-2/console.log"
for i in $(seq 1 2000); do printf 'filler line %05d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n' "$i"; done >>"$log"
mc console file-2
check_match "console shows the last 64K, from a whole line" "$(head -1 <<<"$OUT")" '^filler line [0-9]{5} x{57}$'
check "console ends at the end" "$(tail -1 <<<"$OUT")" "filler line 02000 $(printf 'x%.0s' $(seq 57))"
size=$(printf '%s\n' "$OUT" | wc -c)
if [ "$size" -le 65536 ] && [ "$size" -gt 60000 ]; then ok "console's tail is 64K ($size bytes)"; else not_ok "console's tail is 64K ($size bytes)"; fi
mc console --tail 200 file-2
check "console --tail 200" "$(wc -l <<<"$OUT")" 2
mc console --tail 0 file-2
check "console --tail 0: nothing old" "$RC:$OUT" "0:"
mc console --from-start --tail 1K file-2
check_rc "--from-start with --tail" 1 'cannot be combined'
mc console nope
check_rc "console of an unknown VM" 3 'not_found'
# A log of almost 4 MiB: its end is found without reading it all, and
# --from-start reads it chunk after chunk.
big="$DATA/vms/file-3/console.log"
seq -f 'big line %07g ..................................................' 1 60000 >"$big"
mc console --tail 100 file-3
check "console finds the end of a 4 MiB log" "$OUT" "big line 0060000 .................................................."
mc console --from-start file-3
check "console --from-start reads all of it" "$(printf '%s\n' "$OUT" | cmp - "$big" && echo same)" same

# --foreground: one SIGTERM, no SIGCONT after it (a SIGCONT can cancel the
# SIGSTOP with which LeakSanitizer stops the process at exit, in ASan builds).
timeout --foreground 3 "$METALCTL" console -f --tail 0 file-2 >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
sleep 1
printf 'hello from the test\n' >>"$log"
wait $fpid
check "console -f runs until stopped (timeout's status)" "$?" 124
check "console -f prints new output" "$(cat "$T/follow.out")" "hello from the test"
timeout --foreground 10 "$METALCTL" console -f --tail 0 file-2 >"$T/follow2.out" 2>"$T/follow2.err" &
fpid=$!
sleep 0.5
mc delete --force file-2
wait $fpid
check "console -f ends when the VM is deleted" "$?" 0
check_match "and says so" "$(cat "$T/follow2.err")" 'vm "file-2" is gone'

# ---- token, headers and a Unix socket (through socat, when there is one)
out=$(METALD_TOKEN=s3cret "$METALCTL" --url "$URL" list 2>&1); rc=$?
check "METALD_TOKEN is accepted" "$rc" 0
printf 'from-file\n' >"$T/token"
mc --token-file "$T/token" list
check "--token-file is accepted" "$RC" 0
if [ -n "$HAS_SOCAT" ]; then
        socat -v TCP-LISTEN:8081,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$PORT" 2>"$T/socat.log" &
        spid=$!
        socat UNIX-LISTEN:"$T/metald.sock",fork TCP:127.0.0.1:"$PORT" &
        upid=$!
        for _ in $(seq 1 50); do [ -S "$T/metald.sock" ] && break; sleep 0.05; done
        sleep 0.2
        out=$("$METALCTL" --url http://127.0.0.1:8081 --token-file "$T/token" info ctl-1 2>&1); rc=$?
        check "through a proxy" "$rc" 0
        check_match "sends the bearer token" "$(cat "$T/socat.log")" 'Authorization: Bearer from-file'
        check_match "sends Connect-Protocol-Version" "$(cat "$T/socat.log")" 'Connect-Protocol-Version: 1'
        check_match "sends JSON" "$(cat "$T/socat.log")" 'POST /vmprovisioner.v1.VmService/GetVmInfo HTTP/1.1.*Content-Type: application/json'
        out=$("$METALCTL" --url "unix:$T/metald.sock" --json=compact info ctl-1 2>&1); rc=$?
        check "over a Unix socket" "$rc:$(jf .vmId "$out")" "0:ctl-1"
        kill "$spid" "$upid" 2>/dev/null; wait "$spid" "$upid" 2>/dev/null
        # Something that accepts and never answers: the request timeout.
        socat TCP-LISTEN:8082,bind=127.0.0.1,reuseaddr SYSTEM:'sleep 10' &
        spid=$!
        sleep 0.2
        out=$("$METALCTL" --url http://127.0.0.1:8082 --request-timeout 1 list 2>&1); rc=$?
        check "no answer in time" "$rc:$out" \
                "5:metalctl: metald at http://127.0.0.1:8082 did not answer within 1 s; the request may still be carried out (check with info; raise --request-timeout)"
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        # Something that is not metald.
        cat >"$T/not-metald.sh" <<'SH'
timeout 0.3 cat >/dev/null
printf 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'
SH
        socat TCP-LISTEN:8083,bind=127.0.0.1,reuseaddr EXEC:"sh $T/not-metald.sh" &
        spid=$!
        sleep 0.2
        out=$("$METALCTL" --url http://127.0.0.1:8083 list 2>&1); rc=$?
        check "an answer that is not metald's" "$rc:$out" \
                "4:metalctl: the answer of http://127.0.0.1:8083 is not a JSON object: is --url pointing at metald?"
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        # A metald without GetVmMetrics answers 404 unimplemented (or a bare 404).
        cat >"$T/old-metald.sh" <<'SH'
timeout 0.3 cat >/dev/null
body='{"code":"unimplemented","message":"unknown method /vmprovisioner.v1.VmService/GetVmMetrics"}'
printf 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
SH
        socat TCP-LISTEN:8084,bind=127.0.0.1,reuseaddr,fork EXEC:"sh $T/old-metald.sh" &
        spid=$!
        sleep 0.2
        out=$("$METALCTL" --url http://127.0.0.1:8084 metrics ctl-1 2>&1); rc=$?
        check "metrics on a metald without GetVmMetrics" "$rc:$out" \
                "8:metalctl: not supported by this metald (no GetVmMetrics): upgrade metald for VM metrics"
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        printf 'timeout 0.3 cat >/dev/null\nprintf "HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n"\n' >"$T/bare-404.sh"
        socat TCP-LISTEN:8085,bind=127.0.0.1,reuseaddr,fork EXEC:"sh $T/bare-404.sh" &
        spid=$!
        sleep 0.2
        out=$("$METALCTL" --url http://127.0.0.1:8085 metrics ctl-1 2>&1); rc=$?
        check_match "metrics on a bare 404" "$rc:$out" '^8:metalctl: not supported by this metald \(no GetVmMetrics\)'
        out=$("$METALCTL" --url http://127.0.0.1:8085 info ctl-1 2>&1); rc=$?
        check "a bare 404 elsewhere" "$rc:$out" \
                "8:metalctl: unimplemented: HTTP 404 from http://127.0.0.1:8085 without a Connect error: is --url pointing at metald?"
        kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
else
        skip "socat is not installed: headers, Unix socket, request timeout"
fi

# ---- bash completion
comp() { # comp LINE: what completing at its end offers
        (
                . "$(dirname "$0")/../../tools/metalctl/metalctl.bash-completion"
                COMP_LINE="$1" COMP_POINT=${#1}
                _metalctl
                [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
        )
}
check "completion: commands" "$(comp "metalctl re")" "reboot resume "
check "completion: options" "$(comp "metalctl shutdown --")" "--force --help --json --request-timeout --timeout --token-file --url --version "
check "completion: states" "$(comp "metalctl list --state p")" "paused "
check "completion: VM ids from metald" "$(comp "$METALCTL info ctl")" "ctl-1 "
check "completion: deleted VMs for history" "$(comp "$METALCTL history l-")" "l-1 l-2 l-3 l-4 l-5 "
check "completion: nothing after the VM" "$(comp "$METALCTL info ctl-1 ")" ""

# ---- metald gone again
stop_metald
mc info ctl-1
check_rc "metald stopped" 4 '^metalctl: metald is not reachable at http://127.0.0.1:8080 \(connection refused\)'
finish
