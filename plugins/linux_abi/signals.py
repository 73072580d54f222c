"""Linux signals: generation, the thread that takes a process-directed signal, delivery on the
way back to user mode (handlers on a real rt_sigframe, default actions), faults as signals,
stop and continue, and the system calls that send signals and change dispositions and masks.

Delivery rides on the core's return-to-user step (``SyscallTable.return_to_user``): a thread
that has a signal to take is flagged with ``Kernel.want_user_work``; the kernel calls
:func:`return_to_user` right after the system call that flagged it, or before the thread's next
run (after a slice, or when :func:`send` woke it from a blocking call with
``Kernel.interrupt``). docs/signals.md describes what is delivered when.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINTR, EINVAL, ENOMEM, EPERM, ESRCH
from kernkit.core.errors import BadAddress
from kernkit.core.machine import Fault
from kernkit.core.process import BLOCKED, EXITED, RUNNING
from kernkit.core.state import Slot
from kernkit.core.wait import wake_pollers
from kernkit.plugins.linux_abi import sigframe
from kernkit.plugins.linux_abi.jobs import group_members, orphaned_group
from kernkit.plugins.linux_abi.sigstate import (
    CLD_CONTINUED,
    CLD_STOPPED,
    FAULT_CODES,
    FIRST_MASK,
    IGNORED_BY_DEFAULT,
    MINSIGSTKSZ,
    NSIG,
    PROCESS_KEY,
    SA_NOCLDSTOP,
    SA_NODEFER,
    SA_ONSTACK,
    SA_RESETHAND,
    SA_RESTART,
    SA_RESTORER,
    SI_KERNEL,
    SI_TKILL,
    SI_USER,
    SIG_DFL,
    SIG_IGN,
    SIGBUS,
    SIGCHLD,
    SIGCONT,
    SIGKILL,
    SIGPIPE,
    SIGSEGV,
    SIGSTOP,
    SS_AUTODISARM,
    SS_DISABLE,
    SS_ONSTACK,
    STOP_SIGNALS,
    THREAD_KEY,
    UNBLOCKABLE,
    ProcessSignals,
    SigAction,
    SigInfo,
    ThreadSignals,
    bit,
    next_of,
    of_process,
    of_thread,
    signal_name,
)

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.machine import RegisterImage
    from kernkit.core.process import Process, Thread
    from kernkit.core.wait import WaitQueue

ALL = (1 << NSIG) - 1
#: The signals a mask may hold (masks are kept without SIGKILL and SIGSTOP). Masks are combined
#: with positive constants: a negative operand (``~x``) costs Python a copy and a complement.
BLOCKABLE = ALL ^ UNBLOCKABLE
#: Clock ticks a second (USER_HZ) in siginfo's si_utime and times().
CLOCK_TICKS = 100
STOP_MASK = sum(bit(s) for s in STOP_SIGNALS)
STOP_CONT_MASK = STOP_MASK | bit(SIGCONT)
#: Signals whose default action does not end the process (ignored, or stop).
NOT_FATAL_MASK = STOP_MASK | sum(bit(s) for s in IGNORED_BY_DEFAULT)
SIGSET_SIZE = 8
#: How a system call interrupted by a signal ends (Linux's -ERESTART* codes): with a handler,
#: RESTARTSYS calls restart only under SA_RESTART, NOHAND ones fail with EINTR; without one
#: (the signal stopped and continued the process) both restart. NEVER: EINTR in every case.
RESTARTSYS, NOHAND, NEVER = "restartsys", "nohand", "never"
RESTART_KIND = {
    7: NOHAND,  # poll
    23: NOHAND,  # select
    34: NOHAND,  # pause
    35: NOHAND,  # nanosleep
    130: NOHAND,  # rt_sigsuspend
    230: NOHAND,  # clock_nanosleep
    270: NOHAND,  # pselect6
    271: NOHAND,  # ppoll
    128: NEVER,  # rt_sigtimedwait
    232: NEVER,  # epoll_wait
    281: NEVER,  # epoll_pwait
}
FUTEX = 202
#: x86-64: what sigcontext says for each fault cause: (trap number, page-fault error code bits).
TRAPS = {"SEGV_MAPERR": 14, "SEGV_ACCERR": 14, "BUS_ADRERR": 14, "BUS_OBJERR": 14, "BUS_ADRALN": 17,
         "FPE_INTDIV": 0, "ILL_ILLOPN": 6, "TRAP_TRACE": 1}  # fmt: skip
#: Open signalfds in the kernel, and the queue their blocked readers sleep in.
SIGNALFDS: Slot[int] = Slot("linux.signalfds")
SIGNALFD_READERS: Slot[WaitQueue] = Slot("linux.signalfd_readers")
#: Called on EINTR with (thread, syscall number, registers): what an interrupted call leaves
#: behind (remaining time, deadlines kept across restarts). Other modules add to it.
ON_EINTR: dict[int, object] = {}


# --- generation -----------------------------------------------------------------------------


def is_linux(process: Process) -> bool:
    return process.personality.post_signal is post_signal


def post_signal(process: Process, signal: int, sender: int) -> None:
    """``SyscallTable.post_signal``: a signal from outside the personality (or the kernel)."""
    send(process, SigInfo(signal, SI_USER if sender else SI_KERNEL, pid=sender))


def send_to(process: Process, signal: int, sender: Process | None) -> None:
    """``kill()``'s delivery to any process: Linux's own, or another personality's way."""
    if signal == 0 or not process.alive:
        return
    if process.personality.post_signal is post_signal:  # is_linux(process)
        send(process, SigInfo(signal, SI_USER, pid=sender.pid if sender else 0))
    elif process.personality.post_signal is not None:
        process.personality.post_signal(process, signal, sender.pid if sender else 0)
    elif signal == SIGKILL:
        process.kernel.kill(process, SIGKILL)


