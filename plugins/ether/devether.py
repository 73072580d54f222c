"""#ether: virtual ethernet NICs as files, after Plan 9's ether device (bound on /net).

    /net/etherN/addr      the NIC's address, 12 hex digits
    /net/etherN/clone     open: a new connection K; the channel is its ctl (reading it says K)
    /net/etherN/stats     frames and bytes in and out, drops, promiscuity, the address
    /net/etherN/ifstats   what the interface is (the hub, its ports, the MTU)
    /net/etherN/K/ctl     connect TYPE (decimal, 0x hex, -1 for every type), promiscuous
    /net/etherN/K/data    write: one whole frame (its source is filled in); read: one whole frame
    /net/etherN/K/type    the type connected to        /net/etherN/K/stats   the connection's counters
    /net/etherN/K/err     the last error of a ctl or data write, one line

``#ether`` lists every NIC; ``#ether.N`` only etherN. A connection lives while any of its files is
open. A bad ctl message or frame fails the write (EINVAL; EMSGSIZE for a frame that is too long)
and leaves its reason in ``err``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
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
from kernkit.plugins.ether.segment import ALL_TYPES, Conn, Nic, segment_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

TOP, NIC, CONN, ADDR, CLONE, STATS, IFSTATS, CTL, DATA, TYPE, CSTATS, ERR = range(1, 13)
NIC_FILES = {"addr": ADDR, "clone": CLONE, "ifstats": IFSTATS, "stats": STATS}
CONN_FILES = {"ctl": CTL, "data": DATA, "err": ERR, "stats": CSTATS, "type": TYPE}
NAMES = {v: k for files in (NIC_FILES, CONN_FILES) for k, v in files.items()}
DIRECTORIES = (TOP, NIC, CONN)


def _qid(nic: Nic | None, conn: Conn | None, kind: int) -> Qid:
    path = ((nic.index + 1) if nic else 0) << 24 | ((conn.index + 1) if conn else 0) << 8 | kind
    return Qid(path, 0, QTDIR if kind in DIRECTORIES else 0)


def parse_type(word: str) -> int:
    """An ethertype: decimal, 0x hex, or -1 for every type."""
    try:
        value = int(word, 16) if word.lower().startswith("0x") else int(word, 10)
    except ValueError:
        value = None
    if value is None or not (value == ALL_TYPES or 0 <= value <= 0xFFFF):
        raise DeviceError(
            "EINVAL", f"connect {word}: expected an ethertype 0 to 65535 (0x88b5), or -1 for all"
        )
    return value


class EtherDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.segment = segment_of(kernel)

    # --- the tree ---------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        nics = self.segment.nics
        if spec:
            if not decimal(spec) or int(spec) >= len(nics):
                raise DeviceError(
                    "ENODEV", f"#ether.{spec}: no such NIC (there are {len(nics)}: [ether] nics)"
                )
            only = nics[int(spec)]
            return Chan(self, Qid(only.index + 1 << 24 | TOP, 0, QTDIR), 0, (only, None, TOP))
        return Chan(self, _qid(None, None, TOP), 0, (None, None, TOP))

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        nic, conn, kind = chan.aux
        if kind == TOP:
            for candidate in [nic] if nic else self.segment.nics:
                if name == f"ether{candidate.index}":
                    return Chan(self, _qid(candidate, None, NIC), 0, (candidate, None, NIC))
            return None
        if kind == NIC:
            if name in NIC_FILES:
                return Chan(self, _qid(nic, None, NIC_FILES[name]), 0, (nic, None, NIC_FILES[name]))
            if decimal(name) and (name == "0" or not name.startswith("0")):
                found = nic.conn(int(name))
                if found is not None:
                    return Chan(self, _qid(nic, found, CONN), 0, (nic, found, CONN))
            return None
        if kind == CONN and name in CONN_FILES:
            return Chan(self, _qid(nic, conn, CONN_FILES[name]), 0, (nic, conn, CONN_FILES[name]))
        return None

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        nic, conn, kind = chan.aux
        if kind == TOP:
            return Dir("#ether", chan.qid, DMDIR | 0o555)
        if kind == NIC:
            return Dir(f"ether{nic.index}", chan.qid, DMDIR | 0o555)
        owner = (conn.owner if conn else "") or "kernkit"
        if kind == CONN:
            return Dir(str(conn.index), chan.qid, DMDIR | 0o555, uid=owner)
        mode = 0o666 if kind in (CLONE, CTL, DATA) else 0o444
        return Dir(NAMES[kind], chan.qid, mode, uid=owner)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        nic, conn, kind = chan.aux
        if kind == TOP:
            names = [f"ether{n.index}" for n in ([nic] if nic else self.segment.nics)]
        elif kind == NIC:
            names = [*NIC_FILES, *(str(c.index) for c in nic.conns if c is not None)]
        elif kind == CONN:
            names = list(CONN_FILES)
        else:
            raise DeviceError("ENOTDIR")
        return [
            self.stat(child, caller=caller)
            for name in names
            if (child := self.walk(chan, name, caller=caller)) is not None
        ]

    # --- opening and closing ----------------------------------------------------------------

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        nic, conn, kind = chan.aux
        if kind == CLONE:
            conn = nic.new_conn(caller.process.name if caller is not None else "")
            opened = Chan(
                self, _qid(nic, conn, CTL), 0, (nic, conn, CTL), f"/net/ether{nic.index}/{conn.index}/ctl"
            )
            opened.mode = mode
            conn.opens += 1
            return opened
        opened = super().open(chan, mode, caller=caller)
        if conn is not None:
            conn.opens += 1
        return opened

    def close(self, chan: Chan) -> None:
        nic, conn, _ = chan.aux
        if chan.mode == CLOSED or conn is None:
            return
        chan.mode = CLOSED
        conn.opens -= 1
        if conn.opens <= 0:
            nic.free(conn)

    # --- reading and writing ----------------------------------------------------------------

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        nic, conn, kind = chan.aux
        if kind == DATA:
            try:
                return conn.read(count)
            except DeviceError as exc:
                conn.err = f"{exc.message or exc.code}\n"
                raise
        if kind in DIRECTORIES:
            raise DeviceError("EISDIR")
        text = {
            ADDR: lambda: nic.mac.hex() + "\n",
            STATS: nic.stats,
            IFSTATS: nic.ifstats,
            CTL: lambda: str(conn.index),
            TYPE: lambda: "none\n" if conn.type is None else f"{conn.type}\n",
            CSTATS: lambda: conn.stats(),
            ERR: lambda: conn.err,
        }.get(kind)
        if text is None:
            raise DeviceError("EPERM", f"{NAMES.get(kind, 'this file')} is not readable")
        return text().encode()[offset : offset + count]

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        nic, conn, kind = chan.aux
        if kind not in (DATA, CTL):
            raise DeviceError("EPERM", f"{NAMES.get(kind, 'this file')} is read-only")
        try:
            if kind == DATA:
                return conn.write(data)
            self.ctl(conn, data)
        except DeviceError as exc:
            conn.err = f"{exc.message or exc.code}\n"
            raise
        return len(data)

    def ctl(self, conn: Conn, data: bytes) -> None:
        try:
            words = data.decode("ascii").split()
        except UnicodeDecodeError:
            raise DeviceError("EINVAL", "ctl messages are ASCII text") from None
        if not words:
            raise DeviceError("EINVAL", "empty ctl message (expected connect TYPE or promiscuous)")
        verb, args = words[0], words[1:]
        if verb == "connect" and len(args) == 1:
            conn.type = parse_type(args[0])
        elif verb == "promiscuous" and not args:
            conn.promiscuous = True
        elif verb == "connect":
            raise DeviceError("EINVAL", f"bad ctl message {' '.join(words)!r}: expected connect TYPE")
        elif verb == "promiscuous":
            raise DeviceError("EINVAL", f"bad ctl message {' '.join(words)!r}: promiscuous takes no argument")
        else:
            raise DeviceError(
                "EINVAL", f"unknown ctl message {verb!r} (expected connect TYPE or promiscuous)"
            )

    def poll(self, chan: Chan) -> int:
        nic, conn, kind = chan.aux
        if kind == DATA and conn is not None:
            return (POLLIN if conn.frames else 0) | POLLOUT
        return POLLIN | POLLOUT
