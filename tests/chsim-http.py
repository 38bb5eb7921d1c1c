#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Raw HTTP over a Unix socket, for tests/test-chsim.sh.

  chsim-http.py SOCKET raw            < request bytes; prints what comes back
                                        (until the peer closes or 0.5 s of silence)
  chsim-http.py SOCKET conns N        opens N connections at once, sends a ping
                                        on each, prints one status line per
                                        connection (or "none")
  chsim-http.py SOCKET listen-exec CMD...  binds and listens on SOCKET, then
                                        execs CMD with "{fd}" replaced by the fd
"""
import os
import socket
import sys


def read_all(s, quiet=0.5):
    s.settimeout(quiet)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    return out


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "raw":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(sys.stdin.buffer.read())
        sys.stdout.buffer.write(read_all(s))
    elif mode == "conns":
        # N-1 connections each get a ping answered and stay open; then the
        # last one only listens (the server answers a connection over its
        # limit on accept, then closes it).
        n = int(sys.argv[3])
        socks = []
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socks.append(s)
            try:
                if i < n - 1:
                    s.sendall(b"GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n")
                data = read_all(s, 0.3)
            except OSError:
                data = b""
            line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            print(line if line else "none")
    elif mode == "listen-exec":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        fd = s.fileno()
        os.set_inheritable(fd, True)
        cmd = [a.replace("{fd}", str(fd)) for a in sys.argv[3:]]
        os.execv(cmd[0], cmd)
    else:
        sys.exit("unknown mode " + mode)


main()