def send(process: Process, info: SigInfo, thread: Thread | None = None) -> bool:
    """Generate ``info`` for ``process`` (or, with ``thread``, for that thread alone); False
    when it was dropped (ignored, or a standard signal already pending)."""
    signal = info.signo
    if not process.alive:
        return False
    b = 1 << (signal - 1)
    if b & STOP_CONT_MASK:
        _prepare(process, signal)
    ps = of_process(process)
    action = ps.actions.get(signal)
    handler = SIG_DFL if action is None else action.handler
    default = handler == SIG_DFL
    if handler == SIG_IGN or (default and signal in IGNORED_BY_DEFAULT):
        # dropped at once, unless the thread it is for blocks it (it stays pending then: the
        # program may unblock it after changing its disposition)
        target = thread if thread is not None else _main_thread(process)
        if target is None:
            return False
        ts = of_thread(target)
        if not (ts.mask | ts.waiting) & b:
            return False
    pending = of_thread(thread).pending if thread is not None else ps.shared
    if not pending.add(info):
        return False
    kernel = process.kernel
    if kernel.tracing:
        kernel.trace_event("signal", process, sig=signal, code=info.code, tid=thread.tid if thread else None)
    if kernel.data.get(SIGNALFDS):  # signalfd readers and pollers look again
        readers = kernel.data.get(SIGNALFD_READERS)
        if readers is not None and len(readers):
            readers.wake(len(readers))
        wake_pollers(kernel)
    if thread is None:
        target = _choose(process, signal, ps)
        if target is None:
            return True
        ts = of_thread(target)
    else:
        ts = of_thread(thread)
        if not _wants(thread, signal, ts):
            return True
        target = thread
    # fatal at once (its default action ends the process), unless the thread waits for it in
    # rt_sigtimedwait while blocking it
    if signal == SIGKILL or (default and not b & NOT_FATAL_MASK and not ts.mask & b):
        _die(target, signal, info)
        return True
    _wake(target, ts)
    return True


def _wake(thread: Thread, ts: ThreadSignals | None = None) -> None:
    """Make ``thread`` look at its signals before it next runs user code; a blocking call it
    sleeps in is interrupted (EINTR or restart, settled then)."""
    kernel = thread.kernel
    kernel.want_user_work(thread)
    if ts is None:
        ts = of_thread(thread)
    if thread.state is BLOCKED and not ts.stopped:
        ts.interrupted = kernel.interrupt(thread) or ts.interrupted


def _prepare(process: Process, signal: int) -> None:
    """Stop and continue signals cancel each other; SIGCONT resumes a stopped process (even
    when it is ignored or blocked)."""
    if signal in STOP_SIGNALS:
        _discard(process, bit(SIGCONT))
    elif signal == SIGCONT:
        _discard(process, STOP_MASK)
        if of_process(process).stopped:
            continue_process(process)


def _discard(process: Process, mask: int) -> None:
    of_process(process).shared.discard(mask)
    for thread in process.threads:
        of_thread(thread).pending.discard(mask)


def _main_thread(process: Process) -> Thread | None:
    """The thread whose tid is the pid if it lives, else the first that does."""
    first = None
    for thread in process.threads:
        if thread.state is not EXITED:
            if thread.tid == process.pid:
                return thread
            if first is None:
                first = thread
    return first


def _wants(thread: Thread, signal: int, ts: ThreadSignals | None = None) -> bool:
    """Linux's wants_signal: not blocked (or waited for), alive, not stopped, and running or
    not flagged to take signals already."""
    if thread.state is EXITED:
        return False
    if ts is None:
        ts = of_thread(thread)
    b = 1 << (signal - 1)
    if ts.mask & b and not ts.waiting & b:
        return False
    if signal == SIGKILL:
        return True
    if ts.stopped:
        return False
    return thread.state is RUNNING or not (thread.user_work or ts.interrupted)


def _choose(process: Process, signal: int, ps: ProcessSignals) -> Thread | None:
    """The thread to take a process-directed signal: the main thread if it wants it, else the
    next one after the last chosen that does (None: all block it; it stays pending)."""
    main = _main_thread(process)
    if main is None:
        return None
    if _wants(main, signal):
        return main
    threads = [t for t in process.threads if t.state is not EXITED]
    start = next((i for i, t in enumerate(threads) if t.tid == ps.target_tid), 0)
    for thread in threads[start:] + threads[:start]:
        if _wants(thread, signal):
            ps.target_tid = thread.tid
            return thread
    return None


