#!/bin/bash
# The crash-point campaign: a seeded workload over many VMs from several
# clients in parallel, while metald is killed with SIGKILL over and over, at
# random instants (`kill -9` after a random delay) and at every named crash
# point of src/util/crash-point.c (METALD_CRASH_AT=<point>:<n>), and restarted.
#
# Whenever metald is dead the database is frozen, and we check it against the
# journal of every request and answer (tests/crash/journal.awk states the
# rule): no acknowledged request is lost, the desired state of each VM is one
# the answers allow; the database is intact; the event table is consistent;
# at most one VMM per VM, none for VMs stopped or deleted, no run directory of
# a deleted VM. At the end, after the system settles: every VM converges to
# its desired state, exactly one VMM for each running or paused VM and none
# for the others, no orphan run directory, and the same once more after a
# last kill -9.
#
#   SEED=<n>             reproduce a run (the seed is printed first): the same
#                        plans and requests; the timing of the machine still varies
#   CRASH_SLOTS=10       VM slots (each slot's VM may be deleted and created anew)
#   CRASH_CLIENTS=4      clients in parallel
#   CRASH_MIN_KILLS=80   kills per run (at least 50 are required)
#   CRASH_BUDGET_S=150   the workload stops after this long even with fewer kills
. "$(dirname "$0")/../integration/lib.sh"
export LC_ALL=C

SEED=${SEED:-$(((RANDOM << 15 | RANDOM) % 1000000000))}
echo "seed=$SEED"
SLOTS=${CRASH_SLOTS:-10}
CLIENTS=${CRASH_CLIENTS:-4}
MIN_KILLS=${CRASH_MIN_KILLS:-80}
BUDGET=${CRASH_BUDGET_S:-150}
REQUIRED_KILLS=50
MAX_INC=5            # incarnations per slot (vm-s<slot>-i<1..MAX_INC>)
EXTERNAL_PCT=35      # share of plain kill -9 among the kills
CRASH_WAIT_MS=4000   # how long a crash point may take to be reached
SETTLE_S=45          # how long VMs may take to converge at the end
SRC=$(cd "$(dirname "$0")/../.." && pwd)
AWK_RULE=$SRC/tests/crash/journal.awk
JDIR=$T/journal
CUR=$T/current
STOP=$T/stop
mkdir -p "$JDIR" "$CUR"
# Every VM has an interface on one network: its address, MAC and TAP are
# allocated in the CreateVm transaction and freed with the deletion, so the
# campaign also proves no address is handed out twice and none leaks.
CONFIG=$(config | jq -c '.network=[{"network":"crashnet"}]')
# This namespace's own sysfs: fcsim looks for the TAPs in /sys/class/net.
mount -t sysfs sysfs /sys
# Slow the guest down a little, so that kills land mid-boot and mid-shutdown.
export FCSIM_BOOT_DELAY_MS=40 FCSIM_SHUTDOWN_DELAY_MS=200

# The crash points, from the list the daemon itself keeps.
mapfile -t POINTS < <(sed -n '/crash_points\[\] = {/,/NULL/p' "$SRC/src/util/crash-point.c" |
        grep -o '^ *"[a-z0-9-]*"' | tr -d ' "')
