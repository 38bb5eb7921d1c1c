#!/bin/bash
# metald holding more than FD_SETSIZE (1024) descriptors, as it does with a
# thousand VMs (a pidfd per VMM): its listening socket and its connections
# get numbers above 1024, and the HTTP server must still start and answer
# (libmicrohttpd with select() refuses such a listening socket and closes
# such connections; metald uses poll()). The descriptors are inherited here
# instead of coming from VMMs, which gives the same numbers in a second.
. "$(dirname "$0")/lib.sh"
ulimit -n 4096
# metald started with 1,100 more open descriptors, inherited (python3 opens them).
cat >"$T/metald-wrap" <<EOF2
#!/bin/sh
exec python3 -c 'import os, sys
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
for f in fds: os.set_inheritable(f, True)
os.execv(sys.argv[1], sys.argv[1:])' "$METALD" "\$@"
EOF2
chmod +x "$T/metald-wrap"
METALD=$T/metald-wrap start_metald || exit 1
lfd=$(for f in /proc/$METALD_PID/fd/*; do [[ $(readlink "$f") == socket:* ]] && basename "$f"; done | sort -n | head -1)
check_match "metald's first socket is above FD_SETSIZE" "$lfd" '^(1[1-9][0-9][0-9]|[2-9][0-9]{3})$'
check "CreateVm answers" "$(rpc CreateVm "{\"vm_id\":\"fd1\",\"config\":$(config)}" | cut -d' ' -f1)" 200
check "BootVm answers" "$(rpc BootVm '{"vm_id":"fd1"}' | cut -d' ' -f1)" 200
check "GetVmInfo answers" "$(rpc GetVmInfo '{"vm_id":"fd1"}' | cut -d' ' -f1)" 200
check "DeleteVm answers" "$(rpc DeleteVm '{"vm_id":"fd1"}' | cut -d' ' -f1)" 200
finish
