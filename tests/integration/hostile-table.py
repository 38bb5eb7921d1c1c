#!/usr/bin/env python3
"""The hostile-request table: each row is one request against a running
metald (URL), the Connect code it must answer (or, for what the HTTP layer
refuses before any RPC, the HTTP status), and a regex the message must match
(it names the problem). Around every row: the database's vms/vm_events are
unchanged and GetVmInfo of the base VM still answers.

usage: hostile-table.py URL DB ASSETS OUTSIDE
prints "ok - ..." / "not ok - ..." lines; exit 1 if any failed."""
import json, socket, sqlite3, sys, time, urllib.parse

URL, DB, ASSETS, OUTSIDE = sys.argv[1:5]
HOST, PORT = urllib.parse.urlsplit(URL).hostname, urllib.parse.urlsplit(URL).port
P = "/vmprovisioner.v1.VmService/"
K, R, D = f"{ASSETS}/vmlinux", f"{ASSETS}/rootfs.ext4", f"{ASSETS}/data.ext4"


def cfg(cpu=None, mem=None, boot=None, storage=None, **extra):
    c = {"cpu": cpu if cpu is not None else {"vcpu_count": 1},
         "memory": mem if mem is not None else {"size_bytes": 134217728},
         "boot": boot if boot is not None else {"kernel_path": K},
         "storage": storage if storage is not None else [{"path": R}]}
    c.update(extra)
    return c


def create(**kw):
    body = {"config": kw.pop("config", cfg())}
    body.update(kw)
    return ("CreateVm", json.dumps(body, ensure_ascii=False).encode())


def disk(path, **kw):
    return create(config=cfg(storage=[dict(path=path, **kw)]))


def kernel(path):
    return create(config=cfg(boot={"kernel_path": path}))


def nested(depth, open_="[", close="]"):
    return (open_ * depth + close * depth).encode()


# ---- raw HTTP -------------------------------------------------------------

