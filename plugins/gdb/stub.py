"""The GDB stub: gdb's remote serial protocol, answered from the kernel and its Machine.

All-stop: while the stub talks to gdb every core is stopped (they run one at a time in this
host thread, and the kernel called the stub). Every thread of every process is a gdb thread of
one inferior (see ``threads``); registers come from the architecture's
:class:`~kernkit.core.records.DebugTarget`, memory from the selected thread's address space,
breakpoints and single steps from the Machine protocol.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import attrs

from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.hookspecs import hookimpl
from kernkit.core.machine import Stop
from kernkit.plugins.gdb import signals
from kernkit.plugins.gdb.connection import Connection, ConnectionClosed
from kernkit.plugins.gdb.packets import escape, unescape
from kernkit.plugins.gdb.target import target_xml
from kernkit.plugins.gdb.threads import any_thread, describe, find_thread, live_threads

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread
    from kernkit.core.records import DebugTarget
    from kernkit.core.vm import AddressSpace

PACKET_SIZE = 0x4000
SUPPORTED = (
    f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;qXfer:exec-file:read+;swbreak+;hwbreak+;"
    "vContSupported+;QStartNoAckMode+"
).encode()
#: errno-style error replies gdb shows as "Remote failure reply".
E_NO_THREAD, E_BAD_ADDRESS, E_NO_MEMORY, E_INVALID, E_INTERNAL = b"E03", b"E14", b"E0c", b"E16", b"E05"


class BadPacket(ValueError):
    """A packet gdb should not have sent (or sent mangled): answered with E16."""


def _hex(value: str) -> int:
    if not value or value.startswith(("-", "+")):
        raise BadPacket(f"expected a hex number, got {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise BadPacket(f"expected a hex number, got {value!r}") from None


def _thread_id(text: str) -> int:
    """-1 all threads, 0 any thread, else a thread id; ``pPID.TID`` (multiprocess form) too."""
    if text.startswith("p"):
        text = text.partition(".")[2] or "-1"
    return -1 if text == "-1" else _hex(text)


def _address_and_length(text: str) -> tuple[int, int]:
    address, _, length = text.partition(",")
    return _hex(address), _hex(length)


class GdbStub:
    """One gdb session on one kernel. Registered with the kernel's plugin manager (for the
    ``kernkit_poll`` and ``kernkit_shutdown`` hooks) and set as ``kernel.debugger``."""

    def __init__(self, kernel: Kernel, connection: Connection, target: DebugTarget) -> None:
        self.kernel = kernel
        self.machine = kernel.machine
        self.conn = connection
        self.target = target
        self.registers = target.registers
        self._numbers = {register.name: i for i, register in enumerate(self.registers)}
        self._xml = target_xml(target).encode()
        self.breakpoints: set[int] = set()
        self.general: Thread | None = None  # Hg: whose registers and memory
        self.resume_thread: Thread | None = None  # Hc: who the old 's' and 'c' packets move
        self.last: Thread | None = None  # the thread of the last stop
        self.stepping: Thread | None = None
        #: Signals gdb gave threads when it resumed them (kernel numbering).
        self.signals: dict[Thread, int] = {}
        self.stop_reply = b"S05"
        self.state = "stopped"  # running, detaching, detached, killed
        self._ack_off = False

    # --- the kernel's side -------------------------------------------------------------------

    def start(self, thread: Thread) -> None:
        """Hold the kernel before ``thread`` (init) runs its first instruction, until gdb resumes."""
        self.last = self.general = thread
        self.stop_reply = self._stop_packet(signals.SIGTRAP, thread)
        self._hold(send=False)

    def stopped(self, core: int, thread: Thread, stop: Stop) -> Stop:
        """See :class:`kernkit.core.debugger.Debugger`."""
        if self.state != "running" or self.kernel.finished:
            return stop
        kind = stop.kind
        extra = ""
        if kind == "breakpoint":
            signal, extra = signals.SIGTRAP, "swbreak:;"
        elif kind == "fault":
            signal = stop.fault.signal
            if stop.fault.breakpoint:  # gdb wrote it (or the program has one): stop on it, as gdbserver
                thread.context.pc = stop.fault.pc
                extra = "swbreak:;"
        elif thread is self.stepping:
            signal = signals.SIGTRAP  # the step ended (or a syscall it made blocked)
        else:
            return stop
        self.stepping = None
        shown = any_thread(self.kernel, thread)
        if shown is None:
            return stop
        self.stop_reply = self._stop_packet(signal, shown, extra)
        self._hold(send=True, stopped=thread)
        if self.state == "killed":
            return Stop("debug", stop.instructions)
        passed = self.signals.pop(thread, 0)
        if kind == "fault":
            if passed == stop.fault.signal:
                return stop  # gdb passes the fault on: the kernel kills the process, with a report
            if passed:
                self._deliver(thread.process, passed)
            return attrs.evolve(stop, kind="debug", fault=None)  # forgiven: the instruction runs again
        if passed:
            self._deliver(thread.process, passed)
        return stop

    @hookimpl
    def kernkit_poll(self, kernel: Kernel) -> None:
        """gdb's interrupt (Ctrl-C) stops the kernel between rounds."""
        if self.state != "running" or not self.conn.interrupted():
            return
        thread = any_thread(kernel, *kernel.current, self.last)  # preferably one that was running
        if thread is None:
            return
        self.stop_reply = self._stop_packet(signals.SIGINT, thread)
        self._hold(send=True)

    @hookimpl
    def kernkit_shutdown(self, kernel: Kernel) -> None:
        """The run is over: tell a gdb that waits for the program how it ended."""
        if self.state == "running" and not self.conn.closed:
            init = kernel.init
            signal = init.term_signal if init is not None else None
            if signal is not None and init.exit_status == 128 + signal:
                reply = b"X%02x" % signals.to_gdb(signal)
            else:
                reply = b"W%02x" % ((kernel.exit_status or 0) & 0xFF)
            with contextlib.suppress(ConnectionClosed):
                self.conn.send(reply)
        self.conn.close()
        if kernel.debugger is self:
            kernel.debugger = None

    # --- holding the kernel while gdb looks ------------------------------------------------

    def _hold(self, send: bool, stopped: Thread | None = None) -> None:
        """Serve gdb until it resumes, detaches or kills; signals for threads other than
        ``stopped`` (whose caller decides) take effect when it resumes."""
        self.last = self.general = any_thread(self.kernel, stopped, self.last)
        self.state = "stopped"
        try:
            if send:
                self.conn.send(self.stop_reply)
            while self.state == "stopped":
                event = self.conn.receive()
                if event.kind == "interrupt":
                    continue  # already stopped
                reply = self.handle(event.payload)
                if reply is not None:
                    self.conn.send(reply)
                if self._ack_off:
                    self.conn.ack_mode = self._ack_off = False
        except ConnectionClosed as why:
            self.kernel.message(f"gdb: {why}; detached, the kernel runs on")
            self._detach()
            return
        if self.state == "detaching":
            self.conn.close()
            self.kernel.message("gdb: detached; the kernel runs on")
            self._detach()
            return
        for thread, signal in list(self.signals.items()):
            if thread is not stopped:
                del self.signals[thread]
                self._deliver(thread.process, signal)

    def _detach(self) -> None:
        self.state = "detached"
        self.breakpoints.clear()
        self.machine.set_breakpoints(())
        self.machine.single_step(None)
        self.stepping = None
        self.conn.close()
        if self.kernel.debugger is self:
            self.kernel.debugger = None

    def _deliver(self, process: Process, signal: int) -> None:
        """Signals take their default action in kernkit: the process ends."""
        if process.alive and signal not in (signals.SIGTRAP, signals.SIGINT):
            reason = f"gdb: pid {process.pid} ({process.name}) killed by signal {signal}"
            self.kernel.kill(process, signal, reason)

    def _kill(self) -> None:
        self.state = "killed"
        self.breakpoints.clear()
        self.machine.set_breakpoints(())
        self.machine.single_step(None)
        self.kernel.message("gdb: kill: the program is killed and the run ends")
        for process in sorted(self.kernel.processes.values(), key=lambda p: -p.pid):
            if process.alive:
                self.kernel.kill(process, signals.SIGKILL)
        self.kernel.finished = True

    # --- packets ---------------------------------------------------------------------------

    def handle(self, packet: bytes) -> bytes | None:
        """The reply to one packet (None: no reply now; the next stop answers a resume)."""
        text = packet.decode("latin-1")
        try:
            return self._dispatch(text, packet)
        except (ValueError, IndexError):  # BadPacket, bad hex, a missing field
            return E_INVALID
        except ConnectionClosed:
            raise
        except Exception as exc:  # a bug here must not take the kernel down with the session
            self.kernel.message(f"gdb: error answering {text[:40]!r}: {type(exc).__name__}: {exc}")
            return E_INTERNAL

    def _dispatch(self, text: str, packet: bytes) -> bytes | None:
        if not text:
            return b""
        head = text[0]
        if text == "?":
            return self.stop_reply
        if text.startswith("q") or text.startswith("Q"):
            return self._query(text)
        if text.startswith("v"):
            return self._v(text)
        if head == "H":
            return self._set_thread(text[1:2], text[2:])
        if head == "T":
            return b"OK" if find_thread(self.kernel, _thread_id(text[1:])) else E_NO_THREAD
        if head in "gGpP":
            return self._registers(text)
        if head in "mMX":
            return self._memory(head, text[1:], packet)
        if head in "Zz":
            return self._breakpoint(head == "Z", text[1:])
        if head in "cCsS":
            return self._legacy_resume(head, text[1:])
        if text == "k":
            self._kill()
            return None
        if head == "D":
            self.state = "detaching"
            return b"OK"
        return b""  # not supported: gdb knows what an empty reply means

    def _query(self, text: str) -> bytes:
        name, _, args = text.partition(":")
        if name == "qSupported":
            return SUPPORTED
        if name == "QStartNoAckMode":
            self._ack_off = True  # after this reply has been acknowledged
            return b"OK"
        if name == "qXfer":
            return self._xfer(args)
        if name == "qAttached":
            return b"0"  # kernkit started the program: gdb kills it when it quits
        if text == "qC":
            thread = any_thread(self.kernel, self.general, self.last)
            return b"QC%x" % thread.tid if thread else b""
        if text == "qfThreadInfo":
            threads = live_threads(self.kernel)
            return ("m" + ",".join(f"{t.tid:x}" for t in threads)).encode() if threads else b"l"
        if text == "qsThreadInfo":
            return b"l"
        if text.startswith("qThreadExtraInfo,"):
            thread = find_thread(self.kernel, _thread_id(text.split(",", 1)[1]))
            return describe(self.kernel, thread).encode().hex().encode() if thread else E_NO_THREAD
        if text.startswith("qRcmd,"):
            return self._monitor_command(bytes.fromhex(text[6:]).decode(errors="replace"))
        if text == "qSymbol::":
            return b"OK"
        return b""

    def _xfer(self, args: str) -> bytes:
        obj, _, rest = args.partition(":")
        operation, _, rest = rest.partition(":")
        annex, _, window = rest.rpartition(":")
        offset, length = _address_and_length(window)
        if operation != "read":
            return b""
        if obj == "features":
            if annex != "target.xml":
                return b"E00"
            data = self._xml
        elif obj == "exec-file":
            process = self._process(_hex(annex) if annex else None)
            if process is None or process.image is None or not getattr(process.image, "path", ""):
                return b"E00"
            data = str(process.image.path).encode()
        else:
            return b""
        chunk = data[offset : offset + length]
        return (b"m" if offset + length < len(data) else b"l") + escape(chunk)

    def _monitor_command(self, line: str) -> bytes:
        """``monitor CMD`` in gdb runs a kernel monitor command; its output comes as O packets."""
        from kernkit.core.monitor import run_command

        output = run_command(self.kernel, line, can_continue=False)
        if output:
            for start in range(0, len(output) + 1, 1000):
                piece = output[start : start + 1000] + ("\n" if start + 1000 >= len(output) else "")
                if piece:
                    self.conn.send(b"O" + piece.encode().hex().encode())
        return b"OK"

    # --- threads and resuming --------------------------------------------------------------

    def _process(self, pid: int | None = None) -> Process | None:
        if pid is not None:
            return self.kernel.processes.get(pid)
        thread = any_thread(self.kernel, self.general, self.last)
        return thread.process if thread is not None else None

    def _set_thread(self, which: str, text: str) -> bytes:
        tid = _thread_id(text)
        thread = None
        if tid > 0:
            thread = find_thread(self.kernel, tid)
            if thread is None:
                return E_NO_THREAD
        if which == "g":
            self.general = thread or any_thread(self.kernel, self.general, self.last)
        elif which == "c":
            self.resume_thread = thread
        else:
            raise BadPacket(f"H{which}")
        return b"OK"

    def _v(self, text: str) -> bytes | None:
        if text == "vCont?":
            return b"vCont;c;C;s;S"
        if text.startswith("vCont;"):
            actions = []
            for item in text[6:].split(";"):
                action, _, tid = item.partition(":")
                op, sig = action[:1], _hex(action[1:]) if len(action) > 1 else 0
                if op not in ("c", "C", "s", "S") or (op in "cs" and len(action) > 1):
                    raise BadPacket(f"vCont action {item!r}")
                actions.append((op.lower(), sig, _thread_id(tid) if tid else -1))
            self._resume(actions)
            return None
        if text.startswith("vKill"):
            self._kill()
            return b"OK"
        if text == "vMustReplyEmpty":
            return b""
        return b""

    def _legacy_resume(self, op: str, args: str) -> bytes | None:
        signal, address = 0, None
        if op in "CS":
            sig_text, _, addr_text = args.partition(";")
            signal = _hex(sig_text)
            address = _hex(addr_text) if addr_text else None
        elif args:
            address = _hex(args)
        thread = any_thread(self.kernel, self.resume_thread, self.general, self.last)
        if address is not None and thread is not None:
            thread.context.pc = address
        tid = thread.tid if thread is not None else -1
        self._resume([(op.lower(), signal, tid), ("c", 0, -1)])
        return None

    def _resume(self, actions: list[tuple[str, int, int]]) -> None:
        """vCont semantics: each thread takes the first action that names it (or all, -1)."""
        chosen: dict[Thread, tuple[str, int]] = {}
        threads = live_threads(self.kernel)
        for op, signal, tid in actions:
            for thread in threads:
                if thread not in chosen and (tid in (-1, 0) or thread.tid == tid):
                    chosen[thread] = (op, signal)
        self.signals = {t: signals.from_gdb(sig) for t, (_, sig) in chosen.items() if sig}
        steppers = [t for t, (op, _) in chosen.items() if op == "s"]
        self.stepping = steppers[0] if steppers else None
        self.machine.single_step(self.stepping)
        self.state = "running"

    # --- registers ---------------------------------------------------------------------------

    def _encode(self, index: int, value: int) -> str:
        size = self.registers[index].bits // 8
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, self.target.byte_order).hex()

    def _decode(self, data: str) -> int:
        return int.from_bytes(bytes.fromhex(data), self.target.byte_order)

    def _registers(self, text: str) -> bytes:
        thread = any_thread(self.kernel, self.general, self.last)
        if thread is None:
            return E_NO_THREAD
        context = thread.context
        if text == "g":
            return "".join(
                self._encode(i, context.get_register(r.name)) for i, r in enumerate(self.registers)
            ).encode()
        if text[0] == "G":
            data, sizes = text[1:], [r.bits // 4 for r in self.registers]
            if len(data) != sum(sizes):
                raise BadPacket("G: wrong length")
            offset = 0
            for register, size in zip(self.registers, sizes, strict=True):
                context.set_register(register.name, self._decode(data[offset : offset + size]))
                offset += size
            return b"OK"
        if text[0] == "p":
            index = _hex(text[1:])
            if index >= len(self.registers):
                return E_INVALID
            return self._encode(index, context.get_register(self.registers[index].name)).encode()
        number, _, value = text[1:].partition("=")
        index = _hex(number)
        if index >= len(self.registers) or len(value) != self.registers[index].bits // 4:
            return E_INVALID
        context.set_register(self.registers[index].name, self._decode(value))
        return b"OK"

    def _stop_packet(self, signal: int, thread: Thread, extra: str = "") -> bytes:
        context = thread.context
        numbers = [(self._numbers[name], name) for name in self.target.expedite]
        expedited = "".join(f"{n:02x}:{self._encode(n, context.get_register(name))};" for n, name in numbers)
        return f"T{signals.to_gdb(signal):02x}thread:{thread.tid:x};{expedited}{extra}".encode()

    # --- memory and breakpoints ----------------------------------------------------------------

    def _aspace(self) -> AddressSpace | None:
        process = self._process()
        return process.aspace if process is not None else None

    def _memory(self, op: str, text: str, packet: bytes) -> bytes:
        aspace = self._aspace()
        if op == "m":
            address, length = _address_and_length(text)
            length = min(length, PACKET_SIZE // 2 - 16)
            if aspace is None:
                return E_BAD_ADDRESS
            return self._read(aspace, address, length)
        header, _, data_text = text.partition(":")
        address, length = _address_and_length(header)
        data = bytes.fromhex(data_text) if op == "M" else unescape(packet[packet.index(b":") + 1 :])
        if len(data) != length:
            raise BadPacket("memory write: length does not match the data")
        if aspace is None:
            return E_BAD_ADDRESS
        try:
            aspace.poke(address, data)
        except BadAddress:
            return E_BAD_ADDRESS
        except OutOfMemory:
            return E_NO_MEMORY
        return b"OK"

    @staticmethod
    def _read(aspace: AddressSpace, address: int, length: int) -> bytes:
        """As much of the range as is readable from its start (gdb takes a short read)."""
        try:
            return aspace.peek(address, length).hex().encode()
        except BadAddress as bad:
            readable = bad.address - address
            if readable <= 0:
                return E_BAD_ADDRESS
            return aspace.peek(address, readable).hex().encode()

    def _breakpoint(self, insert: bool, text: str) -> bytes:
        kind, address_text, *rest = text.split(",")
        if kind not in ("0", "1"):  # watchpoints (2-4) are not supported: gdb falls back
            return b""
        if not rest:
            raise BadPacket("breakpoint without a kind")
        address = _hex(address_text)
        if insert:
            self.breakpoints.add(address)
        else:
            self.breakpoints.discard(address)
        self.machine.set_breakpoints(self.breakpoints)
        return b"OK"
