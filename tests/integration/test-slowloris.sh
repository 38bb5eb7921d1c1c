#!/bin/bash
# Slow clients cannot starve the API: 400 connections from 127.0.0.2
# trickling headers and bodies (a byte every second) run against
# --http-per-ip-connection-limit 64 and --http-timeout 5, while a normal
# client on 127.0.0.1 keeps calling GetVmInfo: every call answers, promptly.
# An idle connection is closed after the timeout; a trickled body is cut
# after --http-body-deadline however steadily it trickles.
. "$(dirname "$0")/lib.sh"
start_metald --http-per-ip-connection-limit 64 --http-timeout 5 --http-body-deadline 4 || exit 1
out=$(rpc CreateVm "{\"vm_id\":\"base\",\"config\":$(config)}")
check "base VM created" "${out%% *}" 200
python3 - "$PORT" > "$T/py.out" 2>&1 <<'PY'
import socket, sys, threading, time, json, http.client
port = int(sys.argv[1])
results = {"ok": 0, "bad": 0, "lat": []}
held = {"n": 0, "refused": 0, "closed": 0}
stop = time.monotonic() + 12
lock = threading.Lock()

def slow(kind):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(3)
        s.connect(("127.0.0.1", port))
    except OSError:
        with lock: held["refused"] += 1
        return
    with lock: held["n"] += 1
    if kind == "headers":
        data = b"POST /vmprovisioner.v1.VmService/GetVmInfo HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100
    else:
        data = b"POST /vmprovisioner.v1.VmService/GetVmInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100000
    try:
        for b in data:
            if time.monotonic() > stop:
                break
            s.send(bytes([b]))
            time.sleep(1)
    except OSError:
        with lock: held["closed"] += 1
    s.close()

threads = [threading.Thread(target=slow, args=("headers" if i % 2 else "body",), daemon=True) for i in range(400)]
for t in threads: t.start()
time.sleep(1)
while time.monotonic() < stop - 1:
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("POST", "/vmprovisioner.v1.VmService/GetVmInfo", body=b'{"vm_id":"base"}', headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        ok = r.status == 200 and b'"vmId":"base"' in body
        c.close()
    except Exception:
        ok = False
    results["lat"].append((time.monotonic() - t0) * 1000)
    results["ok" if ok else "bad"] += 1
    time.sleep(0.05)
lat = sorted(results["lat"])
p99 = lat[int(len(lat) * 0.99) - 1] if lat else 1e9
print(f"# attackers connected {held['n']}, refused {held['refused']}, cut {held['closed']}; "
      f"normal calls {results['ok']} ok, {results['bad']} failed, p50 {lat[len(lat)//2]:.1f} ms, p99 {p99:.1f} ms")
print(("ok" if results["bad"] == 0 and results["ok"] > 50 else "not ok") + " - every normal call answered during the attack")
print(("ok" if p99 < 500 else "not ok") + f" - normal calls prompt during the attack (p99 {p99:.1f} ms < 500 ms)")
print(("ok" if held["closed"] + held["refused"] > 0 else "not ok") + " - the attack met the limits (refused or cut connections)")

# An idle connection is closed after --http-timeout.
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(15)
t0 = time.monotonic()
try:
    got = s.recv(1)
except OSError:
    got = b""
dt = time.monotonic() - t0
print(("ok" if got == b"" and 4 <= dt <= 9 else "not ok") + f" - an idle connection is closed after the timeout ({dt:.1f} s)")

# A body trickling steadily (never idle) is cut at the body deadline.
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /vmprovisioner.v1.VmService/GetVmInfo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
t0 = time.monotonic()
cut = None
while time.monotonic() - t0 < 20:
    time.sleep(0.5)
    try:
        s.send(b" ")
        s.settimeout(0.01)
        if s.recv(1) == b"":
            cut = time.monotonic() - t0
            break
    except socket.timeout:
        continue
    except OSError:
        cut = time.monotonic() - t0
        break
s.close()
print(("ok" if cut is not None and 3.5 <= cut <= 8 else "not ok") + f" - a steadily trickled body is cut at the body deadline ({cut if cut is None else round(cut, 1)} s)")
PY
cat "$T/py.out"
n_ok=$(grep -c '^ok - ' "$T/py.out"); n_bad=$(grep -c '^not ok - ' "$T/py.out")
PASS=$((PASS + n_ok)); FAIL=$((FAIL + n_bad))
[ $((n_ok + n_bad)) -eq 5 ] || not_ok "the attack script did not report (see above)"
out=$(rpc GetVmInfo '{"vm_id":"base"}')
check "GetVmInfo after the attack" "${out%% *}" 200
kill -0 "$METALD_PID" && ok "metald up" || not_ok "metald died"
stop_metald && ok "metald stops cleanly" || not_ok "metald did not stop cleanly"
finish
