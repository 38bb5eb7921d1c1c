#!/bin/bash
# The hostile-request table (hostile-table.py, over 100 rows): every row gets
# its clear Connect error (or, refused by the HTTP layer, its status), the
# database is unchanged around each, and metald keeps answering.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/outside" "$ASSETS/subdir" "${ASSETS}-evil"
printf 'k\n' > "$T/outside/vmlinux"
printf 'k\n' > "${ASSETS}-evil/vmlinux"
ln -s "$T/outside/vmlinux" "$ASSETS/escape"
ln -s "$ASSETS/escape" "$ASSETS/escape2"
ln -s "$T/outside" "$ASSETS/outlink"
ln -s /dev/zero "$ASSETS/zero"
mkfifo "$ASSETS/fifo"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$ASSETS/sock"
start_metald || exit 1
out=$(rpc CreateVm "{\"vm_id\":\"base\",\"config\":$(config)}")
check "base VM created" "${out%% *}" 200
out=$(rpc CreateVm "{\"vm_id\":\"up\",\"boot\":true,\"config\":$(config)}")
check "running VM created" "$(jf .state "${out#* }")" VM_STATE_RUNNING
if python3 "$(dirname "$0")/hostile-table.py" "$URL" "$DATA/metald.db" "$ASSETS" "$T/outside"; then
        ok "hostile table"
else
        not_ok "hostile table"
fi
kill -0 "$METALD_PID" 2>/dev/null && ok "metald still running" || not_ok "metald died"
stop_metald && ok "metald stops cleanly (exit 0)" || not_ok "metald did not stop cleanly"
finish
