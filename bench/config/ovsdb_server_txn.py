#!/usr/bin/env python3
"""Durable transactions per second against ovsdb-server, over its unix socket (JSON-RPC,
RFC 7047), with persistent connections: the peer figure for ovsdb_bench's in-process numbers.

Usage: ovsdb_server_txn.py SOCKET TXNS THREADS OPS_PER_TXN
Prints: ovsdb-server durable-txn threads=T ops/txn=K txns=N tx/s=X
Each transaction increments Open_vSwitch.next_cfg K times (mutate), so every one commits, and
ends with RFC 7047's {"op": "commit", "durable": true}: without it ovsdb-server acknowledges
before the log reaches the disk, and the figure would not be a durable transaction's.
DURABLE=0 in the environment leaves the commit op out (ovsdb-server's default behaviour).
"""
import json
import os
import socket
import sys
import threading
import time


def rpc_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    dec = json.JSONDecoder()
    buf = ""

    def call(method, params, ident):
        nonlocal buf
        s.sendall(json.dumps({"method": method, "params": params, "id": ident}).encode())
        while True:
            buf = buf.lstrip()
            if buf:
                try:
                    msg, end = dec.raw_decode(buf)
                    buf = buf[end:]
                    if msg.get("id") == ident:
                        return msg
                    if msg.get("method") == "echo":
                        s.sendall(json.dumps({"result": msg["params"], "id": msg["id"], "error": None}).encode())
                    continue
                except ValueError:
                    pass
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("ovsdb-server closed the connection")
            buf += chunk.decode()
    return call


def worker(path, txns, ops, errors):
    call = rpc_client(path)
    op = {"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "+=", 1]]}
    tail = [{"op": "commit", "durable": True}] if os.environ.get("DURABLE", "1") == "1" else []
    for i in range(txns):
        reply = call("transact", ["Open_vSwitch"] + [op] * ops + tail, i)
        if reply.get("error") or any("error" in r for r in reply["result"] if r):
            errors.append(reply)
            return


def main():
    path, txns, threads, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    errors = []
    per = txns // threads
    ts = [threading.Thread(target=worker, args=(path, per, ops, errors)) for _ in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    if errors:
        print("ovsdb_server_txn.py: transaction failed: %s" % errors[0], file=sys.stderr)
        sys.exit(1)
    kind = "durable-txn" if os.environ.get("DURABLE", "1") == "1" else "txn-no-fsync"
    print("ovsdb-server %s threads=%d ops/txn=%d txns=%d tx/s=%.0f" % (kind, threads, ops, per * threads, per * threads / secs))


if __name__ == "__main__":
    main()