if [ ${#POINTS[@]} -eq 0 ]; then
        not_ok "no crash points found in src/util/crash-point.c"
        finish
        exit 1
fi
declare -A FIRED=() ARMED=()
for p in "${POINTS[@]}"; do FIRED[$p]=0 ARMED[$p]=0; done

# One row per problem: a duplicate address, a live VM without its interface,
# an interface of a VM that is deleted or unknown.
NICS_SQL="SELECT 'duplicate ' || network || ' ' || ipv4 FROM vm_nics GROUP BY network, ipv4 HAVING count(*) > 1
UNION ALL SELECT 'no interface for ' || id FROM vms WHERE observed_state != 'deleted'
        AND id NOT IN (SELECT vm_id FROM vm_nics)
UNION ALL SELECT 'interface of deleted or unknown ' || vm_id FROM vm_nics
        WHERE vm_id NOT IN (SELECT id FROM vms WHERE observed_state != 'deleted')"

# ---- the daemon ------------------------------------------------------------------

log_crashes() { grep -c 'crash point reached' "$T/metald.log" 2>/dev/null || true; }

# alive PID: the process exists and is not a zombie.
alive() {
        local st
        { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
        st=${st##*) }
        [ "${st%% *}" != Z ]
}

# launch [CRASH_SPEC]: start metald (as lib.sh's start_metald does), armed
# with a crash point if given. Does not wait for it to answer. A wrapper
# subshell waits for it and keeps its exit status (and keeps bash's "Killed"
# job notices out of the output).
launch() {
        CRASHES_BEFORE=$(log_crashes)
        rm -f "$T/metald.pid" "$T/metald.rc"
        (
                METALD_CRASH_AT=${1:-} "$METALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
                        --firecracker-binary "$FCSIM" --asset-root "$ASSETS" --request-timeout 10 \
                        --network name=crashnet,subnet=10.77.0.0/16 \
                        --resync-interval 200 >>"$T/metald.log" 2>&1 &
                echo $! >"$T/metald.pid.tmp"
                mv "$T/metald.pid.tmp" "$T/metald.pid"
                wait $!
                echo $? >"$T/metald.rc"
        ) 2>/dev/null &
        WRAPPER_PID=$!
        for _ in $(seq 1 200); do
                [ -s "$T/metald.pid" ] && break
                sleep 0.01
        done
        METALD_PID=$(cat "$T/metald.pid")
}

# wait_up: 0 once metald answers, 1 if it died first, 2 after 5 s.
wait_up() {
        local i
        for i in $(seq 1 100); do
                curl -s -o /dev/null -m 1 "$URL/" && return 0
                alive "$METALD_PID" || return 1
                sleep 0.05
        done
        return 2
}

# reap: wait for the dead metald, set DIED_RC (137: SIGKILL).
reap() {
        wait "$WRAPPER_PID" 2>/dev/null
        DIED_RC=$(cat "$T/metald.rc" 2>/dev/null || echo unknown)
        METALD_PID=
}

# kill9: kill -9 metald and reap it.
kill9() {
        kill -9 "$METALD_PID" 2>/dev/null
        reap
}

# ---- observing the world ------------------------------------------------------------

# vmm_scan: "<vm_id> <pid>" for each live (not zombie) process whose command
# line holds a VM's API socket $DATA/vms/<id>/api.sock.
vmm_scan() {
        local line pid id
        grep -s -a -o "$DATA/vms/[^/]*/api\.sock" /proc/[0-9]*/cmdline | sort -u |
                while IFS= read -r line; do
                        pid=${line#/proc/}
                        pid=${pid%%/*}
                        id=${line#*:"$DATA"/vms/}
                        id=${id%/api.sock}
                        alive "$pid" && echo "$id $pid"
                done
}

# Violations of the event table, one line each (empty when consistent). What
# the store guarantees (store_vm_observe / store_vm_update_desired write the
# row and its event in one transaction, reading the old value in it):
# - "observed" events chain: the first leaves 'pending', each one's from_state
#   is the previous one's to_state, from != to, nothing follows 'deleted'.
# - "desired" events chain the same way, generations 1, 2, 3, ... (every
#   desired change bumps it), nothing follows 'deleted'.
# - the row agrees with its last events (observed_state, desired_state,
#   generation), and desired_state = 'deleted' exactly when deleted_at is set.
# "error" events carry from/to too but are not transitions: no chain for them.
EVENTS_SQL="
WITH o AS (SELECT vm_id, seq, from_state, to_state,
                  LAG(to_state) OVER (PARTITION BY vm_id ORDER BY seq) AS prev
           FROM vm_events WHERE kind = 'observed')
SELECT 'observed event ' || seq || ' of ' || vm_id || ': ' || from_state || '>' || to_state ||
       ' after ' || COALESCE(prev, '(none)')
FROM o WHERE from_state != COALESCE(prev, 'pending') OR from_state = to_state OR prev = 'deleted';
WITH d AS (SELECT vm_id, seq, from_state, to_state, generation,
                  LAG(to_state) OVER w AS prev, LAG(generation) OVER w AS pgen
           FROM vm_events WHERE kind = 'desired' WINDOW w AS (PARTITION BY vm_id ORDER BY seq))
SELECT 'desired event ' || seq || ' of ' || vm_id || ': ' || from_state || '>' || to_state ||
       ' generation ' || generation || ' after ' || COALESCE(prev, '(none)') || ' generation ' ||
       COALESCE(pgen, 0)
FROM d WHERE from_state != COALESCE(prev, 'pending') OR generation != COALESCE(pgen, 0) + 1
          OR prev = 'deleted';
SELECT 'row ' || id || ' (' || desired_state || '/' || observed_state || ' generation ' || generation ||
       ') disagrees with its events'
FROM vms v WHERE
  observed_state != COALESCE((SELECT to_state FROM vm_events e WHERE e.vm_id = v.id AND kind = 'observed'
                              ORDER BY seq DESC LIMIT 1), 'pending')
  OR desired_state IS NOT (SELECT to_state FROM vm_events e WHERE e.vm_id = v.id AND kind = 'desired'
                           ORDER BY seq DESC LIMIT 1)
  OR generation IS NOT (SELECT generation FROM vm_events e WHERE e.vm_id = v.id AND kind = 'desired'
                        ORDER BY seq DESC LIMIT 1)
  OR (desired_state = 'deleted') != (deleted_at IS NOT NULL);"

# journal_check: run the durability rule; sets RULE_OUT (violation and bad
# answer lines) and RULE_STAT.
journal_check() {
        local out
        out=$( {
                sqlite3 -readonly -separator $'\t' "$DATA/metald.db" \
                        "SELECT 'V', id, desired_state, observed_state, deleted_at IS NOT NULL FROM vms"
                cat "$JDIR"/c*.tsv 2>/dev/null
        } | awk -f "$AWK_RULE")
        RULE_OUT=$(grep -E $'^(X|A)\t' <<<"$out")
        RULE_STAT=$(grep $'^STAT\t' <<<"$out" | cut -f2- | tr '\t' ' ')
        RULE_CODES=$(grep $'^CODE\t' <<<"$out" | cut -f2- | sort)
}

# frozen_check: what must hold at any instant, checked while metald is dead
# (nothing moves). Sets PROBLEMS (one line each) and BAD_VMS.
frozen_check() {
        PROBLEMS=
        BAD_VMS=
        local integ ev line id pid obs
        integ=$(sqlite3 -readonly "$DATA/metald.db" 'PRAGMA integrity_check' 2>&1)
        [ "$integ" = ok ] || PROBLEMS+="integrity_check: $integ"$'\n'
        journal_check
        if [ -n "$RULE_OUT" ]; then
                PROBLEMS+="$RULE_OUT"$'\n'
                BAD_VMS+=" $(cut -f2 <<<"$RULE_OUT" | tr '\n' ' ')"
        fi
        ev=$(sqlite3 -readonly "$DATA/metald.db" "$EVENTS_SQL" 2>&1)
        [ -z "$ev" ] || PROBLEMS+="events: $ev"$'\n'
        # VMMs: at most one per VM; none for a VM whose observed state says
        # nothing runs (intent is committed before a spawn, and a stop or a
        # delete is committed after the VMM is gone); none for unknown VMs.
        declare -A obs_of=() n_vmm=()
        while IFS='|' read -r id obs; do obs_of[$id]=$obs; done < <(sql "SELECT id, observed_state FROM vms")
        while read -r id pid; do
                [ -n "$id" ] || continue
                n_vmm[$id]=$((${n_vmm[$id]:-0} + 1))
                obs=${obs_of[$id]:-}
                case "$obs" in
                "") PROBLEMS+="VMM pid $pid runs for $id, a VM the database does not know"$'\n' BAD_VMS+=" $id" ;;
                pending | creating | created | shutdown | deleted)
                        PROBLEMS+="VMM pid $pid runs for $id, observed $obs: nothing should run"$'\n' BAD_VMS+=" $id" ;;
                esac
        done < <(vmm_scan)
        for id in "${!n_vmm[@]}"; do
                [ "${n_vmm[$id]}" -le 1 ] || { PROBLEMS+="$id has ${n_vmm[$id]} VMMs"$'\n' BAD_VMS+=" $id"; }
        done
        # Addresses: never one twice on a network; exactly one interface for
        # every VM not yet observed deleted, none for the others; no TAP left
        # over from a VM whose deletion was committed (TAPs go first).
        line=$(sqlite3 -readonly "$DATA/metald.db" "$NICS_SQL" 2>&1)
        [ -z "$line" ] || PROBLEMS+="addresses: $(tr '\n' ' ' <<<"$line")"$'\n'
        local taps
        taps=$(sqlite3 -readonly "$DATA/metald.db" "SELECT tap FROM vm_nics" 2>/dev/null | sort)
        while read -r id; do
                [ -n "$id" ] || continue
                grep -qx "$id" <<<"$taps" || PROBLEMS+="TAP $id exists but no allocation names it"$'\n'
        done < <(ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \(mdt[0-9a-f]*\)[:@].*/\1/p')
        # Run directories: none for a VM observed deleted (removed before that
        # is committed), none for a VM the database does not know.
        for d in "$DATA"/vms/*/; do
                [ -d "$d" ] || continue
                id=$(basename "$d")
                obs=${obs_of[$id]:-}
                if [ -z "$obs" ] || [ "$obs" = deleted ]; then
                        PROBLEMS+="orphan run directory vms/$id (observed: ${obs:-no row})"$'\n' BAD_VMS+=" $id"
                fi
        done
}

# Print what helps to debug a VM: its story from vm_history, and its requests.
vm_context() {
        local id=$1
        echo "# --- $id: vm_history ---"
        sql "SELECT seq, at_utc, kind, from_state, to_state, generation, reason FROM vm_history
             WHERE vm_id = '$id'" | tail -30 | sed 's/^/#   /'
        echo "# --- $id: requests (client seq verb target note start end curl http body) ---"
        cat "$JDIR"/c*.tsv | awk -F'\t' -v id="$id" '
                $5 != id { next }
                $1 == "S" { s[$2 "\t" $3] = $0 }
                $1 == "E" { delete s[$2 "\t" $3]; print }
                END { for (k in s) print s[k] "\tin flight" }' |
                sort -t$'\t' -k8,8n | cut -f2-4,6- | tail -20 | sed 's/^/#   /'
}

report_problems() {
        local shown=0 id
        sed '/^$/d; s/^/#   /' <<<"$PROBLEMS" | head -30
        for id in $(tr ' ' '\n' <<<"$BAD_VMS" | sort -u); do
                if [ -z "$id" ] || ! grep -qF -- "$id" <<<"$PROBLEMS"; then continue; fi
                shown=$((shown + 1))
                [ $shown -le 4 ] || break
                vm_context "$id"
        done
}

# ---- the workload -------------------------------------------------------------------

# send VERB VM TARGET NOTE JSON: one request, journaled before ("S") and after
# ("E"); sets R_RC (curl's exit code; 7 = no connection), R_CODE, R_BODY.
send() {
        seq=$((seq + 1))
        local t0=${EPOCHREALTIME/./} t1 out
        printf 'S\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$me" "$seq" "$1" "$2" "$3" "$4" "$t0" >>"$J"
        out=$(curl -s -m 30 -w '\n%{http_code}' -X POST "$URL/vmprovisioner.v1.VmService/$1" \
                -H 'Content-Type: application/json' -d "$5")
        R_RC=$?
        t1=${EPOCHREALTIME/./}
        R_CODE=${out##*$'\n'}
        R_BODY=
        [[ "$out" == *$'\n'* ]] && R_BODY=${out%$'\n'*}
        R_BODY=${R_BODY//[$'\t\r\n']/ }
        printf 'E\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$me" "$seq" "$1" "$2" "$3" "$4" \
                "$t0" "$t1" "$R_RC" "$R_CODE" "$R_BODY" >>"$J"
}

# client N: one client of the workload, in the background. It owns the slots
# s with s % CLIENTS == N: it alone creates and deletes their VMs (ids
# vm-s<slot>-i<incarnation>, published in $CUR/<slot> once CreateVm is
# acknowledged), and it sends lifecycle calls to its own VMs and to the others'
# (so requests on one VM do overlap). Random but seeded.
client() {
        me=$1
        J=$JDIR/c$me.tsv
        seq=0
        RANDOM=$((SEED % 100003 * 64 + me))
        local ops=0 slot owner vm verb tgt note json r boolv
        local -a own=() inc=() need=() bootf=() pdel=() tries=()
        for ((slot = me; slot < SLOTS; slot += CLIENTS)); do
                own+=("$slot")
                inc[slot]=1 need[slot]=1 bootf[slot]=-1 pdel[slot]=0 tries[slot]=0
        done
        while [ ! -e "$STOP" ] && ((ops < 20000 && EPOCHSECONDS < CLIENT_DEADLINE)); do
                ops=$((ops + 1))
                owner=0
                if ((${#own[@]} > 0 && RANDOM % 100 < 65)); then
                        slot=${own[RANDOM % ${#own[@]}]}
                        owner=1
                else
                        slot=$((RANDOM % SLOTS))
                        ((slot % CLIENTS == me)) && owner=1
                fi
                ((owner && inc[slot] > MAX_INC)) && owner=0 # retired slot
                if ((owner && need[slot])); then
                        vm=vm-s$slot-i${inc[slot]}
                        note=retry
                        if ((bootf[slot] < 0)); then
                                bootf[slot]=$((RANDOM % 2))
                                note=first
                        fi
                        tgt=created boolv=false
                        ((bootf[slot])) && tgt=running boolv=true
                        send CreateVm "$vm" "$tgt" "$note" "{\"vm_id\":\"$vm\",\"boot\":$boolv,\"config\":$CONFIG}"
                        tries[slot]=$((tries[slot] + 1))
                        if [[ "$R_CODE" == 2* ]]; then
                                need[slot]=0 bootf[slot]=-1 tries[slot]=0
                                printf '%s\n' "$vm" >"$CUR/$slot"
                        elif [[ "$R_CODE" == 4* ]] || ((tries[slot] >= 30)); then
                                need[slot]=1 bootf[slot]=-1 tries[slot]=0 inc[slot]=$((inc[slot] + 1))
                        fi
                else
                        if ((owner)); then
                                vm=vm-s$slot-i${inc[slot]}
                        else
                                vm=
                                [ -s "$CUR/$slot" ] && read -r vm <"$CUR/$slot"
                                if [ -z "$vm" ]; then
                                        sleep 0.02
                                        continue
                                fi
                        fi
                        json="{\"vm_id\":\"$vm\"}" note=-
                        r=$((RANDOM % 100))
                        if ((owner && !pdel[slot] && RANDOM % 100 < 12)); then
                                # A race on one VM: a reboot (or boot) in the background, and
                                # while it runs a shutdown or delete of the same VM.
                                verb=RebootVm
                                ((RANDOM % 3 == 0)) && verb=BootVm
                                (send "$verb" "$vm" running race "$json") &
                                seq=$((seq + 1)) # the number the background send used
                                r=$((RANDOM % 230 + 20))
                                printf -v r '%03d' "$r"
                                sleep "0.$r"
                                r=$((RANDOM % 100 < 95 ? 80 : 99))
                        fi
                        if ((owner && pdel[slot])); then
                                verb=DeleteVm tgt=deleted note=retry
                        elif ((r < 24)); then
                                verb=BootVm tgt=running
                        elif ((r < 38)); then
                                verb=PauseVm tgt=paused
                        elif ((r < 52)); then
                                verb=ResumeVm tgt=running
                        elif ((r < 64)); then
                                verb=RebootVm tgt=running
                                if ((RANDOM % 4 == 0)); then
                                        json="{\"vm_id\":\"$vm\",\"force\":true}" note=force
                                fi
                        elif ((r < 99 || !owner)); then
                                verb=ShutdownVm tgt=shutdown
                                case $((RANDOM % 3)) in
                                0) json="{\"vm_id\":\"$vm\",\"force\":true}" note=force ;;
                                1) json="{\"vm_id\":\"$vm\",\"timeout_seconds\":$((RANDOM % 3 + 1))}" note=timeout ;;
                                *) note=graceful ;;
                                esac
                        else
                                verb=DeleteVm tgt=deleted
                        fi
                        send "$verb" "$vm" "$tgt" "$note" "$json"
                        wait # for a racing request, if any
                        if [ "$verb" = DeleteVm ]; then
                                if [[ "$R_CODE" == 2* || "$R_CODE" == 404 ]]; then
                                        pdel[slot]=0 need[slot]=1 inc[slot]=$((inc[slot] + 1))
                                else
                                        pdel[slot]=1
                                fi
                        fi
                fi
                # Think time: 20-210 ms (100 ms while metald is down).
                r=$((RANDOM % 20 + 2))
                ((R_RC == 7)) && r=10
                printf -v r '%02d' "$r"
                sleep "0.$r"
        done
}

# ---- the campaign --------------------------------------------------------------------

echo "# $SLOTS VM slots, $CLIENTS clients, crash points: ${POINTS[*]}"
T_START=$EPOCHSECONDS
CLIENT_DEADLINE=$((T_START + BUDGET + 60))
launch
if ! wait_up; then
        not_ok "metald starts"
        finish
        exit 1
fi
CLIENT_PIDS=()
for ((c = 0; c < CLIENTS; c++)); do
        client "$c" &
        CLIENT_PIDS+=($!)
done

RANDOM=$SEED
KILLS=0 EXTERNAL=0 UNREACHED=0 KILL_FAILS=0
declare -A KNOWN=() # problems reported already
sleep 1.5 # the first VMs get created
# The first kill is a plain one; then each round restarts metald with a plan.
PLAN=external:1500
while :; do
        # Kill: by us after a delay, or by the armed crash point (or by us
        # when it was not reached in time).
        how=
        if [[ "$PLAN" == external:* ]]; then
                ms=${PLAN#external:}
                sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
                if alive "$METALD_PID"; then
                        kill -9 "$METALD_PID"
                        how="kill -9 after ${ms} ms"
                        EXTERNAL=$((EXTERNAL + 1))
                else
                        how="died on its own"
                fi
        else
                point=${PLAN%%:*}
                for ((i = 0; i < CRASH_WAIT_MS / 50; i++)); do
                        alive "$METALD_PID" || break
                        sleep 0.05
                done
                if alive "$METALD_PID"; then
                        kill -9 "$METALD_PID"
                        how="crash point $PLAN not reached in ${CRASH_WAIT_MS} ms: kill -9"
                        UNREACHED=$((UNREACHED + 1))
                        EXTERNAL=$((EXTERNAL + 1))
                else
                        how="crash point $PLAN"
                fi
        fi
        reap
        KILLS=$((KILLS + 1))
        crashes_after=$(log_crashes)
        if [ "$how" = "crash point $PLAN" ]; then
                if [ "$DIED_RC" -eq 137 ] && [ "$crashes_after" -gt "$CRASHES_BEFORE" ]; then
                        FIRED[$point]=$((FIRED[$point] + 1))
                else
                        how="died on its own (exit $DIED_RC) while armed with $PLAN"
                fi
        fi

        # metald is dead: the database is frozen. Check it.
        frozen_check
        if [[ "$how" == "died on its own"* ]]; then
                PROBLEMS+="metald died without being killed (exit $DIED_RC)"$'\n'
        fi
        # A problem that persists (an orphan VMM, say) fails the round where it
        # first shows; later rounds only count it.
        new='' persisting=0
        while IFS= read -r line; do
                [ -n "$line" ] || continue
                if [ -n "${KNOWN[$line]:-}" ]; then persisting=$((persisting + 1)); else
                        KNOWN[$line]=1
                        new+="$line"$'\n'
                fi
        done <<<"$PROBLEMS"
        still=
        [ $persisting -eq 0 ] || still=", $persisting known problem(s) persist"
        if [ -z "$new" ]; then
                ok "kill $KILLS ($how): durable, db ok, events ok, VMMs ok (${RULE_STAT%% violations*}$still)"
        else
                not_ok "kill $KILLS ($how): $(head -1 <<<"$new")"
                PROBLEMS=$new
                KILL_FAILS=$((KILL_FAILS + 1))
                # The details of the first few failed rounds only.
                if [ $KILL_FAILS -le 3 ]; then report_problems; else
                        sed '/^$/d; s/^/#   /' <<<"$PROBLEMS" | head -5
                fi
        fi

        ((KILLS < MIN_KILLS && EPOCHSECONDS - T_START < BUDGET)) || break

        # Next plan: a plain kill -9 after a random delay, or a crash point
        # (those not fired yet preferred) at its n-th passage.
        if ((RANDOM % 100 < EXTERNAL_PCT)); then
                PLAN=external:$((50 + RANDOM % 3000))
                launch
        else
                unfired=()
                for p in "${POINTS[@]}"; do [ "${FIRED[$p]}" -gt 0 ] || unfired+=("$p"); done
                if [ ${#unfired[@]} -gt 0 ] && ((RANDOM % 2)); then
                        point=${unfired[RANDOM % ${#unfired[@]}]}
                else
                        point=${POINTS[RANDOM % ${#POINTS[@]}]}
                fi
                case "$point" in
                after-spawn | after-vmm-recorded) n=$((1 + RANDOM % 3)) ;;
                *) n=$((1 + RANDOM % 8)) ;;
                esac
                PLAN=$point:$n
                ARMED[$point]=$((ARMED[$point] + 1))
                launch "$PLAN"
        fi
done

# ---- the end: stop the workload, let everything settle, check it all ------------------

touch "$STOP"
launch
wait_up || { not_ok "metald restarts after the campaign"; }
for _ in $(seq 1 400); do
        running=0
        for pid in "${CLIENT_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
        [ $running -eq 0 ] && break
        sleep 0.1
done
for pid in "${CLIENT_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
cat "$JDIR"/c*.tsv | awk -F'\t' '$1 == "E"' | sort -t$'\t' -k8,8n >"$T/journal.tsv"

summary="$KILLS kills: $EXTERNAL by kill -9 ($UNREACHED of them when a crash point was not reached)"
for p in "${POINTS[@]}"; do summary+=", $p ${FIRED[$p]}/${ARMED[$p]}"; done
echo "# $summary (fired/armed)"
echo "# $(wc -l <"$T/journal.tsv") requests in the journal, in $((EPOCHSECONDS - T_START)) s"
if [ "$KILLS" -ge "$REQUIRED_KILLS" ]; then ok "metald was killed $KILLS times"; else
        not_ok "metald was killed only $KILLS times (want $REQUIRED_KILLS; raise CRASH_BUDGET_S?)"
fi
unfired=()
for p in "${POINTS[@]}"; do [ "${FIRED[$p]}" -gt 0 ] || unfired+=("$p"); done
if [ ${#unfired[@]} -eq 0 ]; then ok "every crash point fired"; else
        not_ok "crash points never reached: ${unfired[*]}"
fi

# Let every VM converge: each non-deleted VM reaches its desired phase with its
# generation observed (and a running one has no reboot pending), or settles in
# failed (then nothing more will happen). GetVmInfo is asked afterwards.
CONVERGED_SQL="SELECT count(*) FROM vms WHERE NOT (
  (desired_state = 'deleted' AND observed_state = 'deleted') OR
  (desired_state != 'deleted' AND observed_generation = generation AND
   (reboot_requested <= reboot_done OR desired_state != 'running') AND
   (observed_state = desired_state OR (desired_state = 'shutdown' AND observed_state = 'created'))) OR
  (observed_state = 'failed' AND error_generation = generation AND desired_state != 'deleted'))"
t0=$EPOCHSECONDS
while [ "$(sql "$CONVERGED_SQL")" != 0 ] && ((EPOCHSECONDS - t0 < SETTLE_S)); do sleep 0.2; done
echo "# settled in $((EPOCHSECONDS - t0)) s"

# 1. The durability rule over the whole journal, and the answers.
journal_check
echo "# requests: $RULE_STAT"
sed 's/^/#   /' <<<"$RULE_CODES"
if [ -z "$RULE_OUT" ]; then ok "every acknowledged request is in the database, desired states as answered"; else
        not_ok "durability rule: $(head -1 <<<"$RULE_OUT")"
        sed 's/^/#   /' <<<"$RULE_OUT" | head -20
        for id in $(cut -f2 <<<"$RULE_OUT" | sort -u | head -3); do vm_context "$id"; done
fi

# final_check LABEL: convergence (through the API), VMMs, run directories,
# integrity and events, with metald running and nothing asked of it.
final_check() {
        local label=$1 id desired deleted obs pid want info st ls n nconv=0 probs="" bad=""
        declare -A vmms=() vmm_pids=()
        while read -r id pid; do
                [ -n "$id" ] || continue
                vmms[$id]=$((${vmms[$id]:-0} + 1))
                vmm_pids[$id]="${vmm_pids[$id]:-}${vmm_pids[$id]:+ }$pid"
        done < <(vmm_scan)
        while IFS='|' read -r id desired deleted obs pid; do
                if [ "$deleted" = 1 ]; then
                        info=$(rpc GetVmInfo "{\"vm_id\":\"$id\"}")
                        [ "${info%% *}" = 404 ] || { probs+="deleted $id answers ${info:0:120}"$'\n'; bad+=" $id"; }
                        [ ! -e "$DATA/vms/$id" ] || { probs+="deleted $id still has its run directory"$'\n'; bad+=" $id"; }
                        [ -z "${vmms[$id]:-}" ] || { probs+="deleted $id still has VMM(s) ${vmm_pids[$id]}"$'\n'; bad+=" $id"; }
                        continue
                fi
                info=$(rpc GetVmInfo "{\"vm_id\":\"$id\"}")
                info=${info#* }
                st=$(jf .state "$info")
                ls=$(jf .lifecycleState "$info")
                if [ "$ls" = "$desired" ] || { [ "$desired" = shutdown ] && [ "$ls" = created ]; }; then
                        if [ "$(jf .transitioning "$info")" = false ]; then nconv=$((nconv + 1)); else
                                probs+="$id is $st as desired, but GetVmInfo says transitioning ($(sql "SELECT
                                        'generation ' || generation || ', observed ' || observed_generation ||
                                        ', reboot requested ' || reboot_requested || ', done ' || reboot_done
                                        FROM vms WHERE id = '$id'"))"$'\n' bad+=" $id"
                        fi
                else
                        probs+="$id did not converge: wants $desired, is $ls ($(jf .lastError "$info"))"$'\n'
                        bad+=" $id"
                fi
                want=0
                case "$ls" in running | paused) want=1 ;; esac
                n=${vmms[$id]:-0}
                if [ "$n" != "$want" ]; then
                        probs+="$id ($ls) has $n VMM(s) (${vmm_pids[$id]:-none}), want $want"$'\n'
                        bad+=" $id"
                elif [ "$want" = 1 ] && [ "${vmm_pids[$id]}" != "$pid" ]; then
                        probs+="$id's VMM is pid ${vmm_pids[$id]}, the database says $pid"$'\n'
                        bad+=" $id"
                fi
                [ -d "$DATA/vms/$id" ] || { probs+="$id has no run directory"$'\n'; bad+=" $id"; }
        done < <(sql "SELECT id, desired_state, deleted_at IS NOT NULL, observed_state, vmm_pid FROM vms")
        for id in "${!vmms[@]}"; do
                [ -n "$(sql "SELECT 1 FROM vms WHERE id = '$id'")" ] ||
                        { probs+="VMM(s) ${vmm_pids[$id]} for $id, unknown to the database"$'\n'; bad+=" $id"; }
        done
        for d in "$DATA"/vms/*/; do
                [ -d "$d" ] || continue
                id=$(basename "$d")
                [ "$(sql "SELECT deleted_at IS NULL FROM vms WHERE id = '$id'")" = 1 ] ||
                        { probs+="orphan run directory vms/$id"$'\n'; bad+=" $id"; }
        done
        local total
        total=$(sql "SELECT count(*) FROM vms WHERE deleted_at IS NULL")
        if [ -z "$probs" ]; then
                ok "$label: $nconv/$total live VMs converged (GetVmInfo), one VMM each when running or paused, none otherwise, no orphan directory"
        else
                not_ok "$label: $(head -1 <<<"$probs")"
                sed '/^$/d; s/^/#   /' <<<"$probs" | head -30
                for id in $(tr ' ' '\n' <<<"$bad" | sort -u | head -4); do [ -n "$id" ] && vm_context "$id"; done
        fi
        check "$label: PRAGMA integrity_check" "$(sql 'PRAGMA integrity_check')" ok
        check "$label: one address per live VM, none twice, none for deleted VMs" "$(sql "$NICS_SQL")" ""
        check "$label: as many allocations as live VMs, all distinct" \
                "$(sql "SELECT count(*), count(DISTINCT ipv4), count(DISTINCT tap) FROM vm_nics")" \
                "$(sql "SELECT count(*), count(*), count(*) FROM vms WHERE observed_state != 'deleted'" | tr '|' '|')"
        local ev
        ev=$(sql "$EVENTS_SQL")
        if [ -z "$ev" ]; then ok "$label: the event table is consistent"; else
                not_ok "$label: the event table: $(head -1 <<<"$ev")"
                head -20 <<<"$ev" | sed 's/^/#   /'
        fi
}
final_check "after settling"

# Once more after a last kill -9: reattached, same VMMs, nothing moves.
before=$(sql "SELECT id, observed_state, vmm_pid FROM vms WHERE deleted_at IS NULL ORDER BY id")
kill9
launch
wait_up || not_ok "metald restarts after the last kill"
t0=$EPOCHSECONDS
while [ "$(sql "$CONVERGED_SQL")" != 0 ] && ((EPOCHSECONDS - t0 < 10)); do sleep 0.2; done
sleep 0.5 # a resync round or two
check "after a last kill -9: same states, same VMMs" \
        "$(sql "SELECT id, observed_state, vmm_pid FROM vms WHERE deleted_at IS NULL ORDER BY id")" "$before"
final_check "after a last kill -9"
kill -TERM "$METALD_PID"
reap
check "SIGTERM: metald exits 0" "$DIED_RC" 0
# Under ASan/UBSan a report goes to metald's stderr, that is the log.
check "no sanitizer report in the metald log" \
        "$(grep -cE 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer' "$T/metald.log")" 0

if [ "$FAIL" -gt 0 ]; then
        KEEP=/tmp/metald-crash-seed$SEED-$$
        mkdir -p "$KEEP"
        cp "$T/journal.tsv" "$T/metald.log" "$KEEP/" 2>/dev/null
        sqlite3 -readonly "$DATA/metald.db" ".backup $KEEP/metald.db" 2>/dev/null
        echo "# FAILED with seed=$SEED (rerun: SEED=$SEED $0); journal, log and database kept in $KEEP"
fi
finish