def recalc(thread: Thread, ts: ThreadSignals | None = None) -> None:
    """After the thread's mask changed: flag it if a pending signal is now deliverable."""
    if ts is None:
        ts = of_thread(thread)
    allowed = ALL ^ ts.mask
    if ts.pending.signals & allowed or of_process(thread.process).shared.signals & allowed:
        thread.kernel.want_user_work(thread)


def sigpipe(t: Thread) -> None:
    """A write found no reader: SIGPIPE to the writer (its disposition decides)."""
    send(t.process, SigInfo(SIGPIPE, SI_USER, pid=t.process.pid), t)


# --- taking a pending signal ---------------------------------------------------------------------


def take(
    thread: Thread, allowed: int, ts: ThreadSignals | None = None, ps: ProcessSignals | None = None
) -> SigInfo | None:
    """Dequeue the next pending signal among ``allowed``: the thread's own first, then the
    process's; an interval or POSIX timer that sent it is re-armed."""
    pending = (ts or of_thread(thread)).pending
    ready = pending.signals & allowed
    if not ready:
        pending = (ps or of_process(thread.process)).shared
        ready = pending.signals & allowed
        if not ready:
            return None
    info = pending.take(next_of(ready))
    if info.timer is not None:
        info.timer.taken(info)
    return info


def pending_set(thread: Thread) -> int:
    return of_thread(thread).pending.signals | of_process(thread.process).shared.signals


# --- delivery: the personality's return-to-user step -----------------------------------------


def return_to_user(t: Thread) -> None:
    """Take the thread's deliverable signals: handlers get frames (the last taken runs first),
    default actions stop or end the process; then settle a call a signal interrupted."""
    process = t.process
    if t.state is EXITED or not process.alive:
        return
    ps = process.data.get(PROCESS_KEY) or of_process(process)
    ts = t.data.get(THREAD_KEY) or of_thread(t)
    actions = ps.actions
    frames = 0
    while True:
        if ps.stopped:
            _hold(t)
            return
        info = take(t, ALL ^ (ts.mask | ts.waiting), ts, ps)  # rt_sigtimedwait takes its own
        if info is None:
            break
        signal = info.signo
        action = actions.get(signal)
        handler = SIG_DFL if action is None else action.handler
        if handler == SIG_IGN:
            continue
        if handler != SIG_DFL:
            if frames == 0 and ts.interrupted:
                _settle(t, action)
            if not _deliver(t, ts, info, action):
                return
            frames += 1
            continue
        if signal in IGNORED_BY_DEFAULT:
            continue
        if signal in STOP_SIGNALS:
            if signal != SIGSTOP and orphaned_group(process):
                continue  # POSIX: a job no shell can continue is not stopped by the terminal
            stop_process(process, signal)
            continue
        _die(t, signal, info)
        return
    if frames == 0:
        _settle(t, None)
        if ts.saved_mask is not None:
            ts.mask, ts.saved_mask = ts.saved_mask, None


def _hold(t: Thread) -> None:
    """Park the thread while its process is stopped (SIGCONT wakes it)."""
    of_thread(t).stopped = True
    t.kernel.block(t)


def _settle(t: Thread, action: SigAction | None) -> None:
    """End the call a signal interrupted: EINTR, or run it again (see RESTART_KIND)."""
    ts = of_thread(t)
    if not ts.interrupted:
        return
    ts.interrupted = False
    context = t.context
    number = context.syscall_number()
    if number == 128 and pending_set(t) & ts.waiting:  # rt_sigtimedwait: what it waits for came
        context.resume_syscall(None)
        return
    kind = RESTART_KIND.get(number, RESTARTSYS)
    if number == FUTEX and context.user_registers()["r10"]:
        kind = NOHAND  # a timed futex wait is not restarted after a handler (restart_block)
    # no handler ran: the call goes on where it was; after one, SA_RESTART decides
    restart = kind != NEVER if action is None else kind == RESTARTSYS and bool(action.flags & SA_RESTART)
    if restart:
        context.resume_syscall(None)
        return
    cleanup = ON_EINTR.get(number)
    if cleanup is not None:
        cleanup(t, number, context.user_registers())
    context.resume_syscall(-EINTR)


#: The register images a delivery uses, per kernel: the frame block and the handler's entry.
IMAGES: Slot[tuple[RegisterImage, RegisterImage]] = Slot("linux.signal_images")
#: What a handler starts with: its arguments, stack, address and flags (and a fresh FPU state).
HANDLER_ENTRY = ("rdi", "rsi", "rdx", "rax", "rsp", "rip", "rflags")
_ENTRY = struct.Struct("<7Q")


def _images(kernel: Kernel) -> tuple[RegisterImage, RegisterImage]:
    """Made on the first delivery (the callers look in ``kernel.data`` first)."""
    machine = kernel.machine
    entry = [*((name, 8 * i) for i, name in enumerate(HANDLER_ENTRY)), ("fpu", 8 * len(HANDLER_ENTRY))]
    return IMAGES.set(
        kernel,
        (
            machine.register_image(sigframe.BLOCK_FIELDS, sigframe.BLOCK_SIZE, sigframe.BLOCK_TEMPLATE),
            machine.register_image(entry, 8 * len(HANDLER_ENTRY) + 512),
        ),
    )


