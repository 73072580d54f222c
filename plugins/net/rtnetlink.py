"""NETLINK_ROUTE's kernel side: the answers to the requests a netlink socket sends the kernel.

RTM_GETLINK and RTM_GETADDR dumps (NLM_F_DUMP) list plugins/net/interfaces.py's interfaces and
their addresses with the attributes Linux sends (IFLA_IFNAME, IFLA_MTU, IFLA_ADDRESS,
IFLA_BROADCAST, IFLA_STATS64, IFLA_STATS, ...; IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST,
IFA_LABEL, IFA_FLAGS, IFA_CACHEINFO); RTM_GETLINK without NLM_F_DUMP answers for one interface,
found by index or IFLA_IFNAME. Any other request is refused with an NLMSG_ERROR carrying
-EOPNOTSUPP and the request, as Linux answers a request it has no handler for; a message that is
not a request is acknowledged, or dropped, as Linux's netlink_rcv_skb does. Counters in the
statistics are 0: the stack moves streams, not packets (docs/net.md).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import attrs

from kernkit.core.errnos import EBUSY, EINVAL, ENODEV, EOPNOTSUPP
from kernkit.plugins.net.interfaces import AF_INET, AF_INET6, Address, Interface

NLMSG_ERROR, NLMSG_DONE, NLMSG_MIN_TYPE = 2, 3, 0x10
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP, NLM_F_CAPPED = 0x1, 0x2, 0x4, 0x300, 0x100
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_QDISC, IFLA_STATS = 1, 2, 3, 4, 6, 7
IFLA_TXQLEN, IFLA_OPERSTATE, IFLA_LINKMODE, IFLA_STATS64 = 13, 16, 17, 23
IFLA_GROUP, IFLA_PROMISCUITY = 27, 30
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES, IFLA_CARRIER, IFLA_MIN_MTU, IFLA_MAX_MTU = 31, 32, 33, 50, 51
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
IFA_F_PERMANENT = 0x80
HEADER = struct.Struct("<IHHII")
#: What a dump puts in one datagram unless the reader asked for more (Linux's NLMSG_GOODSIZE:
#: a page less the socket buffer's overhead).
GOODSIZE = 3776
#: The most a dump puts in one datagram, however large the reader's buffer (32 KiB less overhead).
MAX_BATCH = 32768 - 320


def align(length: int) -> int:
    return (length + 3) & ~3


def message(kind: int, flags: int, seq: int, portid: int, payload: bytes) -> bytes:
    """One netlink message: its length counts the payload, the padding after it is the datagram's."""
    data = HEADER.pack(HEADER.size + len(payload), kind, flags, seq, portid) + payload
    return data + bytes(align(len(data)) - len(data))


def attribute(kind: int, data: bytes) -> bytes:
    head = struct.pack("<HH", 4 + len(data), kind)
    return head + data + bytes(align(len(data)) - len(data))


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def link_payload(one: Interface) -> bytes:
    """struct ifinfomsg and the attributes Linux gives an interface, in Linux's order."""
    head = struct.pack("<BxHiII", 0, one.kind, one.index, one.flags, 0)
    loopback = one.name == "lo"
    items = [
        attribute(IFLA_IFNAME, one.name.encode() + b"\0"),
        attribute(IFLA_TXQLEN, _u32(1000)),
        attribute(IFLA_OPERSTATE, bytes([one.operstate])),
        attribute(IFLA_LINKMODE, b"\0"),
        attribute(IFLA_MTU, _u32(one.mtu)),
        attribute(IFLA_MIN_MTU, _u32(0 if loopback else 68)),
        attribute(IFLA_MAX_MTU, _u32(0 if loopback else 65535)),
        attribute(IFLA_GROUP, _u32(0)),
        attribute(IFLA_PROMISCUITY, _u32(0)),
        attribute(IFLA_NUM_TX_QUEUES, _u32(1)),
        attribute(IFLA_NUM_RX_QUEUES, _u32(1)),
        attribute(IFLA_CARRIER, b"\1"),
        attribute(IFLA_QDISC, one.qdisc.encode() + b"\0"),
        attribute(IFLA_ADDRESS, one.mac),
        attribute(IFLA_BROADCAST, one.broadcast),
        attribute(IFLA_STATS64, bytes(25 * 8)),  # struct rtnl_link_stats64
        attribute(IFLA_STATS, bytes(24 * 4)),  # struct rtnl_link_stats
    ]
    return head + b"".join(items)


def address_payload(one: Interface, address: Address) -> bytes:
    """struct ifaddrmsg and its attributes, as Linux's IPv4 and IPv6 dumps give them."""
    head = struct.pack("<BBBBI", address.family, address.prefix, IFA_F_PERMANENT, address.scope, one.index)
    forever = struct.pack("<IIII", 0xFFFFFFFF, 0xFFFFFFFF, 0, 0)  # made at boot, never expiring
    if address.family == AF_INET6:
        items = [attribute(IFA_ADDRESS, address.packed), attribute(IFA_CACHEINFO, forever)]
        return head + b"".join([*items, attribute(IFA_FLAGS, _u32(IFA_F_PERMANENT))])
    items = [attribute(IFA_ADDRESS, address.packed), attribute(IFA_LOCAL, address.packed)]
    if address.broadcast:
        items.append(attribute(IFA_BROADCAST, address.broadcast))
    items += [attribute(IFA_LABEL, one.name.encode() + b"\0"), attribute(IFA_FLAGS, _u32(IFA_F_PERMANENT))]
    return head + b"".join([*items, attribute(IFA_CACHEINFO, forever)])


