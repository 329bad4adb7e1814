#!/usr/bin/env python3
"""notify-sock.py SOCKET LOG: stand in for systemd's notification socket.

Binds a datagram unix socket at SOCKET (mode 0777: the daemon sends from
its own user after dropping root, as it would to /run/systemd/notify) and
appends each message to LOG, its assignments on one line joined by " ",
flushed at once.  Runs until killed.
"""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
with open(log, "a", encoding="utf-8", errors="replace") as out:
    while True:
        data = s.recv(4096)
        text = data.decode("utf-8", "replace").strip().replace("\n", " ")
        out.write(text + "\n")
        out.flush()
