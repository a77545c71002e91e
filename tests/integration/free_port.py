#!/usr/bin/env python3
"""Prints a loopback TCP port for a test's server that no other test of this
run holds: outside the kernel's ephemeral range (so neither bind(0) nor a
client's outgoing connection hands it out again meanwhile), bindable now,
and reserved by a file under $CERTA_TEST_TMP/ports made with O_EXCL, so two
tests running at once never pick the same one between choosing a port and
starting their server on it. A reservation older than ten minutes lapses."""
import os
import random
import socket
import sys
import time

d = os.path.join(os.environ.get("CERTA_TEST_TMP", "/tmp"), "ports")
os.makedirs(d, exist_ok=True)
for _ in range(2000):
    port = random.randint(20000, 32000)
    path = os.path.join(d, str(port))
    try:
        if time.time() - os.path.getmtime(path) > 600:
            os.unlink(path)
    except OSError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("free_port.py: no free loopback port in 20000..32000")
