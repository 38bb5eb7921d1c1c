# The durability rule of the crash campaign (tests/crash/campaign.sh), checked
# over the clients' journals against a snapshot of the vms table.
#
# Input, in this order:
#   V <id> <desired_state> <observed_state> <deleted 0|1>      the snapshot
#   S <client> <seq> <verb> <vm> <target> <note> <t_start>      a request sent
#   E <client> <seq> <verb> <vm> <target> <note> <t_start> <t_end> <curl_rc> <http> <body>
# (tab-separated; times in microseconds). Lines with the wrong number of
# fields (a line being appended while we read) are skipped: the request then
# counts as in flight, which only loosens the rule.
#
# Output: "X <vm> <what>" per broken rule, "A <vm> <what>" per wrong answer,
# and one "STAT" line.
#
# Each request is classified by its answer:
#   NC      not committed: no connection (curl 7), or refused by a rule
#           (invalid_argument, not_found, already_exists, resource_exhausted,
#           failed_precondition from a precondition): it changed nothing.
#   ACK     2xx: committed (or found the desired state already equal to its
#           target, inside the same kind of write transaction).
#   SUP     409 aborted: committed, then superseded by a later request.
#   COMMIT  committed, outcome unknown: 504 deadline_exceeded, or "<Verb> of vm
#           ... failed:" (the reconciler gave up; the desired state stays).
#   MAYBE   anything else (no answer because metald died, 5xx, in flight).
#
# Rule (per VM). Each committing request R commits at some instant c(R) with
# t_start(R) <= c(R) <= t_end(R). The final desired state is the target of the
# request L that committed last (a 2xx no-op counts as a commit of the value it
# found). L committed no earlier than every request known to have committed
# (ACK, SUP, COMMIT), so t_end(L) >= c(A) >= t_start(A) for each of them:
#   lo      = max t_start over ACK, SUP and COMMIT requests
#   allowed = { target(R) : R in ACK, COMMIT or MAYBE, t_end(R) >= lo }
# and the stored desired state must be in `allowed` (SUP requests are never
# last). DeleteVm is final: after an acknowledged delete, desired = deleted.
# A VM with an ACK, SUP or COMMIT request must exist; a VM no CreateVm may
# have created must not.
BEGIN {
        FS = "\t"
        INF = 1e300
        pub["created"] = "VM_STATE_CREATED"
        pub["running"] = "VM_STATE_RUNNING"
        pub["paused"] = "VM_STATE_PAUSED"
        pub["shutdown"] = "VM_STATE_SHUTDOWN"
}

$1 == "V" && NF == 5 { have[$2] = 1; des[$2] = $3; next }
$1 == "S" && NF == 8 { k = $2 SUBSEP $3; s_vm[k] = $5; s_verb[k] = $4; s_tgt[k] = $6; s_ts[k] = $8 + 0; next }
$1 == "E" && NF == 12 {
        k = $2 SUBSEP $3
        ended[k] = 1
        answer($4, $5, $6, $7, $8 + 0, $9 + 0, $10 + 0, $11, $12)
        next
}

function classify(rc, code, body) {
        if (rc == 7)
                return "NC"
        if (rc != 0)
                return "MAYBE"
        if (code ~ /^2/)
                return "ACK"
        if (code == "409" && body ~ /"code":"aborted"/)
                return "SUP"
        if (body ~ /"code":"(invalid_argument|not_found|already_exists|resource_exhausted)"/)
                return "NC"
        if (body ~ / of vm .* failed: /)
                return "COMMIT"
        if (code == "504")
                return "COMMIT"
        if (body ~ /"code":"failed_precondition"/)
                return "NC"
        return "MAYBE"
}

function answer(verb, vm, tgt, note, ts, te, rc, code, body,   cls, want) {
        cls = classify(rc, code, body)
        n_cls[cls]++
        n_code[verb " " (rc == 0 ? code : "curl-" rc)]++
        if (cls == "ACK") {
                if (verb == "DeleteVm") {
                        if (body != "{\"success\":true}")
                                print "A\t" vm "\t" verb " answered " code " " body
                } else if (!(verb == "CreateVm" && note == "retry")) {
                        want = "\"state\":\"" pub[tgt] "\""
                        if (index(body, want) == 0 &&
                            !(tgt == "shutdown" && index(body, "\"state\":\"VM_STATE_CREATED\"") > 0))
                                print "A\t" vm "\t" verb " (wants " tgt ") answered " code " " body
                }
        }
        if (rc == 0 && code !~ /^(200|400|404|409|503|504)$/)
                print "A\t" vm "\t" verb " answered " code " " body
        add(vm, verb, tgt, cls, ts, te)
}

function add(vm, verb, tgt, cls, ts, te,   i) {
        if (cls == "NC")
                return
        i = ++cnt[vm]
        r_cls[vm, i] = cls
        r_tgt[vm, i] = tgt
        r_te[vm, i] = te
        seen[vm] = 1
        if (cls == "ACK" || cls == "SUP" || cls == "COMMIT") {
                known[vm] = 1
                if (!(vm in lo) || ts > lo[vm])
                        lo[vm] = ts
        }
        if (cls == "ACK" && verb == "DeleteVm")
                delack[vm] = 1
        if (verb == "CreateVm")
                creatable[vm] = 1
}

END {
        inflight = 0
        for (k in s_vm)
                if (!(k in ended)) {
                        add(s_vm[k], s_verb[k], s_tgt[k], "MAYBE", s_ts[k], INF)
                        inflight++
                }
        bad = 0
        for (vm in seen) {
                if (known[vm] && !(vm in have)) {
                        print "X\t" vm "\tacknowledged request(s) but the VM is not in the database"
                        bad++
                        continue
                }
                if (!(vm in have))
                        continue
                split("", ok)
                list = ""
                for (i = 1; i <= cnt[vm]; i++) {
                        if (r_cls[vm, i] == "SUP")
                                continue
                        if (known[vm] && r_te[vm, i] < lo[vm])
                                continue
                        if (!(r_tgt[vm, i] in ok))
                                list = list (list == "" ? "" : ",") r_tgt[vm, i]
                        ok[r_tgt[vm, i]] = 1
                }
                if (delack[vm] && des[vm] != "deleted") {
                        print "X\t" vm "\tDeleteVm was acknowledged but desired_state is " des[vm]
                        bad++
                } else if (!(des[vm] in ok)) {
                        print "X\t" vm "\tdesired_state is " des[vm] ", but the journal allows only {" list "}"
                        bad++
                }
        }
        for (vm in have)
                if (!(vm in creatable)) {
                        print "X\t" vm "\tthe VM exists, but no CreateVm for it may have committed"
                        bad++
                }
        nv = 0
        for (vm in seen)
                nv++
        printf "STAT\tvms=%d\tack=%d\tsuperseded=%d\tcommitted=%d\tmaybe=%d\tnot_committed=%d\tin_flight=%d\tviolations=%d\n",
               nv, n_cls["ACK"], n_cls["SUP"], n_cls["COMMIT"], n_cls["MAYBE"], n_cls["NC"], inflight, bad
        for (c in n_code)
                printf "CODE\t%s\t%d\n", c, n_code[c]
}