@attrs.define
class Dump:
    """A dump under way: its messages not yet queued, and the NLMSG_DONE that ends it."""

    pending: list[bytes]
    done: bytes

    def batch(self, room: int) -> bytes:
        """The next datagram: as many whole messages as fit ``room`` bytes (at least one), or
        the NLMSG_DONE alone once they are all out (b"" after that)."""
        if not self.pending:
            done, self.done = self.done, b""
            return done
        taken, size = 0, 0
        while taken < len(self.pending) and (not taken or size + len(self.pending[taken]) <= room):
            size += len(self.pending[taken])
            taken += 1
        out, self.pending = b"".join(self.pending[:taken]), self.pending[taken:]
        return out


@attrs.define
class Answer:
    """What the kernel answers one send: datagrams to queue now, and a dump to start."""

    datagrams: list[bytes] = attrs.Factory(list)
    dump: Dump | None = None


def requests(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, message) for each whole message in ``data``; a short or overlong
    length ends the walk, as in Linux."""
    offset = 0
    while len(data) - offset >= HEADER.size:
        length, kind, flags, seq, _ = HEADER.unpack_from(data, offset)
        if length < HEADER.size or length > len(data) - offset:
            return
        yield kind, flags, seq, data[offset : offset + length]
        offset += align(length)


def error(err: int, request: bytes, portid: int, capped: bool = False) -> bytes:
    """NLMSG_ERROR: the errno (0 for an ack) and the request, whole for an error, its header
    alone (NLM_F_CAPPED) for an ack or with NETLINK_CAP_ACK set."""
    _, _, _, seq, _ = HEADER.unpack_from(request)
    whole = err and not capped
    echoed = request if whole else request[: HEADER.size]
    return message(NLMSG_ERROR, 0 if whole else NLM_F_CAPPED, seq, portid, struct.pack("<i", err) + echoed)


def answer(
    interfaces: list[Interface], data: bytes, portid: int, dumping: bool, capped: bool = False
) -> Answer:
    """The kernel's answer to ``data``, sent by the socket bound to ``portid`` (``dumping``:
    that socket has a dump under way, and may not start another; ``capped``: errors echo the
    request's header alone)."""
    out = Answer()
    for kind, flags, seq, request in requests(data):
        err = 0
        if flags & NLM_F_REQUEST and kind >= NLMSG_MIN_TYPE and len(request) > HEADER.size:
            if kind in (RTM_GETLINK, RTM_GETADDR) and flags & NLM_F_DUMP == NLM_F_DUMP:
                if dumping or out.dump is not None:
                    err = -EBUSY
                else:
                    out.dump = _dump(interfaces, kind, request, seq, portid)
                    continue  # a dump is not acknowledged: its NLMSG_DONE ends it
            elif kind == RTM_GETLINK:
                found = _get_link(interfaces, request)
                if isinstance(found, int):
                    err = found
                else:
                    out.datagrams.append(message(RTM_NEWLINK, 0, seq, portid, link_payload(found)))
            else:
                err = -EOPNOTSUPP
        if err or flags & NLM_F_ACK:
            out.datagrams.append(error(err, request, portid, capped))
    return out


def _dump(interfaces: list[Interface], kind: int, request: bytes, seq: int, portid: int) -> Dump:
    if kind == RTM_GETLINK:
        items = [message(RTM_NEWLINK, NLM_F_MULTI, seq, portid, link_payload(one)) for one in interfaces]
    else:
        family = request[HEADER.size]
        families = [family] if family in (AF_INET, AF_INET6) else [AF_INET, AF_INET6]
        items = [
            message(RTM_NEWADDR, NLM_F_MULTI, seq, portid, address_payload(one, address))
            for wanted in families
            for one in interfaces
            for address in one.addresses
            if address.family == wanted
        ]
    return Dump(items, message(NLMSG_DONE, NLM_F_MULTI, seq, portid, struct.pack("<i", 0)))


def _get_link(interfaces: list[Interface], request: bytes) -> Interface | int:
    """The interface an RTM_GETLINK names: by ifi_index, else by IFLA_IFNAME."""
    body = request[HEADER.size :]
    if len(body) < 16:
        return -EINVAL
    (index,) = struct.unpack_from("<i", body, 4)
    name = None
    offset = 16
    while len(body) - offset >= 4:
        length, kind = struct.unpack_from("<HH", body, offset)
        if length < 4 or offset + length > len(body):
            break
        if kind & 0x3FFF == IFLA_IFNAME:
            name = body[offset + 4 : offset + length].split(b"\0", 1)[0].decode("latin-1")
        offset += align(length)
    if index > 0:
        found = next((one for one in interfaces if one.index == index), None)
    elif name is not None:
        found = next((one for one in interfaces if one.name == name), None)
    else:
        return -EINVAL
    return -ENODEV if found is None else found
