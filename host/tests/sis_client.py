#!/usr/bin/env python3
"""A STANAG 5066 SIS client (Annex A, SIS over TCP), written from the standard's byte layout
with the Python standard library only, so it shares no code with the Rust it tests.

Every primitive is framed as: 90 EB, version 00, a 2-byte BIG-ENDIAN size of what follows,
then the primitive (its first byte is its type). Layouts used here:

  S_BIND_REQUEST (1)        SAP<<4|rank, service type (12 bits) << 4 (2 bytes)
  S_UNBIND_REQUEST (2)      -
  S_BIND_ACCEPTED (3)       SAP<<4, MTU (2 bytes)
  S_BIND_REJECTED (4)       reason
  S_UNBIND_INDICATION (5)   reason
  S_HARD_LINK_ESTABLISH (6) type<<6|priority<<4|remote SAP, address
  S_HARD_LINK_REJECTED (9)  reason, type<<6|priority<<4|remote SAP, address
  S_SUBNET_AVAILABILITY(14) status, reason
  S_DATAFLOW_ON/OFF (15/16), S_KEEP_ALIVE (17): -
  S_MANAGEMENT_MSG_REQUEST (18): type, body
  S_UNIDATA_REQUEST (20/24) priority<<4|dest SAP (24: no priority), address,
                            service type (12 bits) << 20 | TTL (20 bits) (4 bytes), size, U_PDU
  S_UNIDATA_INDICATION (21/25) priority<<4|dest SAP, dest address, tx mode<<4|src SAP,
                            src address, size, U_PDU
  S_UNIDATA_REQUEST_CONFIRM (22/26) SAP, address, size, U_PDU bytes
  S_UNIDATA_REQUEST_REJECTED (23/27) reason<<4|SAP, address, size, U_PDU bytes

Address: 3 bits size in nibbles, 1 bit group, 28 bits address (4 bytes, big-endian).
Service type: tx mode (4 bits), delivery confirm (2 bits), order (1 bit, 0 = in order),
extended (1 bit), minimum retransmissions (4 bits).

Commands (each prints one JSON object on stdout and exits 0 on success, 1 on failure):

  conformance HOST PORT --node ADDR --policy-sap N --max-clients N --pcap FILE
      every primitive and the malformed ones against one server
  receive HOST PORT --sap N --count N --timeout S
      bind, print the U_PDUs that arrive
  send HOST PORT --sap N --dest ADDR --dest-sap N --data TEXT --confirm node|client --timeout S
      bind, send one ARQ U_PDU, wait for its S_UNIDATA_REQUEST_CONFIRM
  flood HOST PORT --sap N --dest ADDR --count N
      send N short-lived U_PDUs to an absent node: dataflow off, N rejections (1), dataflow on
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

PREAMBLE = b"\x90\xEB"
VERSION = 0

BIND_REQUEST, UNBIND_REQUEST, BIND_ACCEPTED, BIND_REJECTED, UNBIND_INDICATION = 1, 2, 3, 4, 5
HARD_LINK_ESTABLISH, HARD_LINK_REJECTED = 6, 9
SUBNET_AVAILABILITY, DATAFLOW_ON, DATAFLOW_OFF, KEEP_ALIVE = 14, 15, 16, 17
MANAGEMENT_REQUEST = 18
UNIDATA_REQUEST, UNIDATA_INDICATION, UNIDATA_CONFIRM, UNIDATA_REJECTED = 20, 21, 22, 23
EXPEDITED = 4

ARQ, NON_ARQ = 1, 2
CONFIRM_NONE, CONFIRM_NODE, CONFIRM_CLIENT = 0, 1, 2


def frame(body: bytes) -> bytes:
    return PREAMBLE + bytes([VERSION]) + struct.pack(">H", len(body)) + body


def address(value: int, group: bool = False) -> bytes:
    return struct.pack(">I", (7 << 29) | (int(group) << 28) | (value & 0x0FFFFFFF))


def parse_address(b: bytes):
    raw = struct.unpack(">I", b)[0]
    return raw & 0x0FFFFFFF, bool(raw & (1 << 28))


def service(mode=ARQ, confirm=CONFIRM_NONE, in_order=True, retx=0) -> int:
    return (mode << 8) | (confirm << 6) | ((0 if in_order else 1) << 5) | retx


def bind_request(sap, rank=0, st=service()):
    return frame(bytes([BIND_REQUEST, (sap << 4) | rank]) + struct.pack(">H", st << 4))


def unidata_request(dest, dest_sap, data, st, ttl=30, priority=5, expedited=False, group=False):
    head = (dest_sap if expedited else (priority << 4) | dest_sap)
    kind = UNIDATA_REQUEST + (EXPEDITED if expedited else 0)
    body = bytes([kind, head]) + address(dest, group) + struct.pack(">I", (st << 20) | ttl)
    return frame(body + struct.pack(">H", len(data)) + data)


def decode(body: bytes) -> dict:
    """The fields of a primitive body, by the layouts above."""
    kind = body[0]
    p = {"type": kind}
    if kind == BIND_ACCEPTED:
        p.update(sap=body[1] >> 4, mtu=struct.unpack(">H", body[2:4])[0])
    elif kind in (BIND_REJECTED, UNBIND_INDICATION):
        p.update(reason=body[1])
    elif kind == HARD_LINK_REJECTED:
        p.update(reason=body[1], params=body[2], remote=parse_address(body[3:7])[0])
    elif kind == SUBNET_AVAILABILITY:
        p.update(status=body[1], reason=body[2])
    elif kind in (UNIDATA_INDICATION, UNIDATA_INDICATION + EXPEDITED):
        size = struct.unpack(">H", body[11:13])[0]
        p.update(priority=body[1] >> 4, dest_sap=body[1] & 15,
                 dest=parse_address(body[2:6])[0], tx_mode=body[6] >> 4,
                 src_sap=body[6] & 15, src=parse_address(body[7:11])[0],
                 data=body[13:13 + size].decode("latin-1"))
        assert len(body) == 13 + size, "indication length"
    elif kind in (UNIDATA_CONFIRM, UNIDATA_REJECTED,
                  UNIDATA_CONFIRM + EXPEDITED, UNIDATA_REJECTED + EXPEDITED):
        size = struct.unpack(">H", body[6:8])[0]
        p.update(reason=body[1] >> 4, sap=body[1] & 15, dest=parse_address(body[2:6])[0],
                 data=body[8:8 + size].decode("latin-1"))
        assert len(body) == 8 + size, "report length"
    return p


class Pcap:
    """Writes what one client sends and receives as IPv4/TCP segments (pcap, raw IP), so
    tshark can decode the SIS conversation without capturing on an interface."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        self.types = []

    def close(self):
        self.f.close()


