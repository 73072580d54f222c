"""#ip: the network as files, as in Plan 9 (bound on /net by default).

    /net/tcp/clone        open: a new conversation; the channel is its ctl (reading it says N)
    /net/tcp/N/ctl        connect ADDR!PORT, announce [ADDR!]PORT, bind [ADDR!]PORT, hangup,
                          shutdown rd|wr|rdwr, backlog N, headers (UDP)
    /net/tcp/N/data       the conversation's bytes
    /net/tcp/N/listen     open: wait for a call on an announced conversation; the channel is
                          the new conversation's ctl
    /net/tcp/N/local, remote, status, err   what it is bound to, talks to, its state, its last error
    /net/udp/...          the same for UDP datagrams
    /net/ipifc/0/..., /net/ndb   the interfaces and the kernel's own address

A bad ctl message fails the write (EINVAL, or the error the stack gives) and leaves a one-line
explanation in the conversation's ``err`` file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMSOCKET,
    POLLIN,
    POLLOUT,
    QTDIR,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    decimal,
)
from kernkit.plugins.net import inet6
from kernkit.plugins.net.inet6 import packed6
from kernkit.plugins.net.stack import ANY, PROTOCOLS, WILDCARDS, Conv, Stack, stack_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

# file types (the low byte of a qid path)
TOP, PROTO, CONV, CLONE, STATS, CTL, DATA, LISTEN, LOCAL, REMOTE, STATUS, ERR = range(1, 13)
IFCDIR, IFC, IFCLOCAL, IFCSTATUS, NDB = range(13, 18)
CONV_FILES = {
    "ctl": CTL,
    "data": DATA,
    "err": ERR,
    "listen": LISTEN,
    "local": LOCAL,
    "remote": REMOTE,
    "status": STATUS,
}
NAMES = {v: k for k, v in CONV_FILES.items()}
PROTO_NUMBER = {"tcp": 1, "udp": 2, "ipifc": 3}
INTERFACES = ("0", "1")  # 0: the kernel's own address, 1: loopback


def _qid(proto: str, conv: int, kind: int) -> Qid:
    directory = kind in (TOP, PROTO, CONV, IFCDIR, IFC)
    return Qid(PROTO_NUMBER.get(proto, 0) << 28 | (conv + 1) << 8 | kind, 0, QTDIR if directory else 0)


def parse_addr(text: str, stack: Stack, default_host: str = ANY) -> tuple[str, int]:
    """``ADDR!PORT``, ``*!PORT`` or ``PORT`` (a leading ``tcp!``/``udp!`` is allowed)."""
    parts = text.split("!")
    if parts[0] in PROTOCOLS and len(parts) > 1:
        parts = parts[1:]
    if len(parts) == 1:
        if not decimal(parts[0]):
            raise DeviceError("EINVAL", f"{text!r}: expected ADDR!PORT or PORT")
        host, port = default_host, parts[0]
    elif len(parts) == 2:
        host, port = parts
    else:
        raise DeviceError("EINVAL", f"{text!r}: expected ADDR!PORT")
    if host == "*":
        host = ANY
    if not decimal(port) or int(port) > 65535:
        raise DeviceError("EINVAL", f"{text!r}: port {port!r} is not a number from 0 to 65535")
    if ":" in host:  # IPv6, as Plan 9 takes it too
        address = inet6.parse_text(host)
        if address is None:
            raise DeviceError("EINVAL", f"{text!r}: {host!r} is not an IPv6 address")
        return address, int(port)
    pieces = host.split(".")
    if len(pieces) != 4 or not all(decimal(p) and int(p) < 256 for p in pieces):
        raise DeviceError("EINVAL", f"{text!r}: {host!r} is not an IPv4 address")
    return ".".join(str(int(p)) for p in pieces), int(port)


class IpDevice(DeviceDriver):
    reads_finish_in_wake = True

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        stack = stack_of(kernel)
        if stack is None:
            raise DeviceError("ENODEV", "#ip needs the [net] options")
        self.stack = stack

    # --- the tree ---------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#ip takes no spec (got {spec!r})")
        return Chan(self, _qid("", -1, TOP), 0, ("", None, TOP))

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        proto, conv, kind = chan.aux
        if kind == TOP:
            if name in PROTOCOLS:
                return Chan(self, _qid(name, -1, PROTO), 0, (name, None, PROTO))
            if name == "ipifc":
                return Chan(self, _qid("ipifc", -1, IFCDIR), 0, ("ipifc", None, IFCDIR))
            if name == "ndb":
                return Chan(self, _qid("", -1, NDB), 0, ("", None, NDB))
            return None
        if kind == PROTO:
            if name == "clone":
                return Chan(self, _qid(proto, -1, CLONE), 0, (proto, None, CLONE))
            if name == "stats":
                return Chan(self, _qid(proto, -1, STATS), 0, (proto, None, STATS))
            if decimal(name) and (name == "0" or not name.startswith("0")):
                found = self.stack.conv(proto, int(name))
                if found is not None:
                    return Chan(self, _qid(proto, found.index, CONV), 0, (proto, found, CONV))
            return None
        if kind == CONV:
            file = CONV_FILES.get(name)
            if file is None:
                return None
            return Chan(self, _qid(proto, conv.index, file), 0, (proto, conv, file))
        if kind == IFCDIR:
            if name in INTERFACES:
                return Chan(self, _qid("ipifc", int(name), IFC), 0, ("ipifc", int(name), IFC))
            return None
        if kind == IFC:
            files = {"local": IFCLOCAL, "status": IFCSTATUS}
            if name in files:
                return Chan(self, _qid("ipifc", conv, files[name]), 0, ("ipifc", conv, files[name]))
        return None

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        proto, conv, kind = chan.aux
        if kind == TOP:
            return Dir("net", chan.qid, DMDIR | 0o555)
        if kind in (PROTO, IFCDIR):
            return Dir(proto, chan.qid, DMDIR | 0o555)
        if kind == CONV:
            return Dir(str(conv.index), chan.qid, DMDIR | 0o555, uid=conv.owner or "kernkit")
        if kind == IFC:
            return Dir(str(conv), chan.qid, DMDIR | 0o555)
        if kind == CLONE:
            return Dir("clone", chan.qid, 0o666)
        if kind == STATS:
            return Dir("stats", chan.qid, 0o444)
        if kind == NDB:
            return Dir("ndb", chan.qid, 0o444)
        if kind in (IFCLOCAL, IFCSTATUS):
            return Dir("local" if kind == IFCLOCAL else "status", chan.qid, 0o444)
        name = NAMES[kind]
        mode = {DATA: DMSOCKET | 0o666, CTL: 0o666, LISTEN: 0o666}.get(kind, 0o444)
        return Dir(name, chan.qid, mode, uid=conv.owner or "kernkit")

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        proto, conv, kind = chan.aux
        if kind == TOP:
            names = [*PROTOCOLS, "ipifc", "ndb"]
        elif kind == PROTO:
            names = ["clone", "stats"] + [str(c.index) for c in self.stack.convs[proto] if c is not None]
        elif kind == CONV:
            names = list(CONV_FILES)
        elif kind == IFCDIR:
            names = list(INTERFACES)
        elif kind == IFC:
            names = ["local", "status"]
        else:
            raise DeviceError("ENOTDIR")
        entries = []
        for name in names:
            child = self.walk(chan, name, caller=caller)
            if child is not None:
                entries.append(self.stat(child, caller=caller))
        return entries

    # --- opening and closing ----------------------------------------------------------------

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        proto, conv, kind = chan.aux
        if kind == CLONE:
            conv = self.stack.new_conv(proto, owner=caller.process.name if caller is not None else "")
            return self.open_conv_file(conv, CTL, mode)
        if kind == LISTEN:
            accepted = conv.accept()  # WouldBlock while no call waits
            return self.open_conv_file(accepted, CTL, mode)
        opened = super().open(chan, mode, caller=caller)
        if conv is not None and isinstance(conv, Conv):
            conv.opens += 1
        return opened

    def open_conv_file(self, conv: Conv, kind: int, mode: int) -> Chan:
        """An open channel on one file of ``conv`` (for clone, listen and sockets)."""
        chan = Chan(
            self,
            _qid(conv.proto, conv.index, kind),
            0,
            (conv.proto, conv, kind),
            f"/net/{conv.proto}/{conv.index}/{NAMES[kind]}",
        )
        chan.mode = mode
        conv.opens += 1
        return chan

    def close(self, chan: Chan) -> None:
        _, conv, _ = chan.aux
        if chan.mode == CLOSED or not isinstance(conv, Conv):
            return
        chan.mode = CLOSED
        conv.opens -= 1
        if conv.opens <= 0:
            conv.release()

    # --- reading and writing ----------------------------------------------------------------

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        proto, conv, kind = chan.aux
        if kind == DATA:
            if conv.proto == "udp" and conv.headers:
                source, port, data = conv.recv_datagram(max(0, count - 52))
                return udp_header(source, port, conv) + data
            return conv.read(count)
        text = self._text(chan)
        if text is None:
            raise DeviceError("EISDIR" if chan.qid.type & QTDIR else "EPERM")
        return text.encode()[offset : offset + count]

    def _text(self, chan: Chan) -> str | None:
        proto, conv, kind = chan.aux
        stack = self.stack
        if kind == CTL:
            return str(conv.index)
        if kind == LOCAL:
            return conv.local + "\n"
        if kind == REMOTE:
            return conv.remote + "\n"
        if kind == STATUS:
            return conv.status()
        if kind == ERR:
            return conv.err
        if kind == STATS:
            convs = [c for c in stack.convs[proto] if c is not None]
            return (
                f"Conversations: {len(convs)}\nListening: {sum(c.state == 'Listen' for c in convs)}\n"
                f"Sent: {sum(c.sent for c in convs)}\nReceived: {sum(c.received for c in convs)}\n"
            )
        if kind == NDB:
            mask = stack.network.netmask
            return f"ip={stack.address} ipmask={mask} ipnet={stack.network.network_address}\n\tsys=kernkit\n"
        if kind == IFCLOCAL:
            if conv == 0:
                return f"{stack.address} {stack.network.netmask} {stack.network.network_address}\n"
            return "127.0.0.1 255.0.0.0 127.0.0.0\n"
        if kind == IFCSTATUS:
            device = "ether0" if conv == 0 else "loopback"
            address = stack.address if conv == 0 else "127.0.0.1"
            return f"device /net/{device} maxtu 65536 sendra 0 recvra 0\n\t{address}\n"
        return None

    def linux_ioctl(self, t: Thread, chan: Chan, request: int, arg: int) -> int | None:
        """The interface ioctls on a conversation's data file (a socket)."""
        proto, conv, kind = chan.aux
        if kind != DATA:
            return None
        from kernkit.plugins.net import ifreq

        return ifreq.ioctl(t, inet6.family_of(conv), request, arg)

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        proto, conv, kind = chan.aux
        if kind == DATA:
            if conv.proto == "udp" and conv.headers:
                if len(data) < 52:
                    raise DeviceError("EINVAL", "a UDP write with headers needs the 52-byte header")
                addr, port = parse_udp_header(data)
                return conv.send_datagram(data[52:], addr, port) + 52
            return conv.write(data)
        if kind != CTL:
            raise DeviceError("EPERM", f"{NAMES.get(kind, 'this file')} is read-only")
        try:
            self.ctl(conv, data)
        except DeviceError as exc:
            if exc.code != "EAGAIN":
                conv.err = f"{exc.message or exc.code}\n"
            raise
        return len(data)

    def ctl(self, conv: Conv, data: bytes) -> None:
        try:
            words = data.decode("ascii").split()
        except UnicodeDecodeError:
            raise DeviceError("EINVAL", "ctl messages are ASCII text") from None
        if not words:
            raise DeviceError("EINVAL", "empty ctl message")
        verb, args = words[0], words[1:]
        stack = self.stack
        if verb == "connect" and 1 <= len(args) <= 2:
            addr, port = parse_addr(args[0], stack)
            if len(args) == 2 and not conv.lport:
                conv.bind(ANY, parse_addr(args[1], stack)[1])
            if (
                conv.state == "Established"
                and (conv.raddr, conv.rport) == (addr, port)
                and conv.proto == "tcp"
            ):
                return  # a restarted write after waiting for backlog room: done
            conv.connect(addr, port)
        elif verb == "announce" and len(args) == 1:
            addr, port = parse_addr(args[0], stack)
            if not conv.lport:
                conv.bind(addr, port)
            conv.announce(conv.backlog or stack.max_backlog)
        elif verb == "bind" and len(args) == 1:
            addr, port = parse_addr(args[0], stack)
            conv.bind(addr, port)
        elif verb == "backlog" and len(args) == 1 and decimal(args[0]):
            conv.backlog = max(1, min(int(args[0]), stack.max_backlog))
        elif verb == "hangup" and not args:
            conv.hangup(abortive=True)
        elif verb == "shutdown" and len(args) == 1 and args[0] in ("rd", "wr", "rdwr"):
            conv.shutdown(("rd", "wr", "rdwr").index(args[0]))
        elif verb == "headers" and not args and conv.proto == "udp":
            conv.headers = True
        elif verb in ("keepalive", "nodelay", "ttl", "tos") and conv.proto == "tcp":
            pass  # accepted: a loopback stream has no segments to tune
        else:
            usage = {
                "connect": "connect ADDR!PORT [LOCALPORT]",
                "announce": "announce [ADDR!]PORT",
                "bind": "bind [ADDR!]PORT",
                "backlog": "backlog N",
                "hangup": "hangup",
                "shutdown": "shutdown rd|wr|rdwr",
                "headers": "headers (UDP only)",
            }
            if verb in usage:
                raise DeviceError(
                    "EINVAL",
                    f"bad ctl message {data.decode(errors='replace').strip()!r}: expected {usage[verb]}",
                )
            raise DeviceError(
                "EINVAL",
                f"unknown ctl message {verb!r} (expected connect, announce, "
                "bind, backlog, hangup, shutdown or headers)",
            )

    def poll(self, chan: Chan) -> int:
        proto, conv, kind = chan.aux
        if isinstance(conv, Conv) and kind in (DATA, LISTEN, CTL):
            return conv.poll()
        return POLLIN | POLLOUT


def udp_header(source: str, port: int, conv: Conv) -> bytes:
    """Plan 9's Udphdr: raddr[16] laddr[16] ifcaddr[16] rport[2] lport[2] (v4 in v6 form)."""
    laddr = conv.laddr if conv.laddr not in WILDCARDS else conv.stack.source_for(source)
    return packed6(source) + packed6(laddr) * 2 + port.to_bytes(2, "big") + conv.lport.to_bytes(2, "big")


def parse_udp_header(data: bytes) -> tuple[str, int]:
    return inet6.stack_address(data[:16]), int.from_bytes(data[48:50], "big")
