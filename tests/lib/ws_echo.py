#!/usr/bin/env python3
"""A WebSocket echo upstream for daneproxy's HTTP-mode tests.

Listens on 127.0.0.1 (random port, written atomically to --port-file) with
the python3-websockets server (an implementation independent of daneproxy
and of upstream.py). Every message received is sent back unchanged (text as
text, binary as binary). For each upgrade request one JSON line is appended
to --record when the WebSocket closes:
  {"path", "headers": {lower-case name: value, repeated joined with ", "},
   "header_list": [[name, value], ...], "messages": N, "bytes": N,
   "close_code": int or null}
"""

import argparse
import asyncio
import json
import os
import signal

import websockets


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    fd = None
    if args.record:
        fd = os.open(args.record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def echo(ws, path=None):
        hl = [[k, v] for k, v in ws.request_headers.raw_items()]
        headers = {}
        for k, v in hl:
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        n = nbytes = 0
        try:
            async for msg in ws:
                n += 1
                nbytes += len(msg)
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        if fd is not None:
            rec = {"path": ws.path, "headers": headers, "header_list": hl,
                   "messages": n, "bytes": nbytes, "close_code": ws.close_code}
            os.write(fd, (json.dumps(rec, sort_keys=True) + "\n").encode())

    server = await websockets.serve(echo, args.host, args.port,
                                    max_size=16 * 1024 * 1024)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    print("ws_echo: listening on %s:%d" % (args.host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    print("ws_echo: stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