def _deliver(
    t: Thread,
    ts: ThreadSignals,
    info: SigInfo,
    action: SigAction,
    result: int | None = None,
    packed: bytes | None = None,
) -> bool:
    """Build the handler's frame and enter the handler; False (the process is killed with
    SIGSEGV and a report) when the frame cannot be built. ``result``: the system call's
    result, for a frame built before it is in rax; ``packed``: ``info.pack()``, if known."""
    process = t.process
    kernel = process.kernel
    block_image, entry = kernel.data.get(IMAGES) or _images(kernel)
    block = block_image.read(t.context)
    if result is not None:
        _RAX.pack_into(block, _RAX_AT, result & 0xFFFF_FFFF_FFFF_FFFF)
    sp, rip, rflags = _RESUME.unpack_from(block, _RESUME_AT)
    stack = ts.altstack
    base, size, flags = stack
    aflags = action.flags
    if not size and aflags & SA_RESTORER:  # the common case: no alternate stack
        fpstate = sp - _FPSTATE_BELOW_SP
        frame = fpstate - (fpstate & 63) - _FPSTATE_OFFSET
    else:
        on_alt = bool(size) and base < sp <= base + size
        use_alt = bool(aflags & SA_ONSTACK) and not flags & SS_DISABLE and bool(size) and not on_alt
        frame = sigframe.frame_addresses(base + size if use_alt else sp - sigframe.RED_ZONE)[0]
        why = None
        if not aflags & SA_RESTORER:
            why = "the handler has no SA_RESTORER return path"
        elif (use_alt or on_alt) and frame <= base:
            why = f"the frame does not fit the alternate stack at {base:#x} ({size} bytes)"
        if why is not None:
            return _cannot_deliver(t, info, why, rip, frame)
    mask = ts.saved_mask
    if mask is None:
        mask = ts.mask
    signo = info.signo
    _complete(
        block, frame, action.restorer, stack, mask, info.pack() if packed is None else packed,
        _NO_TRAP if info.fault is None else _trap(info),
    )  # fmt: skip
    if not process.aspace.write_all_or_none(frame, block):
        return _cannot_deliver(t, info, f"the stack at {frame:#x} cannot hold the frame", rip, frame)
    kept = ts.frames
    if kept:
        _forget_frames(kept, frame)
    kept[frame] = block.tobytes()
    if flags & SS_AUTODISARM:
        ts.altstack = (0, 0, SS_DISABLE)
    _ENTRY.pack_into(
        entry.buffer, 0, signo, frame + _SIGINFO, frame + _UC, 0, frame, action.handler,
        rflags & _HANDLER_KEEPS,
    )  # fmt: skip
    entry.write(t.context)  # and the FPU state a program starts with
    ts.saved_mask = None
    ts.mask = (ts.mask | action.mask | (0 if aflags & SA_NODEFER else 1 << (signo - 1))) & BLOCKABLE
    if aflags & SA_RESETHAND:  # the handler only: flags, restorer and mask stay
        reset = SigAction(SIG_DFL, aflags, action.restorer, action.mask)
        of_process(process).actions[signo] = reset
    if kernel.tracing:
        kernel.trace_event("handler", process, tid=t.tid, sig=signo, handler=action.handler, frame=frame)
    return True


#: The FPU area's highest start below the interrupted rsp (the red zone skipped), before the
#: 64-byte alignment (see sigframe.frame_addresses).
_FPSTATE_BELOW_SP = sigframe.RED_ZONE + sigframe.FPSTATE_SIZE
#: sigframe's names, bound here: a delivery looks each up once or more.
_RAX, _RAX_AT, _RESUME, _RESUME_AT = sigframe.RAX, sigframe.RAX_AT, sigframe.RESUME, sigframe.RESUME_AT
_FPSTATE_OFFSET, _SIGINFO, _UC = sigframe.FPSTATE_OFFSET, sigframe.SIGINFO, sigframe.UC
_HANDLER_KEEPS, _NO_TRAP, _complete = sigframe.HANDLER_KEEPS, sigframe.NO_TRAP, sigframe.complete


def _cannot_deliver(t: Thread, info: SigInfo, why: str, rip: int, frame: int) -> bool:
    what = f"cannot deliver {signal_name(info.signo)}: {why}"
    t.kernel.kill_by_fault(t, Fault(SIGSEGV, what, rip, frame))
    return False


#: Frames kept per thread for rt_sigreturn's quick path (more are dropped, oldest first).
KEPT_FRAMES = 32


def _forget_frames(kept: dict[int, bytes], frame: int) -> None:
    """Before a frame at ``frame`` is kept (:func:`_deliver` keeps each as it was written:
    rt_sigreturn finding it unchanged loads it back as it is, in one engine call, without
    checking it again): frames below it were left (siglongjmp) and are forgotten, and the
    oldest beyond :data:`KEPT_FRAMES`."""
    for address in [a for a in kept if a < frame + sigframe.FRAME_SIZE]:
        del kept[address]
    while len(kept) >= KEPT_FRAMES:
        del kept[next(iter(kept))]


