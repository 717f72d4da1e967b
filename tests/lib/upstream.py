#!/usr/bin/env python3
"""A stand-in upstream for daneproxy's integration tests (stdlib only).

Listens on 127.0.0.1 (random port written atomically to --port-file). Per
connection it parses, independently of daneproxy's own code, the PROXY header
(--proxy v2|v1|none), then either serves HTTP/1.1 requests (keep-alive,
pipelining, Content-Length or chunked bodies, WebSocket upgrade then raw echo)
or echoes raw bytes until EOF. A malformed PROXY header is recorded and the
connection closed without an answer.

HTTP answers are `200 OK`, JSON: a LoRaWAN TS002 JoinAns for a JoinReq body,
otherwise a summary of the request (including the identity the PROXY header
carried, so a client sees it too).

When a connection ends, one JSON line is appended to --record:
  {"id", "peer", "proxy": {...} or null, "proxy_error": str or null,
   "requests": [{"line", "method", "target", "version", "headers" (lower-case
   names, repeated ones joined with ", "), "header_list" ([name, value] as
   sent), "body", "body_len"}], "raw": echoed bytes as text (non-HTTP),
   "upgraded": bool, "bytes_in", "bytes_out", "error"}
"proxy" for v2: {"version", "command", "family", "transport", "src", "sport",
"dst", "dport", "header_len", "tlvs": {"0x20": hex, ...}, "tlv_order",
"ssl": {"client", "verify", "version", "cn", "cipher", "sig_alg", "key_alg",
"tlvs"}, "alpn", "authority", "unique_id", "identity" (the --identity-tlv TLV,
0xE0 by default, as text, or null), "custom": {"0xe1": text}, "crc32c":
null|"ok"}; for v1: {"version": 1, "family", "src", "dst", "sport", "dport",
"line"}.

Misbehaviour on purpose (HTTP only; default off): --delay-ms N waits N ms
after reading a request before answering it; --reset-after-head closes the
connection with a TCP RST (SO_LINGER 0) as soon as a request head has been
read, answering nothing (the record's "error" is "reset after head");
--reset-mid-response answers a request with a head announcing 100000
bytes, sends 1000 of them, then resets (RST) the connection (the record's
"error" is "reset mid-response"); --close-delimited answers without
Content-Length (body delimited by the
close, "Connection: close") and closes after the first response;
--upgrade-any agrees to any Upgrade a request asks for (h2c included), as a
server that speaks every protocol would: it answers 101 with the first
protocol asked for, then records and echoes every later byte ("raw");
--force-101 PROTO answers every request with a 101 to PROTO, asked for or
not. Chunked request trailers are recorded as "trailers" ([name, value]).
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import socket
import struct
import sys
import time

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
HTTP_START = re.compile(rb"^[A-Z]{3,10} ")
MAX_HEAD = 64 * 1024
MAX_RECORD_BODY = 64 * 1024


class ProxyError(Exception):
    pass


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def text(b):
    return b.decode("utf-8", "backslashreplace")


def parse_tlvs(data, where):
    """[(type, offset_of_value, value)] or ProxyError."""
    out, i = [], 0
    while i < len(data):
        if len(data) - i < 3:
            raise ProxyError("%s: truncated TLV header at offset %d" % (where, i))
        t, ln = data[i], int.from_bytes(data[i + 1:i + 3], "big")
        if i + 3 + ln > len(data):
            raise ProxyError("%s: TLV 0x%02x length %d overruns (%d left)"
                             % (where, t, ln, len(data) - i - 3))
        out.append((t, i + 3, data[i + 3:i + 3 + ln]))
        i += 3 + ln
    return out


def parse_v2(header, identity_tlv):
    """Parse a complete PROXY v2 header (16-byte fixed part + payload)."""
    if header[:12] != PP2_SIG:
        raise ProxyError("bad v2 signature")
    ver, cmd = header[12] >> 4, header[12] & 0x0F
    if ver != 2:
        raise ProxyError("bad version %d" % ver)
    if cmd not in (0, 1):
        raise ProxyError("bad command %d" % cmd)
    fam, proto = header[13] >> 4, header[13] & 0x0F
    if fam > 3 or proto > 2:
        raise ProxyError("bad family/transport byte 0x%02x" % header[13])
    payload = header[16:]
    p = {
        "version": 2,
        "command": "PROXY" if cmd == 1 else "LOCAL",
        "family": ["UNSPEC", "INET", "INET6", "UNIX"][fam],
        "transport": ["UNSPEC", "STREAM", "DGRAM"][proto],
        "header_len": len(header),
        "src": None, "dst": None, "sport": None, "dport": None,
    }
    addr_len = {0: 0, 1: 12, 2: 36, 3: 216}[fam]
    if len(payload) < addr_len:
        raise ProxyError("address block needs %d bytes, have %d"
                         % (addr_len, len(payload)))
    a = payload[:addr_len]
    if fam == 1:
        p["src"] = ".".join(str(x) for x in a[0:4])
        p["dst"] = ".".join(str(x) for x in a[4:8])
        p["sport"] = int.from_bytes(a[8:10], "big")
        p["dport"] = int.from_bytes(a[10:12], "big")
    elif fam == 2:
        import ipaddress
        p["src"] = str(ipaddress.IPv6Address(a[0:16]))
        p["dst"] = str(ipaddress.IPv6Address(a[16:32]))
        p["sport"] = int.from_bytes(a[32:34], "big")
        p["dport"] = int.from_bytes(a[34:36], "big")
    elif fam == 3:
        p["src"] = text(a[0:108].split(b"\0", 1)[0])
        p["dst"] = text(a[108:216].split(b"\0", 1)[0])
    tlv_base = 16 + addr_len
    tlvs = parse_tlvs(payload[addr_len:], "TLVs")
    p.update({"tlvs": {}, "tlv_order": [], "ssl": None, "alpn": None,
              "authority": None, "unique_id": None, "identity": None,
              "custom": {}, "crc32c": None})
    for t, off, v in tlvs:
        key = "0x%02x" % t
        p["tlvs"][key] = v.hex()
        p["tlv_order"].append(key)
        if t == 0x01:
            p["alpn"] = text(v)
        elif t == 0x02:
            p["authority"] = text(v)
        elif t == 0x03:
            if len(v) != 4:
                raise ProxyError("CRC32C TLV length %d != 4" % len(v))
            zeroed = bytearray(header)
            zeroed[tlv_base + off:tlv_base + off + 4] = b"\0\0\0\0"
            want = crc32c(bytes(zeroed))
            got = int.from_bytes(v, "big")
            if got != want:
                raise ProxyError("CRC32C mismatch: got %08x, computed %08x"
                                 % (got, want))
            p["crc32c"] = "ok"
        elif t == 0x05:
            if len(v) > 128:
                raise ProxyError("UNIQUE_ID longer than 128 bytes")
            p["unique_id"] = text(v)
        elif t == 0x20:
            if len(v) < 5:
                raise ProxyError("SSL TLV length %d < 5" % len(v))
            ssl = {"client": v[0], "verify": int.from_bytes(v[1:5], "big"),
                   "version": None, "cn": None, "cipher": None,
                   "sig_alg": None, "key_alg": None, "tlvs": {}}
            names = {0x21: "version", 0x22: "cn", 0x23: "cipher",
                     0x24: "sig_alg", 0x25: "key_alg"}
            for st, _, sv in parse_tlvs(v[5:], "SSL sub-TLVs"):
                ssl["tlvs"]["0x%02x" % st] = sv.hex()
                if st in names:
                    ssl[names[st]] = text(sv)
            p["ssl"] = ssl
        if 0xE0 <= t <= 0xEF:
            p["custom"][key] = text(v)
        if t == identity_tlv:
            p["identity"] = text(v)
    return p


def parse_v1(line):
    """Parse a PROXY v1 line (without its CRLF)."""
    s = line.decode("ascii", "strict") if line.isascii() else None
    if s is None:
        raise ProxyError("v1 line is not ASCII")
    parts = s.split(" ")
    if parts[0] != "PROXY" or len(parts) < 2:
        raise ProxyError("v1 line does not start with PROXY")
    p = {"version": 1, "family": parts[1], "line": s,
         "src": None, "dst": None, "sport": None, "dport": None}
    if parts[1] == "UNKNOWN":
        return p
    if parts[1] not in ("TCP4", "TCP6") or len(parts) != 6:
        raise ProxyError("v1 line malformed: %r" % s)
    import ipaddress
    try:
        cls = ipaddress.IPv4Address if parts[1] == "TCP4" else ipaddress.IPv6Address
        p["src"], p["dst"] = str(cls(parts[2])), str(cls(parts[3]))
        p["sport"], p["dport"] = int(parts[4]), int(parts[5])
    except ValueError as e:
        raise ProxyError("v1 line malformed: %s" % e)
    if not (0 <= p["sport"] <= 65535 and 0 <= p["dport"] <= 65535):
        raise ProxyError("v1 port out of range")
    return p


class Conn:
    """Buffered reader over an asyncio stream that counts bytes."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.buf = bytearray()
        self.bytes_in = 0
        self.bytes_out = 0
        self.eof = False

    async def fill(self):
        if self.eof:
            return False
        data = await self.r.read(65536)
        if not data:
            self.eof = True
            return False
        self.bytes_in += len(data)
        self.buf += data
        return True

    async def need(self, n):
        """True when at least n bytes are buffered, False on EOF before."""
        while len(self.buf) < n:
            if not await self.fill():
                return False
        return True

    def take(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def until(self, sep, limit):
        """Bytes up to and including sep; None on EOF or over limit."""
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                return self.take(i + len(sep))
            if len(self.buf) > limit:
                return None
            start = max(0, len(self.buf) - len(sep) + 1)
            if not await self.fill():
                return None

    async def write(self, data):
        self.w.write(data)
        self.bytes_out += len(data)
        await self.w.drain()


def join_ans(req):
    tid = req.get("TransactionID")
    seed = ("%s/%s" % (req.get("DevEUI"), tid)).encode()
    h = hashlib.sha256(seed).hexdigest()
    return {
        "ProtocolVersion": req.get("ProtocolVersion", "1.0"),
        "SenderID": req.get("ReceiverID"),
        "ReceiverID": req.get("SenderID"),
        "TransactionID": tid,
        "MessageType": "JoinAns",
        "Result": {"ResultCode": "Success"},
        "PHYPayload": "20" + h[:32],
        "Lifetime": 0,
        "NwkSKey": {"KEKLabel": "", "AESKey": h[32:64]},
        "AppSKey": {"KEKLabel": "", "AESKey": h[:32]},
        "SessionKeyID": h[8:24],
    }


class Upstream:
    def __init__(self, args):
        self.args = args
        self.seq = 0
        self.tasks = set()
        self.record_fd = None
        if args.record:
            self.record_fd = os.open(args.record,
                                     os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(self, rec):
        if self.record_fd is None:
            return
        line = (json.dumps(rec, sort_keys=True) + "\n").encode()
        os.write(self.record_fd, line)  # O_APPEND, one write: no interleaving

    async def handle(self, reader, writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        self.seq += 1
        peer = writer.get_extra_info("peername")
        rec = {"id": self.seq, "peer": "%s:%d" % peer[:2] if peer else None,
               "proxy": None, "proxy_error": None, "requests": [],
               "raw": None, "upgraded": False, "bytes_in": 0, "bytes_out": 0,
               "error": None, "t_start": time.time()}
        c = Conn(reader, writer)
        try:
            await self.serve(c, rec)
        except asyncio.CancelledError:
            rec["error"] = "shutdown"
        except (ConnectionError, OSError) as e:
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        except Exception as e:  # a bug here must not kill the server
            rec["error"] = "internal: %s: %s" % (type(e).__name__, e)
            print("upstream: connection %d: %r" % (rec["id"], e), file=sys.stderr)
        finally:
            rec["bytes_in"], rec["bytes_out"] = c.bytes_in, c.bytes_out
            rec["t_end"] = time.time()
            self.record(rec)
            try:
                writer.close()
            except Exception:
                pass
            self.tasks.discard(task)

    async def read_proxy(self, c, rec):
        mode = self.args.proxy
        if mode == "v2":
            if not await c.need(16):
                if c.buf:
                    raise ProxyError("EOF inside the v2 fixed header (%d bytes)" % len(c.buf))
                raise ProxyError("EOF before the PROXY header")
            if bytes(c.buf[:12]) != PP2_SIG:
                raise ProxyError("bad v2 signature: %s" % bytes(c.buf[:12]).hex())
            ln = int.from_bytes(c.buf[14:16], "big")
            if not await c.need(16 + ln):
                raise ProxyError("EOF inside the v2 header (%d of %d bytes)"
                                 % (len(c.buf), 16 + ln))
            rec["proxy"] = parse_v2(c.take(16 + ln), self.args.identity_tlv)
        elif mode == "v1":
            line = await c.until(b"\r\n", 107)
            if line is None:
                raise ProxyError("no v1 line (CRLF within 107 bytes)")
            if len(line) > 107:
                raise ProxyError("v1 line longer than 107 bytes")
            rec["proxy"] = parse_v1(line[:-2])

    async def serve(self, c, rec):
        try:
            await self.read_proxy(c, rec)
        except ProxyError as e:
            rec["proxy_error"] = str(e)
            return
        if not await c.need(1):
            return  # no payload at all
        # Decide HTTP or raw on the first bytes. Wait (briefly) for more only
        # while what came so far could still be the start of a method.
        while (not c.eof and len(c.buf) < 11
               and re.fullmatch(rb"[A-Z]+", bytes(c.buf))):
            try:
                await asyncio.wait_for(c.fill(), 0.5)
            except asyncio.TimeoutError:
                break
        if HTTP_START.match(bytes(c.buf[:11])):
            await self.serve_http(c, rec)
        else:
            await self.echo(c, rec)

    async def echo(self, c, rec):
        seen = bytearray()
        while True:
            if c.buf:
                data = c.take(len(c.buf))
                if len(seen) < MAX_RECORD_BODY:
                    seen += data[:MAX_RECORD_BODY - len(seen)]
                await c.write(data)
            if not await c.fill():
                break
        rec["raw"] = text(bytes(seen))
        try:
            c.w.write_eof()
        except (OSError, RuntimeError):
            pass

    async def read_body(self, c, headers, trailers):
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                line = await c.until(b"\r\n", 1024)
                if line is None:
                    raise ConnectionError("EOF in chunk size")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = await c.until(b"\r\n", MAX_HEAD)
                        if t is None or t == b"\r\n":
                            return bytes(body)
                        name, _, value = text(t[:-2]).partition(":")
                        trailers.append([name, value.strip()])
                if not await c.need(size + 2):
                    raise ConnectionError("EOF in chunk")
                body += c.take(size)
                c.take(2)
        n = int(headers.get("content-length", "0") or "0")
        if not await c.need(n):
            raise ConnectionError("EOF in body (%d of %d)" % (len(c.buf), n))
        return c.take(n)

    async def serve_http(self, c, rec):
        while True:
            head = await c.until(b"\r\n\r\n", MAX_HEAD)
            if head is None:
                if c.buf:
                    rec["error"] = "incomplete HTTP head: %r" % bytes(c.buf[:200])
                return
            lines = head[:-4].split(b"\r\n")
            reqline = text(lines[0])
            parts = reqline.split(" ")
            method, target, version = (parts + ["", "", ""])[:3]
            header_list, headers = [], {}
            for hl in lines[1:]:
                name, _, value = text(hl).partition(":")
                value = value.strip()
                header_list.append([name, value])
                k = name.strip().lower()
                headers[k] = headers[k] + ", " + value if k in headers else value
            if headers.get("expect", "").lower() == "100-continue":
                await c.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            trailers = []
            if self.args.reset_after_head:
                body = b""
            else:
                body = await self.read_body(c, headers, trailers)
            req = {"line": reqline, "method": method, "target": target,
                   "version": version, "headers": headers,
                   "header_list": header_list, "trailers": trailers,
                   "body": text(body[:MAX_RECORD_BODY]), "body_len": len(body)}
            rec["requests"].append(req)

            if self.args.reset_after_head:
                sock = c.w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                c.w.transport.abort()
                rec["error"] = "reset after head"
                return
            if self.args.delay_ms > 0:
                await asyncio.sleep(self.args.delay_ms / 1000.0)

            asked = headers.get("upgrade", "").split(",")[0].strip()
            if self.args.force_101 or (self.args.upgrade_any and asked):
                await c.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\n"
                              b"Connection: Upgrade\r\n\r\n"
                              % (self.args.force_101 or asked).encode())
                rec["upgraded"] = True
                await self.echo(c, rec)
                return
            if headers.get("upgrade", "").lower() == "websocket":
                key = headers.get("sec-websocket-key", "")
                acc = base64.b64encode(hashlib.sha1(
                    (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
                await c.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
                rec["upgraded"] = True
                await self.echo(c, rec)
                return

            answer = None
            try:
                j = json.loads(body) if body else None
            except ValueError:
                j = None
            if isinstance(j, dict) and j.get("MessageType") == "JoinReq":
                answer = join_ans(j)
            else:
                p = rec["proxy"] or {}
                answer = {"ok": True, "connection": rec["id"],
                          "request": len(rec["requests"]), "method": method,
                          "target": target, "headers": headers,
                          "body_len": len(body), "peer": rec["peer"],
                          "proxy_identity": p.get("identity"),
                          "proxy_src": p.get("src")}
            out = json.dumps(answer).encode()
            if self.args.reset_mid_response:
                await c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                              + b"x" * 1000)
                await asyncio.sleep(0.05)
                sock = c.w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                c.w.transport.abort()
                rec["error"] = "reset mid-response"
                return
            close = (headers.get("connection", "").lower() == "close"
                     or (version == "HTTP/1.0"
                         and headers.get("connection", "").lower() != "keep-alive"))
            if self.args.close_delimited:
                await c.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Connection: close\r\n\r\n"
                              + (b"" if method == "HEAD" else out))
                return
            resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: %s\r\n\r\n"
                    % (len(out), b"close" if close else b"keep-alive"))
            await c.write(resp + (b"" if method == "HEAD" else out))
            if close:
                return


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record")
    ap.add_argument("--proxy", choices=["v2", "v1", "none"], default="none")
    ap.add_argument("--identity-tlv", type=lambda s: int(s, 0), default=0xE0,
                    help="TLV type carrying the DANE identity (default 0xE0)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="wait this long after a request before answering it")
    ap.add_argument("--reset-after-head", action="store_true",
                    help="RST the connection once a request head is read")
    ap.add_argument("--reset-mid-response", action="store_true",
                    help="send part of a response, then RST")
    ap.add_argument("--close-delimited", action="store_true",
                    help="answer without Content-Length, then close")
    ap.add_argument("--upgrade-any", action="store_true",
                    help="answer 101 to any Upgrade (h2c too), then echo")
    ap.add_argument("--force-101", metavar="PROTO",
                    help="answer every request with 101 to PROTO, then echo")
    args = ap.parse_args()

    up = Upstream(args)
    server = await asyncio.start_server(up.handle, args.host, args.port,
                                        backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    print("upstream: listening on %s:%d proxy=%s" % (args.host, port, args.proxy),
          flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()
    for t in list(up.tasks):
        t.cancel()
    if up.tasks:
        await asyncio.wait(list(up.tasks), timeout=2)
    print("upstream: stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
