#!/usr/bin/env python3
"""notify-sock.py SOCKET LOG: stand in for systemd's notification socket.

Binds a datagram unix socket at SOCKET (mode 0777: the daemon sends from
its own user after dropping root, as it would to /run/systemd/notify) and
appends each message to LOG as one line, "pid=PID" (the sender's, from
SO_PASSCRED, as systemd checks NotifyAccess=main) then the message's
assignments joined by " ", flushed at once.  Runs until killed.
"""
import os
import socket
import struct
import sys

path, log = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o777)
creds = struct.calcsize("3i")
with open(log, "a", encoding="utf-8", errors="replace") as out:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds))
        pid = "?"
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = str(struct.unpack("3i", value[:creds])[0])
        text = data.decode("utf-8", "replace").strip().replace("\n", " ")
        # Printable only: the log is read by a test, never a terminal's.
        text = "".join(c if c.isprintable() else "?" for c in text)
        out.write("pid=%s %s\n" % (pid, text))
        out.flush()