def _trap(info: SigInfo) -> sigframe.Trap:
    fault = info.fault
    if fault is None:
        return sigframe.NO_TRAP
    trapno = TRAPS.get(fault.code, 3 if fault.signal == 5 else 13)
    err = 0
    if trapno == 14:
        err = 4 | (2 if fault.access == "write" else 0) | (16 if fault.access == "exec" else 0)
        err |= 1 if fault.code == "SEGV_ACCERR" else 0
    return sigframe.Trap(trapno, err, (fault.address or 0) if trapno == 14 else 0)


def _die(t: Thread, signal: int, info: SigInfo) -> None:
    """The default action ends the process: a fault with its report, init with a line."""
    kernel, process = t.kernel, t.process
    if info.fault is not None:
        kernel.kill_by_fault(t, info.fault)
    elif process is kernel.init:
        kernel.kill(process, signal, f"pid {process.pid} ({process.name}) killed by {signal_name(signal)}")
    else:
        kernel.kill(process, signal)


# --- faults ----------------------------------------------------------------------------------


def on_fault(t: Thread, fault: Fault) -> bool:
    """``SyscallTable.fault``: a handler takes the fault's signal if there is one and the signal
    is not blocked; otherwise (as Linux's force_sig) the process dies with the report."""
    signal = fault.signal
    if signal == SIGKILL or not t.process.alive:
        return False
    ps, ts = of_process(t.process), of_thread(t)
    action = ps.action(signal)
    if ts.mask & bit(signal) or action.handler in (SIG_DFL, SIG_IGN):
        return False
    cause = fault.code or ("BUS_ADRERR" if signal == SIGBUS else "")
    code = FAULT_CODES.get(cause, SI_KERNEL)
    if cause in ("SEGV_MAPERR", "SEGV_ACCERR", "BUS_ADRERR", "BUS_OBJERR"):
        addr = fault.address or 0  # the address the access touched
    elif cause.startswith(("ILL_", "FPE_", "TRAP_")):
        addr = fault.pc  # the instruction
    else:
        addr = 0  # a general protection fault (or an alignment check) says nothing more
    ts.pending.add(SigInfo(signal, code, addr=addr, fault=fault), front=True)
    t.kernel.want_user_work(t)
    return True


# --- stop and continue -----------------------------------------------------------------------


def stop_process(process: Process, signal: int) -> None:
    """A stop signal's default action: every thread parks before it next runs user code (one
    blocked in a call is woken to park: its call restarts when the process continues); the
    parent learns it (SIGCHLD, wait with WUNTRACED)."""
    ps = of_process(process)
    if ps.stopped or not process.alive:
        return
    ps.stopped, ps.stop_report, ps.continued_report = True, signal, False
    for thread in process.threads:
        if thread.state is not EXITED:
            _wake(thread)
    notify_parent(process, CLD_STOPPED, signal)


def continue_process(process: Process) -> None:
    """SIGCONT: parked threads go on (each settles an interrupted call first)."""
    ps = of_process(process)
    ps.stopped, ps.stop_report, ps.continued_report = False, None, True
    kernel = process.kernel
    for thread in process.threads:
        ts = of_thread(thread)
        if ts.stopped:
            ts.stopped = False
            kernel.want_user_work(thread)
            kernel.wake(thread)
    notify_parent(process, CLD_CONTINUED, SIGCONT)


def notify_parent(process: Process, code: int, status: int) -> None:
    """Tell the parent a child changed state: SIGCHLD with CLD_* ``code`` and ``status`` (not
    for a stop or continue under SA_NOCLDSTOP), and wake its waiters."""
    parent = process.parent
    if parent is None or not parent.alive:
        return
    # waiters first: a wait the change satisfies returns it (the handler runs on the way out),
    # as on Linux, where the woken wait finds the child before it looks for signals
    parent.child_events.wake(len(parent.child_events))
    if is_linux(parent):
        quiet = (
            code in (CLD_STOPPED, CLD_CONTINUED) and of_process(parent).action(SIGCHLD).flags & SA_NOCLDSTOP
        )
        if not quiet:
            ticks = process.instructions * CLOCK_TICKS // process.kernel.ips
            send(parent, SigInfo(SIGCHLD, code, pid=process.pid, status=status, utime=ticks))


# --- system calls --------------------------------------------------------------------------------


def _valid(signal: int) -> bool:
    return 1 <= signal <= NSIG


def sys_rt_sigaction(t: Thread, signal: int, action: int, old: int, size: int) -> int:
    signal = _signed32(signal)
    if not _valid(signal) or size != SIGSET_SIZE or (action and signal in (SIGKILL, SIGSTOP)):
        return -EINVAL
    ps = of_process(t.process)
    aspace = t.process.aspace
    new = None
    if action:
        handler, flags, restorer, mask = struct.unpack("<QQQQ", aspace.read(action, 32))
        new = SigAction(handler, flags & 0xFFFF_FFFF, restorer, mask & ~UNBLOCKABLE)
    if old:
        aspace.write(old, ps.action(signal).pack())
    if new is not None:
        ps.actions[signal] = new
        if new.handler == SIG_IGN or (new.handler == SIG_DFL and signal in IGNORED_BY_DEFAULT):
            _discard(t.process, bit(signal))  # POSIX: setting SIG_IGN discards it, pending or not
    return 0


