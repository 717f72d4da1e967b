#!/usr/bin/env python3
"""A LoRa Basics Station stand-in for daneproxy's station_binding tests.

Speaks as Station does (src/tc.c): a WebSocket over TLS 1.2 only (Station's
mbedTLS 2.28), a client certificate and key (tc.crt/tc.key) and no
dane_clientid extension, the server checked against a CA (tc.trust). One
WebSocket per run: open wss://127.0.0.1:PORT/PATH, send MSG as a text
message if given (--frag: in three frames), read the answer (the upstream is an echo server), close.
Prints one line:
  status=101 echo=OK close=1000      the exchange went through
  status=403                         refused before the upgrade
  status=101 close=1008              the proxy closed the WebSocket (code)
  error=...                          anything else (exit 1)
"""

import argparse
import asyncio
import ssl
import sys

import websockets


async def run(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    uri = "wss://127.0.0.1:%s%s" % (a.port, a.path)
    try:
        ws = await websockets.connect(uri, ssl=ctx, server_hostname="js.dp.test",
                                      open_timeout=5, close_timeout=5,
                                      compression=None)
    except websockets.InvalidStatusCode as e:
        return "status=%d" % e.status_code
    out = ["status=101"]
    try:
        if a.msg is not None:
            if a.frag:
                # Fragmented as a sender may: three frames, one message.
                n = max(1, len(a.msg) // 3)
                await ws.send([a.msg[:n], a.msg[n:2 * n], a.msg[2 * n:]])
            else:
                await ws.send(a.msg)
            got = await asyncio.wait_for(ws.recv(), 5)
            out.append("echo=" + ("OK" if got == a.msg else "BAD"))
        await ws.close()
    except websockets.ConnectionClosed:
        pass
    out.append("close=%s" % ws.close_code)
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port")
    ap.add_argument("path")
    ap.add_argument("msg", nargs="?")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--frag", action="store_true",
                    help="send MSG in three frames (continuations)")
    a = ap.parse_args()
    try:
        print(asyncio.run(asyncio.wait_for(run(a), 20)))
    except Exception as e:  # the test prints what went wrong
        print("error=%s: %s" % (type(e).__name__, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
