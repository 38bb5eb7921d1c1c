#!/bin/bash
# Database contention from outside metald: a long read transaction does not
# stop writes or reads (WAL); a writer holding the lock (BEGIN IMMEDIATE)
# makes writes wait at most the busy timeout (10 s) and then answer
# unavailable, never hang, while reads keep answering promptly. Afterwards
# everything works again.
. "$(dirname "$0")/lib.sh"
start_metald || exit 1
out=$(rpc CreateVm "{\"vm_id\":\"base\",\"config\":$(config)}")
check "base VM created" "${out%% *}" 200
DB=$DATA/metald.db

# hold MODE SECONDS: an external sqlite connection holding a transaction.
hold() {
        python3 - "$DB" "$1" "$2" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=1)
if sys.argv[2] == "read":
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM vms").fetchone()  # the read snapshot is taken here
else:
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE vms SET customer_id = customer_id WHERE 0")
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
db.execute("ROLLBACK")
PY
        HOLDER=$!
        sleep 0.5
}
ms() { date +%s%3N; }

# A long reader: writes and reads go on.
hold read 6
t0=$(ms); out=$(rpc CreateVm "{\"vm_id\":\"during-read\",\"config\":$(config)}"); t1=$(ms)
check "CreateVm during a long read transaction" "${out%% *}" 200
check_match "... promptly ($((t1 - t0)) ms)" "$((t1 - t0))" '^[0-9]{1,4}$'
out=$(rpc GetVmInfo '{"vm_id":"during-read"}')
check "GetVmInfo during a long read transaction" "${out%% *}" 200
wait $HOLDER

# A writer holding the lock for longer than the busy timeout.
hold write 16
t0=$(ms); out=$(curl -s -m 30 -X POST "$URL/vmprovisioner.v1.VmService/CreateVm" -H 'Content-Type: application/json' \
        -d "{\"vm_id\":\"blocked\",\"config\":$(config)}" -w '\n%{http_code}'); t1=$(ms)
body=${out%$'\n'*}
check "CreateVm while another writer holds the lock: unavailable" "$(jf .code "$body")" unavailable
check_match "... the message says the database is busy" "$(jf .message "$body")" 'busy'
waited=$((t1 - t0))
[ "$waited" -ge 9000 ] && [ "$waited" -le 13000 ] && ok "... after the busy timeout, bounded ($waited ms)" ||
        not_ok "... waited $waited ms, want about 10000"
t0=$(ms); out=$(rpc GetVmInfo '{"vm_id":"base"}'); t1=$(ms)
check "GetVmInfo while the lock is held" "${out%% *}" 200
[ $((t1 - t0)) -lt 1000 ] && ok "... promptly ($((t1 - t0)) ms)" || not_ok "... took $((t1 - t0)) ms"
out=$(rpc ListVms '{}')
check "ListVms while the lock is held" "${out%% *}" 200
out=$(rpc GetVmInfo '{"vm_id":"blocked"}')
check "the refused VM was not created" "$(jf .code "${out#* }")" not_found
wait $HOLDER

out=$(rpc CreateVm "{\"vm_id\":\"after\",\"config\":$(config)}")
check "writes work once the lock is released" "${out%% *}" 200
kill -0 "$METALD_PID" && ok "metald up" || not_ok "metald died"
stop_metald && ok "metald stops cleanly" || not_ok "metald did not stop cleanly"
check "PRAGMA integrity_check" "$(sql 'PRAGMA integrity_check')" ok
finish