def sys_rt_sigprocmask(t: Thread, how: int, new: int, old: int, size: int) -> int:
    if size != SIGSET_SIZE:
        return -EINVAL
    ts = of_thread(t)
    mask = ts.mask
    value = None
    if new:
        if how not in (0, 1, 2):
            return -EINVAL
        value = t.process.aspace.read_u64(new)
    if old:
        t.process.aspace.write_u64(old, mask)
    if value is not None:
        new_mask = (mask | value if how == 0 else mask & ~value if how == 1 else value) & ~UNBLOCKABLE
        ts.mask = new_mask
        if new_mask != mask:
            recalc(t, ts)
    return 0


def sys_rt_sigpending(t: Thread, out: int, size: int) -> int:
    if size > SIGSET_SIZE:
        return -EINVAL
    pending = pending_set(t) & of_thread(t).mask
    t.process.aspace.write(out, pending.to_bytes(8, "little")[:size])
    return 0


def sys_rt_sigreturn(t: Thread) -> int | None:
    """Restore what the handler's frame saved: every register, the FPU state, the mask and the
    alternate stack; a frame that cannot be restored kills with SIGSEGV and a report."""
    context, process = t.context, t.process
    ts = t.data.get(THREAD_KEY) or of_thread(t)
    frame = (context.sp - 8) & 0xFFFF_FFFF_FFFF_FFFF
    raw = ts.frames.pop(frame, None)
    if raw is not None and process.aspace.holds(frame, raw):  # as written: loaded back as it is
        kernel = process.kernel
        block_image = (kernel.data.get(IMAGES) or _images(kernel))[0]
        block_image.buffer[:] = raw
        block_image.write(context)  # every register and the FPU state the frame saved, at once
        base, flags, size, rsp, mask = _RETURN_FIELDS.unpack_from(raw, _UC_STACK)
        ts.mask = mask = mask & BLOCKABLE
        if ts.altstack != (base, size, flags):  # (as it was saved: setting it again changes nothing)
            _set_altstack(t, (base, flags, size), rsp, ts)
        allowed = ALL ^ mask  # recalc(t, ts), inlined
        if ts.pending.signals & allowed or of_process(process).shared.signals & allowed:
            process.kernel.want_user_work(t)
        return None
    return _sigreturn_parsed(t, frame)


def _sigreturn_parsed(t: Thread, frame: int) -> int | None:
    """rt_sigreturn from a frame the handler changed (or one kernkit did not write): read and
    checked field by field."""
    context, aspace = t.context, t.process.aspace
    regs = context.user_registers()
    try:
        restored = sigframe.parse(aspace.read(frame, sigframe.FRAME_SIZE), regs["rflags"])
        fxsave = None
        if restored.fpstate:
            if restored.fpstate % 16:
                raise sigframe.BadFrame(f"misaligned FPU state at {restored.fpstate:#x}")
            fxsave = aspace.read(restored.fpstate, sigframe.FXSAVE_SIZE)
            context.set_fpu_state(fxsave)
        else:
            context.reset_fpu_state()
    except BadAddress:
        return _bad_frame(t, regs, frame, f"frame at {frame:#x} is not readable")
    except (sigframe.BadFrame, ValueError) as why:
        return _bad_frame(t, regs, frame, str(why))
    values = dict(regs)
    values.update(restored.regs)
    context.set_user_registers(values)
    ts = of_thread(t)
    ts.mask = restored.mask & ~UNBLOCKABLE
    _set_altstack(t, restored.stack, values["rsp"])  # errors other than EFAULT are ignored, as on Linux
    recalc(t)
    return values["rax"]


#: From uc_stack on: ss_sp, ss_flags, ss_size, then (after r8-r15, rdi, rsi, rbp, rbx, rdx,
#: rax, rcx) the saved rsp, and (past the rest of sigcontext) uc_sigmask.
_RETURN_FIELDS = struct.Struct("<Qi4xQ" + "8x" * 15 + "Q" + "128x" + "Q")
_UC_STACK = sigframe.UC + 16


def _bad_frame(t: Thread, regs: dict[str, int], frame: int, why: str) -> None:
    fault = Fault(SIGSEGV, f"rt_sigreturn: bad signal frame: {why}", regs["rip"] - 2, frame)
    t.kernel.kill_by_fault(t, fault)
    return None


def _set_altstack(t: Thread, stack: tuple[int, int, int], sp: int, ts: ThreadSignals | None = None) -> int:
    """sigaltstack's change; 0 or -errno."""
    if ts is None:
        ts = of_thread(t)
    base, size, flags = ts.altstack
    if size and base < sp <= base + size:
        return -EPERM  # on it now
    new_base, new_flags, new_size = stack
    mode = new_flags & ~SS_AUTODISARM
    if mode not in (0, SS_ONSTACK, SS_DISABLE):
        return -EINVAL
    if mode == SS_DISABLE:
        ts.altstack = (0, 0, SS_DISABLE)
        return 0
    if new_size < MINSIGSTKSZ:
        return -ENOMEM
    ts.altstack = (new_base, new_size, new_flags & SS_AUTODISARM)
    return 0