def raw(data, slow=None, timeout=15):
    """Send bytes (a list of chunks with pauses when slow), return (status, body)."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        chunks = data if isinstance(data, list) else [data]
        for i, c in enumerate(chunks):
            try:
                s.sendall(c)
            except (BrokenPipeError, ConnectionResetError):
                break
            if slow and i + 1 < len(chunks):
                time.sleep(slow)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
    finally:
        s.close()
    if not out.startswith(b"HTTP/1."):
        return None, out
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def post(rpc, body, ctype="application/json", extra=b"", method="POST", path=None):
    path = path if path is not None else P + rpc
    req = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body
    return raw(req)


# ---- the table -----------------------------------------------------------
# (name, request, expected code or int HTTP status, message regex)
# request: (rpc, body) posted as JSON, or a callable returning (status, body).

big = "x" * 5000
T = []
def row(name, req, code, msg):
    T.append((name, req, code, msg))

# wrong types
for field, val in [("vm_id", 1), ("vm_id", True), ("vm_id", []), ("vm_id", {}), ("customer_id", {}),
                   ("backend", 5), ("boot", "yes"), ("boot", 1), ("restart_policy", []), ("config", "x"),
                   ("config", []), ("config", 1)]:
    row(f"CreateVm {field}={json.dumps(val)}", create(**{field: val}), "invalid_argument", field)
for sub, val, name in [("cpu", {"vcpu_count": "two"}, "vcpu_count"), ("cpu", {"vcpu_count": True}, "vcpu_count"),
                       ("cpu", {"vcpu_count": []}, "vcpu_count"), ("cpu", {"vcpu_count": 1.5}, "vcpu_count"),
                       ("cpu", [], "cpu"), ("memory", {"size_bytes": "abc"}, "size_bytes"),
                       ("memory", {"size_bytes": 1.5}, "size_bytes"), ("memory", {"size_bytes": False}, "size_bytes"),
                       ("boot", {"kernel_path": 1}, "kernel_path"), ("boot", {"kernel_path": []}, "kernel_path"),
                       ("boot", "vmlinux", "boot"), ("storage", {}, "storage"), ("storage", "x", "storage"),
                       ("storage", [1], r"storage\[0\]"), ("storage", [{"path": 1}], r"storage\[0\]\.path"),
                       ("storage", [{"path": R, "readonly": "no"}], "readonly"), ("metadata", [], "metadata"),
                       ("metadata", {"a": 1}, "metadata")]:
    c = cfg()
    c[sub] = val
    row(f"config.{sub} wrong type {json.dumps(val)[:30]}", create(config=c), "invalid_argument", name)
for rpc, body, field in [("ShutdownVm", {"vm_id": "base", "timeout_seconds": "x"}, "timeout_seconds"),
                         ("ShutdownVm", {"vm_id": "base", "timeout_seconds": 1.5}, "timeout_seconds"),
                         ("ShutdownVm", {"vm_id": "base", "force": "yes"}, "force"),
                         ("DeleteVm", {"vm_id": "base", "force": 1}, "force"),
                         ("BootVm", {"vm_id": ["base"]}, "vm_id"),
                         ("GetVmInfo", {"vm_id": 7}, "vm_id"),
                         ("ListVms", {"page_size": "x"}, "page_size"),
                         ("ListVms", {"state_filter": "VM_STATE_RUNNING"}, "state_filter"),
                         ("ListVms", {"state_filter": [True]}, "state_filter"),
                         ("ListVms", {"include_deleted": 1}, "include_deleted"),
                         ("GetVmConsole", {"vm_id": None, "x": 1}, "x")]:
    row(f"{rpc} wrong type {json.dumps(body)[:40]}", (rpc, json.dumps(body).encode()), "invalid_argument", field)

# huge numbers
for val in [1e30, "99999999999999999999", 2147483648, -2147483649, 33]:
    row(f"vcpu_count {val}", create(config=cfg(cpu={"vcpu_count": val})), "invalid_argument", "vcpu_count")
row("vcpu_count 99999999999999999999 (JSON number)", create(config=cfg(cpu={"vcpu_count": 99999999999999999999})), "invalid_argument", "too big integer")
for val in [1e300, "18446744073709551616", 9223372036854775807, -9223372036854775808, "1e3"]:
    row(f"size_bytes {val}", create(config=cfg(mem={"size_bytes": val})), "invalid_argument", "size_bytes")
row("page_size 1000000 is capped, not refused", ("ListVms", b'{"page_size":1000000}'), "ok", "")
for val in [2147483648, -1]:
    row(f"page_size {val}", ("ListVms", json.dumps({"page_size": val}).encode()), "invalid_argument", "page_size")
for val in [601, -1, 2147483647, 2147483648]:
    row(f"timeout_seconds {val}", ("ShutdownVm", json.dumps({"vm_id": "up", "timeout_seconds": val}).encode()),
        "invalid_argument", "timeout_seconds")

# deep nesting (jansson's depth limit: malformed JSON, not a stack overflow)
row("array nested 100000 deep", ("CreateVm", nested(100000)), "invalid_argument", "malformed JSON.*depth")
row("object nested 5000 deep", ("CreateVm", b'{"a":' * 5000 + b"1" + b"}" * 5000), "invalid_argument", "malformed JSON.*depth")
row("config nested 1000 deep in metadata", ("CreateVm", json.dumps({"config": cfg()}).encode()[:-1].replace(b'"storage"', b'"metadata":{"k":' + nested(1000) + b'},"storage"') + b"}"),
    "invalid_argument", "metadata")
row("nesting inside an unknown field", ("GetVmInfo", b'{"vm_id":"base","x":' + nested(500) + b"}"), "invalid_argument", 'unknown field "x"')

# invalid UTF-8 and NUL bytes
row("invalid UTF-8 in a string", ("GetVmInfo", b'{"vm_id":"ba\xffse"}'), "invalid_argument", "malformed JSON.*(UTF-8|decode byte 0x)")
row("overlong UTF-8 encoding", ("GetVmInfo", b'{"vm_id":"\xc0\xafetc"}'), "invalid_argument", "malformed JSON.*(UTF-8|decode byte 0x)")
row("UTF-8 cut at the end", ("GetVmInfo", b'{"vm_id":"\xe2\x82"}'), "invalid_argument", "malformed JSON")
row("invalid UTF-8 in a key", ("CreateVm", b'{"\xfe\xfe":1}'), "invalid_argument", "malformed JSON.*(UTF-8|decode byte 0x)")
row("lone surrogate escape", ("GetVmInfo", b'{"vm_id":"\\ud800"}'), "invalid_argument", "malformed JSON")
row("raw NUL byte in the body", ("GetVmInfo", b'{"vm_id":"base\x00"}'), "invalid_argument", "malformed JSON")
row("NUL after the JSON", ("GetVmInfo", b'{"vm_id":"base"}\x00junk'), "invalid_argument", "malformed JSON")
row("\\u0000 in vm_id", ("GetVmInfo", b'{"vm_id":"base\\u0000x"}'), "invalid_argument", "malformed JSON.*(u0000|NUL)")
row("\\u0000 in kernel_path", kernel(K + "\u0000.evil"), "invalid_argument", "malformed JSON.*(u0000|NUL)")
row("\\u0000 in kernel_args", create(config=cfg(boot={"kernel_path": K, "kernel_args": "a\u0000b"})), "invalid_argument", "malformed JSON.*(u0000|NUL)")
row("\\u0000 in a metadata key", create(config=cfg(metadata={"a\u0000b": "v"})), "invalid_argument", "malformed JSON.*(u0000|NUL)")
row("\\u0000 in customer_id", create(customer_id="c\u0000d"), "invalid_argument", "malformed JSON.*(u0000|NUL)")
row("non-ASCII vm_id", ("GetVmInfo", json.dumps({"vm_id": "vm-é"}, ensure_ascii=False).encode()), "invalid_argument", "vm_id.*not a valid id")
row("long non-ASCII unknown field", ("ListVms", json.dumps({"x" + "é" * 300: 1}, ensure_ascii=False).encode()), "invalid_argument", "unknown field")
row("long non-ASCII vm_id", ("GetVmInfo", json.dumps({"vm_id": "é" * 400}, ensure_ascii=False).encode()), "invalid_argument", "vm_id")

# paths
row("kernel via ..", kernel(f"{ASSETS}/../outside/vmlinux"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel via many ..", kernel(f"{ASSETS}/" + "../" * 20 + "etc/passwd"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel /etc/passwd", kernel("/etc/passwd"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel relative path", kernel("vmlinux"), "invalid_argument", "kernel_path.*absolute")
row("kernel ../ relative", kernel("../../etc/passwd"), "invalid_argument", "kernel_path")
row("kernel symlink out of the roots", kernel(f"{ASSETS}/escape"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel symlink chain out", kernel(f"{ASSETS}/escape2"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel symlink to a dir out, then ..", kernel(f"{ASSETS}/outlink/vmlinux"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel /dev/null", kernel("/dev/null"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel is a FIFO", kernel(f"{ASSETS}/fifo"), "invalid_argument", "kernel_path.*regular file")
row("kernel is a directory", kernel(f"{ASSETS}/subdir"), "invalid_argument", "kernel_path.*regular file")
row("kernel is the asset root", kernel(ASSETS), "invalid_argument", "kernel_path")
row("kernel with a trailing slash", kernel(K + "/"), "invalid_argument", "kernel_path")
row("kernel in /proc", kernel("/proc/self/exe"), "invalid_argument", "kernel_path.*outside the asset roots")
row("kernel path of 5000 bytes", kernel(f"{ASSETS}/{big}"), "invalid_argument", "kernel_path")
row("kernel path with a newline", kernel(K + "\n"), "invalid_argument", "kernel_path")
row("kernel in a sibling dir with the root as prefix", kernel(f"{ASSETS}-evil/vmlinux"), "invalid_argument", "kernel_path.*outside the asset roots")
row("initrd via symlink out", create(config=cfg(boot={"kernel_path": K, "initrd_path": f"{ASSETS}/escape"})), "invalid_argument", "initrd_path.*outside")
row("disk /dev/zero", disk("/dev/zero"), "invalid_argument", r"storage\[0\]\.path.*outside the asset roots")
row("disk symlink to /dev/zero", disk(f"{ASSETS}/zero"), "invalid_argument", r"storage\[0\]\.path")
row("disk is a FIFO", disk(f"{ASSETS}/fifo"), "invalid_argument", r"storage\[0\]\.path.*(regular file|block device)")
row("disk is a directory", disk(f"{ASSETS}/subdir"), "invalid_argument", r"storage\[0\]\.path")
row("disk via ..", disk(f"{ASSETS}/subdir/../../outside/vmlinux"), "invalid_argument", r"storage\[0\]\.path.*outside")
row("disk symlink out", disk(f"{ASSETS}/escape"), "invalid_argument", r"storage\[0\]\.path.*outside")
row("disk that does not exist", disk(f"{ASSETS}/nope.img"), "invalid_argument", r"storage\[0\]\.path")
row("disk /etc/shadow", disk("/etc/shadow"), "invalid_argument", r"storage\[0\]\.path.*outside")
row("disk empty path", disk(""), "invalid_argument", r"storage\[0\]\.path")
row("disk a socket", disk(f"{ASSETS}/sock"), "invalid_argument", r"storage\[0\]\.path")

# kernel args
row("kernel_args over the limit", create(config=cfg(boot={"kernel_path": K, "kernel_args": "a" * 2001})), "invalid_argument", "kernel_args.*2000")
row("kernel_args far over the limit", create(config=cfg(boot={"kernel_path": K, "kernel_args": "a " * 100000})), "invalid_argument", "kernel_args")
row("kernel_args with a newline", create(config=cfg(boot={"kernel_path": K, "kernel_args": "a\ninit=/bin/sh"})), "invalid_argument", "kernel_args")
row("kernel_args with a CR", create(config=cfg(boot={"kernel_path": K, "kernel_args": "a\rb"})), "invalid_argument", "kernel_args")

# structure and limits of the config
row("17 disks", create(config=cfg(storage=[{"path": R, "readonly": True}] * 17)), "invalid_argument", "storage.*16")
row("two root devices", create(config=cfg(storage=[{"path": R, "is_root_device": True}, {"path": D, "is_root_device": True}])), "invalid_argument", "root device")
row("duplicate disk ids", create(config=cfg(storage=[{"id": "a", "path": R}, {"id": "a", "path": D}])), "invalid_argument", "id")
row("disk id with bad characters", create(config=cfg(storage=[{"id": "../x", "path": R}])), "invalid_argument", "id")
row("same file writable twice", create(config=cfg(storage=[{"path": R}, {"path": R, "id": "b"}])), "invalid_argument", r"storage")
row("65 metadata entries", create(config=cfg(metadata={f"k{i}": "v" for i in range(65)})), "invalid_argument", "metadata.*64")
row("metadata key too long", create(config=cfg(metadata={"k" * 64: "v"})), "invalid_argument", "metadata")
row("metadata value too long", create(config=cfg(metadata={"k": "v" * 1025})), "invalid_argument", "metadata")
row("metadata empty key", create(config=cfg(metadata={"": "v"})), "invalid_argument", "metadata")
row("duplicate key", ("GetVmInfo", b'{"vm_id":"base","vm_id":"base"}'), "invalid_argument", "malformed JSON.*duplicate")
row("both spellings of a field", ("GetVmInfo", b'{"vm_id":"base","vmId":"base"}'), "invalid_argument", "vm_id")
row("unknown top-level field", create(colour=1), "invalid_argument", 'unknown field "colour"')
row("unknown nested field", create(config=cfg(cpu={"vcpu_count": 1, "turbo": True})), "invalid_argument", "turbo")
row("memory 0", create(config=cfg(mem={"size_bytes": 0})), "invalid_argument", "size_bytes")
row("vcpu_count 0", create(config=cfg(cpu={"vcpu_count": 0})), "invalid_argument", "vcpu_count")
row("unknown backend", create(backend="xen"), "invalid_argument", "backend.*xen")
row("unknown restart_policy", create(restart_policy="sometimes"), "invalid_argument", "restart_policy")
row("customer_id of 129 chars", create(customer_id="c" * 129), "invalid_argument", "customer_id")

# ids
for vid, why in [("a" * 65, "65 chars"), ("../../etc", "with .."), ("-x", "leading -"), ("a/b", "with /"),
                 ("a b", "with a blank"), ("", "empty")]:
    row(f"GetVmInfo vm_id {why}", ("GetVmInfo", json.dumps({"vm_id": vid}).encode()), "invalid_argument", "vm_id")
row("CreateVm vm_id ../x", create(vm_id="../x"), "invalid_argument", "vm_id")
row("BootVm of an unknown VM", ("BootVm", b'{"vm_id":"nope"}'), "not_found", '"nope" not found')
row("DeleteVm of an unknown VM", ("DeleteVm", b'{"vm_id":"nope"}'), "not_found", '"nope" not found')
row("PauseVm of a VM never booted", ("PauseVm", b'{"vm_id":"base"}'), "failed_precondition", "not running")
row("CreateVm same id, another config", create(vm_id="base", config=cfg(cpu={"vcpu_count": 2})), "already_exists", "base")

# bodies that are not a message
for b, why in [(b"[]", "an array"), (b'"x"', "a string"), (b"1", "a number"), (b"null", "null"), (b"{", "cut JSON"),
               (b"{'a':1}", "single quotes"), (b'{"a":1,}', "trailing comma"), (b"\xef\xbb\xbf{}", "a BOM")]:
    row(f"body is {why}", ("GetVmInfo", b), "invalid_argument", "JSON")
row("empty CreateVm", ("CreateVm", b""), "invalid_argument", "config: required")

# size and speed of the body
row("10 MiB body", lambda: post("CreateVm", b'{"config":"' + b"x" * (10 << 20) + b'"}'), "resource_exhausted", "exceeds the limit")
row("Content-Length claims 10 GiB", lambda: raw(f"POST {P}CreateVm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{{}}".encode()), "resource_exhausted", "exceeds the limit")
row("10 MiB chunked body", lambda: raw(f"POST {P}CreateVm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    + b"".join(b"100000\r\n" + b"x" * 0x100000 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"), "resource_exhausted", "exceeds the limit")
row("1 MiB + 1 body", lambda: post("GetVmInfo", b" " * (1 << 20) + b"{}"), "resource_exhausted", "exceeds the limit")
row("slow body (a byte every 50 ms)", lambda: raw([f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n".encode()]
    + [bytes([c]) for c in b'{"vm_id":"nope!!"}'], slow=0.05), "invalid_argument", "vm_id")
row("slow headers (a line every 100 ms)", lambda: raw([f"POST {P}GetVmInfo HTTP/1.1\r\n".encode(), b"Host: x\r\n", b"Content-Type: application/json\r\n",
    b"Content-Length: 2\r\n", b"\r\n{}"], slow=0.1), "invalid_argument", "vm_id: required")
row("body shorter than Content-Length", lambda: raw(f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{}}".encode(), timeout=5), None, "")

# headers
row("5000 headers", lambda: raw(f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\n".encode() + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"Content-Length: 2\r\n\r\n{}"), 431, "")
row("one header of 100 KiB", lambda: raw(f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\nX-Big: {'v' * 102400}\r\nContent-Length: 2\r\n\r\n{{}}".encode()), 431, "")
row("URL of 100 KiB", lambda: raw(f"POST {P}{'A' * 102400} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}".encode()), 414, "")
row("header without a colon", lambda: raw(f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\nbroken header\r\nContent-Length: 2\r\n\r\n{{}}".encode()), 400, "")
row("two Content-Lengths", lambda: raw(f"POST {P}GetVmInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{{}}abc".encode()), "invalid_argument", "")
row("not HTTP at all", lambda: raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, timeout=5), None, "")

# content types and protocol headers
row("content type application/proto with a JSON body", lambda: post("GetVmInfo", b'{"vm_id":"base"}', ctype="application/proto"), "invalid_argument", "malformed protobuf message")
for ct in ["text/plain", "application/grpc", "application/connect+json", "multipart/form-data; boundary=x", "application/json-evil"]:
    row(f"content type {ct}", lambda ct=ct: post("GetVmInfo", b'{"vm_id":"base"}', ctype=ct), "unimplemented", "unsupported content type")
row("Connect-Protocol-Version 2", lambda: post("GetVmInfo", b'{"vm_id":"base"}', extra=b"Connect-Protocol-Version: 2\r\n"), "invalid_argument", "Connect-Protocol-Version")

# methods and paths
for m in ["PUT", "DELETE", "PATCH", "OPTIONS"]:
    row(f"{m} CreateVm", lambda m=m: post("CreateVm", b"{}", method=m), "unimplemented", f"must be called with POST.*not {m}")
row("GET CreateVm (has side effects)", lambda: raw(f"GET {P}CreateVm?encoding=json&message=%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n".encode()), "unimplemented", "POST")
row("unknown RPC", ("DestroyHost", b"{}"), "unimplemented", "unknown method")
row("path with ..", lambda: post("", b"{}", path=P + "../" + P.strip("/") + "/CreateVm"), "unimplemented", "unknown method")
row("URL-encoded method name is the method", lambda: post("", b"{}", path=P + "Create%56m"), "invalid_argument", "config: required")
row("method name with a NUL escape", lambda: post("", b"{}", path=P + "GetVmInfo%00x"), "unimplemented", "unknown method")
row("a made-up HTTP method", lambda: post("GetVmInfo", b"{}", method="BREW"), "unimplemented", "POST")

# Connect GET
G = f"GET {P}GetVmInfo?"
for q, code, msg in [("message=%7B%7D", "invalid_argument", "encoding=json"), ("encoding=proto&message=x", "invalid_argument", "malformed protobuf message"), ("encoding=xml&message=x", "unimplemented", "encoding=xml"),
                     ("encoding=json&message=%7B", "invalid_argument", "malformed JSON"), ("encoding=json&base64=1&message=e30", "invalid_argument", "vm_id: required"), ("encoding=json&base64=1&message=%25%25", "invalid_argument", "base64"),
                     ("encoding=json&compression=gzip&message=%7B%7D", "unimplemented", "compression"), ("encoding=json&connect=v2&message=%7B%7D", "invalid_argument", "connect=v2"),
                     ("encoding=json&message=%7B%22vm_id%22%3A%22ba%FFse%22%7D", "invalid_argument", "malformed JSON")]:
    row(f"Connect GET {q[:40]}", lambda q=q: raw(f"{G}{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode()), code, msg)

# ---- run -----------------------------------------------------------------

def snapshot():
    db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)
    try:
        vms = db.execute("SELECT id, customer_id, backend, config_json, desired_state, generation, reboot_requested, force_stop, deleted_at, restart_policy FROM vms ORDER BY id").fetchall()
        ev = db.execute("SELECT count(*), coalesce(max(rowid), 0) FROM vm_events").fetchone()
        return vms, ev
    finally:
        db.close()


def alive():
    st, body = post("GetVmInfo", b'{"vm_id":"base"}')
    return st == 200 and b'"vmId":"base"' in body


passed = failed = 0
def result(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}")


print(f"{len(T)} hostile requests")
for name, req, code, msg in T:
    before = snapshot()
    t0 = time.monotonic()
    try:
        status, body = req() if callable(req) else post(*req)
    except Exception as e:  # noqa: BLE001
        status, body = None, repr(e).encode()
    ms = (time.monotonic() - t0) * 1000
    problems = []
    if code is None:
        pass  # a clean close or any HTTP answer: the rows and liveness checks below are what count
    elif isinstance(code, int):
        if status != code:
            problems.append(f"HTTP {status}, want {code}")
    else:
        try:
            j = json.loads(body)
        except Exception:  # noqa: BLE001
            j = {}
        if code == "ok":
            if status != 200:
                problems.append(f"HTTP {status} body {body[:200]!r}, want 200")
        elif j.get("code") != code:
            problems.append(f"HTTP {status} body {body[:200]!r}, want code {code}")
        elif msg and not __import__("re").search(msg, j.get("message", "")):
            problems.append(f"message {j.get('message')!r} does not match /{msg}/")
    if snapshot() != before:
        problems.append("the database changed")
    if not alive():
        problems.append("metald does not answer GetVmInfo afterwards")
    result(not problems, f"{name} ({ms:.0f} ms)" + (": " + "; ".join(problems) if problems else ""))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
