#!/usr/bin/python3
# blackhole.py: a "black hole" TCP server for libsiths' tests.
#
# It is a stand-in for a hung server: no real LDAP server can be made to hang
# on demand, and a directory that accepts the connection and then says
# nothing (overloaded, wedged, a firewall that half-opens) is exactly the
# case a client's timeouts and failover must survive. Nothing here speaks
# LDAP or TLS: it accepts every TCP connection, reads and throws away what
# the client sends (a TLS ClientHello, an LDAP bind), never sends a single
# byte, and keeps the connection open until the client goes away.
#
# Usage: blackhole.py [--bind ADDR] [--port N] OWNER
# OWNER is sithsenv's STATE directory: it is only there so that sithsenv can
# tell its own process from a stranger by the command line. Started by
# `sithsenv up` inside the environment's network namespace (127.0.0.1:3999).

import argparse
import selectors
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser(description="TCP server that never answers")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3999)
    ap.add_argument("owner", help="sithsenv's STATE (for its process check)")
    args = ap.parse_args()

    # SIGTERM (sithsenv down) ends the loop; the kernel closes every socket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.bind, args.port))
    lsock.listen(128)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    print(f"blackhole: listening on {args.bind}:{args.port}", flush=True)

    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if sock is lsock:
                try:
                    conn, _ = lsock.accept()
                except OSError:  # gone before we took it, or out of fds
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # the client went away: only now do we let go
                sel.unregister(sock)
                sock.close()


if __name__ == "__main__":
    main()