def sys_sigaltstack(t: Thread, new: int, old: int) -> int:
    ts = of_thread(t)
    sp = t.context.user_registers()["rsp"]
    base, size, flags = ts.altstack
    if new:
        new_base, new_flags, new_size = struct.unpack("<Qi4xQ", t.process.aspace.read(new, 24))
        result = _set_altstack(t, (new_base, new_flags, new_size), sp)
        if result:
            return result
    if old:
        state = SS_DISABLE if not size else (SS_ONSTACK if base < sp <= base + size else 0)
        t.process.aspace.write(old, struct.pack("<Qi4xQ", base, state | (flags & SS_AUTODISARM), size))
    return 0


def _signed32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _targets(t: Thread, pid: int) -> list[Process] | None:
    pid = _signed32(pid)
    processes = t.process.kernel.processes
    if pid > 0:  # a zombie still exists until it is reaped: signalling it does nothing
        process = processes.get(pid)
        return [process] if process is not None else None
    if pid == -1:  # everyone we may signal: all but init and the caller, as Linux does
        return [p for p in processes.values() if p.alive and p not in (t.kernel.init, t.process)]
    return group_members(t, -pid if pid else 0) or None


def sys_kill(t: Thread, pid: int, signal: int) -> int | None:
    caller = t.process
    # to itself from the main thread (which a process-directed signal would choose)
    if pid == caller.pid and 0 < signal < 32 and t.tid == pid and _to_itself(t, caller, signal, SI_USER):
        return None  # the handler's registers are set; 0 is in its frame
    signal = _signed32(signal)
    if not 0 <= signal <= NSIG:
        return -EINVAL
    if pid == caller.pid:  # to itself (raise(), kill(getpid(), ...)): nothing to look up
        send_to(caller, signal, caller)
        return 0
    targets = _targets(t, pid)
    if not targets:
        return -ESRCH
    for process in targets:
        send_to(process, signal, caller)
    return 0


def _to_itself(t: Thread, process: Process, signal: int, code: int) -> bool:
    """A standard signal (1-31) the caller sends to itself, ``kill(getpid(), signal)`` from the
    main thread (``code`` SI_USER) or ``tkill``/``tgkill`` to its own tid (SI_TKILL: musl's and
    glibc's ``raise``), that it has a handler for and does not block, with nothing else to take:
    the handler's frame is built at once, with the call's result (0) in it, as :func:`send`
    then :func:`return_to_user` would build it (the signal goes to the caller; nothing else is
    pending to take first). False (nothing done) in any other case."""
    if t.state is not RUNNING or t.user_work:
        return False
    ps = process.data.get(PROCESS_KEY)
    ts = t.data.get(THREAD_KEY)
    if ps is None or ts is None:
        return False
    b = 1 << (signal - 1)
    blocked = ts.mask | ts.waiting
    if b & (blocked | STOP_CONT_MASK) or (ts.pending.signals | ps.shared.signals) & (ALL ^ blocked):
        return False
    action = ps.actions.get(signal)
    kernel = process.kernel
    if action is None or action.handler <= SIG_IGN or kernel.tracing or kernel.data.get(SIGNALFDS):
        return False
    if ts.stopped or ts.interrupted or ps.stopped or ts.saved_mask is not None:
        return False
    kills = ps.own_kills if code == SI_USER else ps.own_tkills
    known = kills.get(signal)
    if known is None:
        info = SigInfo(signal, code, pid=process.pid)
        known = kills[signal] = (info, info.pack())
    _deliver(t, ts, known[0], action, 0, known[1])
    return True


def _find_thread(t: Thread, tid: int) -> Thread | None:
    for process in t.kernel.processes.values():
        if process.alive:
            for thread in process.threads:
                if thread.tid == tid and thread.state is not EXITED:
                    return thread
    return None


def _send_thread(t: Thread, thread: Thread, signal: int, info: SigInfo) -> int:
    if signal == 0:
        return 0
    if is_linux(thread.process):
        send(thread.process, info, thread)
    else:
        send_to(thread.process, signal, t.process)
    return 0


def sys_tkill(t: Thread, tid: int, signal: int) -> int | None:
    if tid == t.tid and 0 < signal < 32 and _to_itself(t, t.process, signal, SI_TKILL):
        return None  # as in sys_kill
    signal = _signed32(signal)
    if not 0 <= signal <= NSIG or _signed32(tid) <= 0:
        return -EINVAL
    thread = _find_thread(t, _signed32(tid))
    if thread is None:
        return -ESRCH
    return _send_thread(t, thread, signal, SigInfo(signal, SI_TKILL, pid=t.process.pid))


def sys_tgkill(t: Thread, tgid: int, tid: int, signal: int) -> int | None:
    process = t.process
    if tid == t.tid and tgid == process.pid and 0 < signal < 32 and _to_itself(t, process, signal, SI_TKILL):
        return None  # as in sys_kill
    signal = _signed32(signal)
    if not 0 <= signal <= NSIG or _signed32(tid) <= 0 or _signed32(tgid) <= 0:
        return -EINVAL
    thread = _find_thread(t, _signed32(tid))
    if thread is None or thread.process.pid != _signed32(tgid):
        return -ESRCH
    return _send_thread(t, thread, signal, SigInfo(signal, SI_TKILL, pid=t.process.pid))