class Stream:
    def __init__(self, pcap, local, remote):
        self.pcap, self.local, self.remote = pcap, local, remote
        self.seq = {True: 1000, False: 500000}

    def record(self, outgoing: bool, data: bytes):
        src, dst = (self.local, self.remote) if outgoing else (self.remote, self.local)
        seq, ack = self.seq[outgoing], self.seq[not outgoing]
        tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, 0x18, 65535, 0, 0)
        total = 20 + len(tcp) + len(data)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
                         socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
        s = sum(struct.unpack(">10H", ip))
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        ip = ip[:10] + struct.pack(">H", ~s & 0xFFFF) + ip[12:]
        t = time.time()
        packet = ip + tcp + data
        self.pcap.f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(packet),
                                      len(packet)))
        self.pcap.f.write(packet)
        self.pcap.f.flush()
        self.seq[outgoing] += len(data)


class Client:
    def __init__(self, host, port, pcap=None):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.stream = None
        if pcap:
            self.stream = Stream(pcap, self.sock.getsockname()[:2], self.sock.getpeername()[:2])

    def send_raw(self, data: bytes):
        self.sock.sendall(data)
        if self.stream:
            self.stream.record(True, data)
            self.stream.pcap.types.append(data[5])

    def recv(self, timeout=5.0):
        """The next primitive, decoded; None on timeout; 'EOF' when the server closed."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 5:
                assert self.buf[:3] == PREAMBLE + b"\x00", f"bad frame from server {self.buf[:5]!r}"
                size = struct.unpack(">H", self.buf[3:5])[0]
                if len(self.buf) >= 5 + size:
                    body, self.buf = self.buf[5:5 + size], self.buf[5 + size:]
                    if self.stream:
                        self.stream.record(False, frame(body))
                        self.stream.pcap.types.append(body[0])
                    return decode(body)
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                return "EOF"
            if not chunk:
                return "EOF"
            self.buf += chunk

    def expect(self, kind, timeout=5.0, **fields):
        while True:
            p = self.recv(timeout)
            if p is None or p == "EOF":
                raise AssertionError(f"expected type {kind} {fields}, got {p}")
            if p["type"] == SUBNET_AVAILABILITY and kind != SUBNET_AVAILABILITY:
                continue
            assert p["type"] == kind, f"expected type {kind} {fields}, got {p}"
            for k, v in fields.items():
                assert p.get(k) == v, f"type {kind}: {k} = {p.get(k)!r}, wanted {v!r} ({p})"
            return p

    def expect_one_of(self, kinds, timeout=5.0):
        while True:
            p = self.recv(timeout)
            assert isinstance(p, dict), f"expected one of {kinds}, got {p}"
            if p["type"] in kinds:
                return p
            assert p["type"] == SUBNET_AVAILABILITY, f"expected one of {kinds}, got {p}"

    def expect_close(self, timeout=5.0, reason=3):
        """An S_UNBIND_INDICATION (if the server sends one) and then the end of the stream."""
        p = self.recv(timeout)
        if p not in ("EOF",):
            assert p is not None and p["type"] == UNBIND_INDICATION, f"wanted unbind, got {p}"
            assert p["reason"] == reason, p
            p = self.recv(timeout)
        assert p == "EOF", f"connection not closed: {p}"

    def alive(self):
        self.send_raw(frame(bytes([KEEP_ALIVE])))
        self.expect(KEEP_ALIVE)

    def bind(self, sap, st=service(ARQ, CONFIRM_NODE)):
        self.send_raw(bind_request(sap, 0, st))
        return self.expect(BIND_ACCEPTED, sap=sap)

    def close(self):
        self.sock.close()


def conformance(a) -> dict:
    checks = []

    def check(name):
        checks.append(name)

    # The traffic recorded for tshark avoids SAPs 2, 6 and 7, whose U_PDUs Wireshark expects
    # to start with a client transport header (T-MMHS, RCOP, UDOP).
    pcap = Pcap(a.pcap) if a.pcap else None
    node = a.node
    # Binding.
    c1 = Client(a.host, a.port, pcap)
    c1.send_raw(bind_request(5, 0, service(mode=0)))
    acc = c1.expect(BIND_ACCEPTED, sap=5)
    assert acc["mtu"] == 2048, acc
    c1.expect(SUBNET_AVAILABILITY)
    check("bind accepted with MTU 2048, then subnet availability")
    c2 = Client(a.host, a.port)
    c2.send_raw(bind_request(5))
    c2.expect(BIND_REJECTED, reason=3)
    check("bind of a SAP in use rejected (3)")
    c2.send_raw(bind_request(a.policy_sap))
    c2.expect(BIND_REJECTED, reason=2)
    check("bind of Skywave's policy SAP rejected (2)")
    c1.send_raw(bind_request(6))
    c1.expect(BIND_REJECTED, reason=1)
    check("second bind on one connection rejected (1)")
    c3 = Client(a.host, a.port, pcap)
    c3.bind(4)
    # Keep-alive, hard links, management.
    c1.alive()
    check("keep-alive answered")
    c1.send_raw(frame(bytes([HARD_LINK_ESTABLISH, (1 << 6) | (2 << 4) | 6]) + address(99)))
    c1.expect(HARD_LINK_REJECTED, params=(1 << 6) | (2 << 4) | 6, remote=99)
    check("hard link establish rejected")
    c1.send_raw(frame(bytes([MANAGEMENT_REQUEST, 1]) + b"body"))
    c1.alive()
    check("management message ignored, client kept")
    # Unidata rejections.
    arq = service(ARQ, CONFIRM_NODE)
    c1.send_raw(unidata_request(node + 1, 5, b"x" * 2049, arq))
    c1.expect(UNIDATA_REJECTED, reason=4, sap=5)
    check("U_PDU over the MTU rejected (4)")
    # A well-formed primitive far over the MTU plus headers: read whole, rejected, kept.
    c1.send_raw(unidata_request(node + 1, 5, b"y" * 60000, arq))
    c1.expect(UNIDATA_REJECTED, reason=4, sap=5)
    c1.alive()
    check("primitive of 60 kB rejected (4), client kept")
    # Skywave's own SAP takes node messages only.
    c1.send_raw(unidata_request(node + 1, a.policy_sap, b"policy?", arq))
    c1.expect(UNIDATA_REJECTED, reason=2, sap=a.policy_sap)
    check("U_PDU to Skywave's SAP rejected (2)")
    c1.send_raw(unidata_request(node + 1, 5, b"no mode", service(mode=0)))
    c1.expect(UNIDATA_REJECTED, reason=5, data="no mode")
    check("no transmission mode in request or bind rejected (5)")
    c1.send_raw(unidata_request(node + 1, 5, b"mode 7", service(mode=7)))
    c1.expect(UNIDATA_REJECTED, reason=5, data="mode 7")
    check("unknown transmission mode rejected (5)")
    c1.send_raw(unidata_request(0x0FFFFFFF, 5, b"arq to all", arq, group=True))
    c1.expect(UNIDATA_REJECTED, reason=5, dest=0x0FFFFFFF)
    check("ARQ to the broadcast group rejected (5)")
    c1.send_raw(unidata_request(node, 9, b"nobody", arq))
    c1.expect(UNIDATA_REJECTED, reason=2, sap=9, data="nobody")
    c1.send_raw(unidata_request(node, 9, b"nobody fast", arq, expedited=True))
    c1.expect(UNIDATA_REJECTED + EXPEDITED, reason=2, sap=9)
    check("unbound destination SAP rejected (2), expedited too (27)")
    c4 = Client(a.host, a.port)
    c4.send_raw(unidata_request(node, 4, b"unbound", arq))
    c4.expect(UNIDATA_REJECTED, reason=0)
    check("data from a client holding no SAP rejected (0)")
    # Delivery within the node, with confirmations.
    c1.send_raw(unidata_request(node, 4, b"hello four", arq, priority=9))
    ind = c3.expect(UNIDATA_INDICATION, dest_sap=4, src_sap=5, src=node, data="hello four")
    assert ind["priority"] == 9 and ind["tx_mode"] == ARQ, ind
    c1.expect(UNIDATA_CONFIRM, sap=4, dest=node, data="hello four")
    check("unidata indication and node delivery confirm")
    c1.send_raw(unidata_request(node, 4, b"urgent", arq, expedited=True))
    c3.expect(UNIDATA_INDICATION + EXPEDITED, dest_sap=4, data="urgent")
    c1.expect(UNIDATA_CONFIRM + EXPEDITED, sap=4, data="urgent")
    check("expedited unidata indication (25) and confirm (26)")
    # The client's own flow control.
    c3.send_raw(frame(bytes([DATAFLOW_OFF])))
    c3.alive()
    c1.send_raw(unidata_request(node, 4, b"held", service(ARQ, CONFIRM_NONE)))
    assert c3.recv(0.5) is None, "indication sent while the client's flow was off"
    c3.send_raw(frame(bytes([DATAFLOW_ON])))
    c3.expect(UNIDATA_INDICATION, data="held")
    check("indications held while the client says dataflow off")
    # Unbind releases the SAP.
    c3.send_raw(frame(bytes([UNBIND_REQUEST])))
    c3.alive()
    c2.bind(4)
    check("unbind releases the SAP")
    # Too many clients: bind fresh connections until the node says it has no room; it must
    # say so with reason 1 once max_clients SAPs are held (other clients may hold some).
    extra = []
    for sap in (7, 8, 9, 10, 11, 14):
        c = Client(a.host, a.port)
        extra.append(c)
        c.send_raw(bind_request(sap))
        p = c.expect_one_of((BIND_ACCEPTED, BIND_REJECTED))
        if p["type"] == BIND_REJECTED:
            assert p["reason"] == 1, p
            break
    else:
        raise AssertionError(f"more than {a.max_clients} clients bound")
    assert len(extra) - 1 <= a.max_clients - 2, f"{len(extra) - 1} more bound"
    check(f"bind beyond {a.max_clients} clients rejected (1)")
    for c in extra:
        c.close()
    # Malformed primitives: a rejection or a clean close, never a crash.
    malformed = [
        ("bad preamble", b"\x91\xEB\x00\x00\x01\x11", True),
        ("bad version", b"\x90\xEB\x07\x00\x01\x11", True),
        ("size 0", b"\x90\xEB\x00\x00\x00", True),
        ("line noise", bytes(range(256)) * 4, True),
    ]
    for name, data, closes in malformed:
        c = Client(a.host, a.port)
        c.send_raw(data)
        c.expect_close()
        c.close()
        check(f"malformed ({name}): unbind indication and close")
    c = Client(a.host, a.port)
    c.bind(12)
    for name, body in [
        ("truncated bind", bytes([BIND_REQUEST, 0x50])),
        ("U_PDU size beyond the primitive", bytes([UNIDATA_REQUEST, 0x55]) + address(1)
         + struct.pack(">I", arq << 20 | 5) + struct.pack(">H", 50) + b"short"),
        ("trailing bytes", bytes([KEEP_ALIVE, 0])),
        ("node-to-client primitive", bytes([BIND_ACCEPTED, 0x50, 8, 0])),
        ("hard link accept without a request", bytes([12, 0x46]) + address(3)),
    ]:
        c.send_raw(frame(body))
        c.alive()
        check(f"invalid ({name}): ignored, client kept")
    c.send_raw(frame(bytes([99])) * 10)
    c.expect_close()
    check("too many invalid primitives: unbind indication (3) and close")
    c = Client(a.host, a.port)
    c.send_raw(b"\x90\xEB\x00\x00\x10\x14")
    c.close()
    c1.alive()
    check("the server keeps serving its other clients")
    c1.send_raw(frame(bytes([UNBIND_REQUEST])))
    c1.close()
    if pcap:
        pcap.close()
    return {"ok": True, "checks": checks, "pcap_types": pcap.types if pcap else []}


def flood(a) -> dict:
    """Backpressure and time-to-die: a flood to a node that never answers fills the link's
    queue, the node turns the client's data flow off, every request expires and comes back
    rejected (1), and the flow is turned on again."""
    c = Client(a.host, a.port)
    c.bind(a.sap)
    n = a.count
    for i in range(n):
        c.send_raw(unidata_request(a.dest, a.sap, b"flood %02d" % i, service(ARQ, CONFIRM_NONE),
                                   ttl=3))
    flow, refused = [], 0
    deadline = time.time() + 30
    while (refused < n or DATAFLOW_ON not in flow) and time.time() < deadline:
        p = c.recv(max(0.0, deadline - time.time()))
        assert isinstance(p, dict), f"flood: {p} after {refused} rejections, flow {flow}"
        if p["type"] in (DATAFLOW_OFF, DATAFLOW_ON):
            flow.append(p["type"])
        elif p["type"] == UNIDATA_REJECTED:
            assert p["reason"] == 1 and p["data"].startswith("flood"), p
            refused += 1
    assert flow == [DATAFLOW_OFF, DATAFLOW_ON] and refused == n, (flow, refused)
    return {"ok": True, "flow": flow, "rejected": refused}


def receive(a) -> dict:
    c = Client(a.host, a.port, Pcap(a.pcap) if a.pcap else None)
    c.bind(a.sap)
    print(json.dumps({"bound": a.sap}), flush=True)
    got = []
    deadline = time.time() + a.timeout
    while len(got) < a.count and time.time() < deadline:
        p = c.recv(deadline - time.time())
        if isinstance(p, dict) and p["type"] in (UNIDATA_INDICATION,
                                                  UNIDATA_INDICATION + EXPEDITED):
            got.append(p)
    return {"ok": len(got) == a.count, "received": got}


def send(a) -> dict:
    c = Client(a.host, a.port, Pcap(a.pcap) if a.pcap else None)
    c.bind(a.sap)
    mode = {"node": CONFIRM_NODE, "client": CONFIRM_CLIENT}[a.confirm]
    started = time.time()
    c.send_raw(unidata_request(a.dest, a.dest_sap, a.data.encode(), service(ARQ, mode),
                               ttl=a.timeout // 2, priority=7))
    p = c.expect(UNIDATA_CONFIRM, timeout=a.timeout)
    seconds = round(time.time() - started, 3)
    c.send_raw(frame(bytes([UNBIND_REQUEST])))
    types = c.stream.pcap.types if c.stream else []
    if c.stream:
        c.stream.pcap.close()
    return {"ok": p["data"] == a.data, "confirm": p, "seconds": seconds, "pcap_types": types}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("conformance", "receive", "send", "flood"):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
        s.add_argument("--pcap")
    sub.choices["conformance"].add_argument("--node", type=int, required=True)
    sub.choices["conformance"].add_argument("--policy-sap", type=int, required=True)
    sub.choices["conformance"].add_argument("--max-clients", type=int, required=True)
    for name in ("receive", "send", "flood"):
        sub.choices[name].add_argument("--sap", type=int, required=True)
        sub.choices[name].add_argument("--timeout", type=int, default=60)
    sub.choices["receive"].add_argument("--count", type=int, default=1)
    sub.choices["flood"].add_argument("--count", type=int, default=48)
    sub.choices["flood"].add_argument("--dest", type=int, required=True)
    sub.choices["send"].add_argument("--dest", type=int, required=True)
    sub.choices["send"].add_argument("--dest-sap", type=int, required=True)
    sub.choices["send"].add_argument("--data", required=True)
    sub.choices["send"].add_argument("--confirm", choices=["node", "client"], default="client")
    a = ap.parse_args()
    try:
        commands = {"conformance": conformance, "receive": receive, "send": send, "flood": flood}
        result = commands[a.cmd](a)
    except (AssertionError, OSError) as e:
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result), flush=True)
    sys.exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main()