def _queued_info(t: Thread, signal: int, uinfo: int, target: int) -> SigInfo | int:
    raw = t.process.aspace.read(uinfo, 128)
    info = SigInfo.from_user(signal, raw)
    if (info.code >= 0 or info.code == SI_TKILL) and _signed32(target) != t.process.pid:
        return -EPERM  # a program may not pretend to be the kernel or kill(), but to itself
    return info


def sys_rt_sigqueueinfo(t: Thread, pid: int, signal: int, uinfo: int) -> int:
    signal = _signed32(signal)
    if not 0 <= signal <= NSIG:
        return -EINVAL
    info = _queued_info(t, signal, uinfo, pid)
    if isinstance(info, int):
        return info
    process = t.kernel.processes.get(_signed32(pid)) if _signed32(pid) > 0 else None
    if process is None:
        return -ESRCH
    if signal and process.alive and is_linux(process):
        send(process, info)
    elif signal:
        send_to(process, signal, t.process)
    return 0


def sys_rt_tgsigqueueinfo(t: Thread, tgid: int, tid: int, signal: int, uinfo: int) -> int:
    signal = _signed32(signal)
    if not 0 <= signal <= NSIG or _signed32(tid) <= 0 or _signed32(tgid) <= 0:
        return -EINVAL
    info = _queued_info(t, signal, uinfo, tgid)
    if isinstance(info, int):
        return info
    thread = _find_thread(t, _signed32(tid))
    if thread is None or thread.process.pid != _signed32(tgid):
        return -ESRCH
    return _send_thread(t, thread, signal, info)


# --- processes and threads: inheritance ----------------------------------------------------------


def on_clone(parent: Thread, child: Thread, new_process: bool) -> None:
    """A new thread inherits the creator's mask; a forked child also its alternate stack."""
    ps, cs = of_thread(parent), of_thread(child)
    cs.mask = ps.mask
    if new_process:
        cs.altstack = ps.altstack


def on_exec(t: Thread) -> None:
    """execve: handlers go back to the default (ignored signals stay ignored); the mask and
    pending signals stay; the alternate stack goes."""
    ps = of_process(t.process)
    ps.actions = {s: SigAction(SIG_IGN) for s, a in ps.actions.items() if a.handler == SIG_IGN}
    ts = of_thread(t)
    ts.altstack = (0, 0, SS_DISABLE)
    ts.frames.clear()


#: The signals the thread running execve keeps (blocked, ignored), while it loads the program: for
#: another personality's start-up to take (:func:`kept_at_exec`).
EXEC_KEEPS: Slot[tuple[int, int]] = Slot("linux.exec_keeps")


def keeping_at_exec(t: Thread) -> None:
    """Before an execve loads its program: note what exec keeps of ``t``'s signal state."""
    can = ALL & ~UNBLOCKABLE
    ignored = sum(bit(s) for s, a in of_process(t.process).actions.items() if a.handler == SIG_IGN)
    t.process.data[EXEC_KEEPS] = (of_thread(t).mask & can, ignored & can)


def kept_at_exec(process: Process) -> tuple[int, int] | None:
    """While a Linux program's execve loads another personality's program (its
    ``setup_process``): the signals the new program starts with blocked and ignored (bit N-1 for
    signal N), as Linux's exec keeps them (the calling thread's mask; what the process ignores).
    None when ``process`` is not in a Linux execve."""
    return process.data.get(EXEC_KEEPS)


def start_with(process: Process, blocked: int, ignored: int) -> bool:
    """What a process another personality created (Akaros's ``proc_create``) starts with, as
    exec would keep them: the signals in ``blocked`` blocked and those in ``ignored`` ignored
    (bit N-1 for signal N; SIGKILL and SIGSTOP are left out), every other one at its default.
    False, and nothing done, if ``process`` is not of this personality or has run already."""
    if not is_linux(process) or process.threads:
        return False
    can = ALL & ~UNBLOCKABLE
    ignoring = range(1, NSIG + 1) if ignored & can else ()
    of_process(process).actions = {s: SigAction(SIG_IGN) for s in ignoring if ignored & can & bit(s)}
    process.data[FIRST_MASK] = blocked & can
    return True


SYSCALLS = (
    (13, "rt_sigaction", sys_rt_sigaction, 4),
    (14, "rt_sigprocmask", sys_rt_sigprocmask, 4),
    (15, "rt_sigreturn", sys_rt_sigreturn, 0),
    (62, "kill", sys_kill, 2),
    (127, "rt_sigpending", sys_rt_sigpending, 2),
    (129, "rt_sigqueueinfo", sys_rt_sigqueueinfo, 3),
    (131, "sigaltstack", sys_sigaltstack, 2),
    (200, "tkill", sys_tkill, 2),
    (234, "tgkill", sys_tgkill, 3),
    (297, "rt_tgsigqueueinfo", sys_rt_tgsigqueueinfo, 4),
)
