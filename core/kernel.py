"""The kernel: processes, the run loop over the machine's cores, virtual time and tracing."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kernkit.core.costs import CostLedger, KernelCosts
from kernkit.core.errors import KernelPanic, KernkitError, OutOfMemory
from kernkit.core.files import FileTable
from kernkit.core.hostio import HostIO
from kernkit.core.kmem import KernelMemory
from kernkit.core.kmsg import KernelMessage, KernelMessages
from kernkit.core.loader import load_program
from kernkit.core.machine import NOT_TAKEN, SETTLED, Handoff, HandoffKind, Stop
from kernkit.core.monitor import Monitor, backtrace_lines, on_core_threads
from kernkit.core.process import BLOCKED, EXITED, RUNNABLE, RUNNING, Process, ProcState, Thread
from kernkit.core.report import fault_report, process_list
from kernkit.core.scheduler import complete_policy
from kernkit.core.syscalls import CostingDispatcher, SyscallDispatcher, TracingDispatcher
from kernkit.core.timers import Timers
from kernkit.core.tracer import Tracer

if TYPE_CHECKING:
    from kernkit.core.config import Config
    from kernkit.core.debugger import Debugger
    from kernkit.core.machine import Fault
    from kernkit.core.plugins import PluginManager, Registered
    from kernkit.core.records import SyscallTable

#: Exit statuses of a run besides init's own.
EXIT_PANIC = 70
EXIT_BUDGET = 124
EXIT_KILLED = 128 + 9
#: In fast mode runs report no instruction counts; this bounds a core's turn in a round instead.
FAST_RUNS_PER_ROUND = 16


class Kernel:
    """A kernel assembled from plugins (see :func:`kernkit.core.assemble.assemble`)."""

    #: What a traced system call reads for its record's time stamp, as slots: an architecture's
    #: native entry may read them at their offsets (the rest stay in the dictionary).
    __slots__ = ("tracing", "_core_used", "round_start_ns", "ips", "__dict__", "__weakref__")

    def __init__(
        self,
        config: Config,
        plugins: PluginManager,
        registries: dict[str, dict[str, Registered]],
        *,
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
        stderr: IO[bytes] | None = None,
        trace: IO[str] | None = None,
        trace_syscalls: bool | None = None,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.registries = registries
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr.buffer
        self.tracer = Tracer(trace)
        self.tracing = trace is not None
        traced = self.tracing if trace_syscalls is None else trace_syscalls
        self.dispatcher = (TracingDispatcher if traced else SyscallDispatcher)(self)
        self.processes: dict[int, Process] = {}
        self.init: Process | None = None
        self.exit_status: int | None = None
        self.finished = False
        self.messages: list[str] = []
        #: Free for plugins' kernel-wide state, keyed by names they choose (e.g. "linux.futex").
        self.data: dict[str, Any] = {}
        #: Where monitor commands come from; None: no monitor (panics just print their report).
        self.monitor_input: IO[str] | None = None
        #: An attached debugger (the GDB stub): it sees every stop of a thread first.
        self.debugger: Debugger | None = None
        self._next_id = 1
        self._unstarted: dict[int, Any] = {}
        #: Set by a Ctrl-C that arrived while a core was running: the run ends at the next round.
        self.interrupted = False
        self.timers = Timers()
        #: Host file descriptors plugins want watched (see core/hostio.py).
        self.hostio = HostIO()
        machine_opts = config["machine"]
        self.quantum = machine_opts.quantum
        self.ips = machine_opts.ips
        self.instructions = 0
        self.context_switches = 0
        #: Threads made runnable (woken or new) since boot: an idle kernel serving the host
        #: watches it to know when a round is due again.
        self._wakes = 0
        self.max_instructions = config["kernel"].max_instructions
        self.round_start_ns = 0
        self.booted_at = time.monotonic_ns()
        #: What the kernel's own work costs (``kernkit_kernel_costs``), None when it costs nothing:
        #: then no hot path looks at costs at all. Known before the machine, which binds dispatch.
        self.costs: KernelCosts | None = self._cost_model(config, plugins)
        if self.costs is not None:
            self.dispatcher = CostingDispatcher(self, self.dispatcher, self.costs)
        arch = registries["architecture"][machine_opts.arch].record
        self.arch = arch
        self.machine = arch.create_machine(self)
        #: The kernel's own buffers, charged against the machine's memory (core/kmem.py).
        self.kmem = KernelMemory(self.machine.memory)
        self.deterministic = self.machine.deterministic
        cores = len(self.machine.cores)
        self.current: list[Thread | None] = [None] * cores
        #: The process each core is granted to by the scheduler (Akaros: an MCP's cores), if any.
        self.granted: list[Process | None] = [None] * cores
        #: Whose address space each core last had loaded (Akaros's cur_proc).
        self.cur_proc: list[Process | None] = [None] * cores
        self.kmsgs = KernelMessages(cores)
        self._core_used = [0] * cores
        #: Instructions each core has run since boot (its busy time, for /proc/stat and the like).
        self.core_instructions = [0] * cores
        #: Where each core's current trace span began (tracing only).
        self._span_start = [0] * cores
        self._active_core: int | None = None
        #: The charges of the cost model so far (None without one).
        self.cost_ledger = CostLedger(self.costs, cores) if self.costs is not None else None
        #: Per core, the thread it ran last (None once that thread blocked): a context switch is
        #: a pick of any other (cost model only).
        self._ran_last: list[Thread | None] = [None] * cores
        policy = registries["scheduler"][config["sched"].policy].record.create(self)
        self.scheduler = complete_policy(policy, self)

    # --- registries -----------------------------------------------------------------------

    def personality(self, name: str | None = None) -> SyscallTable:
        return self.registries["syscall table"][name or self.personalities[0]].record

    @property
    def personalities(self) -> list[str]:
        """The personalities this kernel offers, the default first (``[kernel] personalities``,
        or every registered one)."""
        return list(self.config["kernel"].personalities) or list(self.registries["syscall table"])

    def device(self, name: str) -> Any:
        """The registered device ``name``; KeyError naming the known ones if there is none."""
        registered = self.registries["device"].get(name)
        if registered is None:
            raise KeyError(f"no device {name!r}; known: {', '.join(sorted(self.registries['device']))}")
        return registered.record

    # --- cores and kernel messages ----------------------------------------------------------

    def owning_proc(self, core: int) -> Process | None:
        """The process that owns ``core`` (Akaros's owning_proc): the one it is granted to, else
        the one whose thread it runs."""
        granted = self.granted[core]
        if granted is not None:
            return granted
        thread = self.current[core]
        return thread.process if thread is not None else None

    @property
    def active_core(self) -> int | None:
        """The core whose turn it is (None between turns)."""
        return self._active_core

    def send_kmsg(self, core: int, name: str, run: Callable[[], None], *, routine: bool = True) -> None:
        """Queue ``run`` on ``core``: routine messages run one per pass at a point where the core
        can change what it runs; immediate ones run, all of them, first."""
        message = KernelMessage(name, run, self.now(self._active_core), self._active_core, routine)
        self.kmsgs.send(core, message)
        self.trace_event("kmsg", None, to=core, name=name, routine=routine)

    def _run_kmsgs(self, core: int, routine: bool) -> None:
        immediate = self.kmsgs.immediate[core]
        previous, self._active_core = self._active_core, core
        try:
            while immediate:
                self._deliver(core, immediate.popleft())
            queue = self.kmsgs.routine[core]
            if routine and queue:
                self._deliver(core, queue.popleft())
        finally:
            self._active_core = previous

    def _deliver(self, core: int, message: KernelMessage) -> None:
        if self.deterministic:  # a core cannot receive a message before it was sent
            sent = (message.sent_at - self.round_start_ns) * self.ips // 1_000_000_000
            if sent > self._core_used[core]:
                self._core_used[core] = sent
            if self.costs is not None:
                self.charge_cycles(core, self.costs.kmsg, "kmsg")
                if message.source != core:  # it came by inter-processor interrupt
                    self.charge_cycles(core, self.costs.ipi, "ipi")
        message.run()

    # --- time -----------------------------------------------------------------------------

    def now(self, core: int | None = None) -> int:
        """Virtual nanoseconds since boot, as seen on ``core`` (in deterministic mode, from
        instructions retired; in fast mode, from the host clock)."""
        if core is not None and self.deterministic:  # the hot case first (a traced system call)
            insns = self._core_used[core] + self.machine.live_instructions(core)
            return self.round_start_ns + insns * 1_000_000_000 // self.ips
        if not self.deterministic:
            return time.monotonic_ns() - self.booted_at
        return self.round_start_ns

    def elapsed_ns(self) -> int:
        """Virtual time the run has reached: the furthest any thread got."""
        clocks = (t.clock for p in self.processes.values() for t in p.threads)
        return max(self.now(), *clocks) if self.processes else self.now()

    def thread_now(self, thread: Thread) -> int:
        """Virtual time for ``thread``: its core's, and never earlier than it has already seen."""
        thread.clock = max(
            thread.clock, self.now(thread.core if thread.core is not None else self._active_core)
        )
        return thread.clock

    def thread_instructions(self, thread: Thread) -> int:
        """Instructions ``thread`` has retired, including those of the run in progress."""
        running = thread.state is RUNNING and thread.core is not None
        return thread.instructions + (self.machine.live_instructions(thread.core) if running else 0)

    def budget_left(self, core: int, *, exact: bool = False) -> int | None:
        """Instructions the run in progress on ``core`` may still retire: what is left of its
        quantum and of ``[kernel] max_instructions``, less what it has retired so far; None when
        the machine counts no instructions (fast mode). For a syscall handler that runs code
        elsewhere on the thread's behalf and reports it with :meth:`charge_instructions`.
        ``exact``: only what ``max_instructions`` leaves (None without one), the limit no run
        passes by a single instruction; a quantum may end a little late (within a block)."""
        if not self.deterministic:
            return None
        live = self.machine.live_instructions(core)
        hard = self.max_instructions - self.instructions - live if self.max_instructions else None
        if exact:
            return None if hard is None else max(hard, 0)
        left = self.quantum - self._core_used[core] - live
        if hard is not None:
            left = min(left, hard)
        return max(left, 0)

    def charge_instructions(self, core: int, instructions: int) -> None:
        """From inside a syscall handler on ``core``: ``instructions`` the handler had run on
        another CPU on behalf of the calling thread (e.g. a virtual machine's guest, docs/vmm.md)
        count as the thread's own: in its and the core's instruction counts and virtual time,
        exactly as if the thread had retired them in this run (at most :meth:`budget_left`)."""
        if instructions:
            self.machine.charge(core, instructions)

    # --- the cost of the kernel's own work (core/costs.py) -----------------------------------

    def _cost_model(self, config: Config, plugins: PluginManager) -> KernelCosts | None:
        costs = plugins.call("kernkit_kernel_costs", config=config)
        if costs is None or not costs.enabled:
            return None
        if config["machine"].mode != "deterministic":
            self.message("warning: the cost model needs machine.mode = deterministic; it is ignored")
            return None
        return costs

    def charge_cycles(self, core: int | None, cycles: int, kind: str) -> None:
        """Kernel work of ``cycles`` virtual cycles (time-stamp counter ticks) done on ``core``:
        the core's virtual time moves on by that much, and with it the thread running there (it
        pays for the work); its instruction count does not change. ``kind`` names the work in
        ``cost_ledger`` (one of ``COST_KINDS``, or a plugin's own). A no-op without a cost model,
        without a core (None) and in fast mode, so plugins may call it unconditionally for work of
        their own (say, a personality's kernel-side event delivery)."""
        ledger = self.cost_ledger
        if ledger is None or core is None or cycles <= 0:
            return
        self._core_used[core] += cycles
        ledger.note(kind, core, cycles)

    def _charge_pick(self, core: int, thread: Thread, previous: Process | None) -> None:
        """The cost of ``core`` switching to ``thread`` (``previous``: whose address space it had)."""
        costs = self.costs
        if self._ran_last[core] is not thread:
            self.charge_cycles(core, costs.context_switch, "context_switch")
            if previous is None or previous.aspace is not thread.process.aspace:
                self.charge_cycles(core, costs.address_space_switch, "address_space_switch")
        self._ran_last[core] = thread

    def _charge_ticks(self, core: int, used: int) -> None:
        """Ticks the run ending at ``used`` instructions into the round crossed on ``core``."""
        costs, ledger = self.costs, self.cost_ledger
        if not costs.tick or not costs.tick_period_ns:
            return
        if not costs.tick_granted and self.granted[core] is not None:
            return
        end = self.round_start_ns + used * 1_000_000_000 // self.ips
        ticks = ledger.ticks_between(ledger.ticked_to[core], end)
        ledger.ticked_to[core] = end
        if ticks:
            self._core_used[core] += ticks * costs.tick
            ledger.note("tick", core, ticks * costs.tick, ticks)

    def charge_page_fault(self) -> None:
        """An address space of this kernel made a page present on a fault (cost model only)."""
        self.charge_cycles(self._active_core, self.costs.page_fault, "page_fault")

    # --- tracing --------------------------------------------------------------------------

    def trace_event(
        self, kind: str, process: Process | None = None, at: int | None = None, **fields: Any
    ) -> None:
        """Record an event (when tracing), stamped ``at`` or with the acting core's time."""
        if not self.tracing:
            return
        core = fields.pop("core", self._active_core)
        event: dict[str, Any] = {"t": self.now(core) if at is None else at, "ev": kind}
        if core is not None:
            event["core"] = core
        if process is not None:
            event["pid"] = process.pid
        event.update(fields)
        self.tracer.emit(event)

    # --- processes ------------------------------------------------------------------------

    def spawn(
        self,
        path: Path,
        argv: Sequence[str],
        envp: Sequence[str],
        parent: Process | None = None,
        *,
        start: bool = True,
    ) -> Process:
        """Create a process running the program at ``path``; ProgramError if it cannot load.

        With ``start=False`` it stays CREATED until :meth:`start_process` (Akaros proc_create)."""
        personality = self.personality()
        process = self._new_process(Path(argv[0] if argv else path).name, parent, personality, list(argv))
        process.files = FileTable()
        self.trace_event("spawn", process, path=str(path.name), argv=list(argv))
        self.plugins.notify("kernkit_process_created", kernel=self, process=process)
        try:
            context = load_program(self, process, path, argv, envp)
        except BaseException:
            process.set_state(ProcState.DYING)
            self._release(process)
            self._forget(process)
            raise
        if start:
            self.add_thread(process, context, tid=process.pid)
        else:
            self._unstarted[process.pid] = context
        return process

    def start_process(self, process: Process) -> bool:
        """Let a process created with ``spawn(start=False)`` run; False if it was not waiting to."""
        context = self._unstarted.pop(process.pid, None)
        if context is None or process.state is not ProcState.CREATED:
            return False
        self.add_thread(process, context, tid=process.pid)
        return True

    def new_id(self) -> int:
        """A fresh process/thread id (they share one space, as on Linux)."""
        self._next_id += 1
        return self._next_id - 1

    def _new_process(
        self,
        name: str,
        parent: Process | None,
        personality: SyscallTable,
        argv: list[str],
        syscall_map: dict | None = None,
    ) -> Process:
        process = Process(
            pid=self.new_id(),
            name=name[:32],
            kernel=self,
            parent=parent,
            personality=personality,
            syscall_map=personality.by_number() if syscall_map is None else syscall_map,
            argv=argv,
        )
        self.processes[process.pid] = process
        if parent is not None:
            parent.children.append(process)
        return process

    def add_thread(
        self,
        process: Process,
        context: Any,
        *,
        tid: int | None = None,
        clock: int | None = None,
        affinity: int | None = None,
        **data: Any,
    ) -> Thread:
        """A new runnable thread of ``process`` with CPU ``context`` (the scheduler hears of it);
        ``data`` goes to the thread's plugin data before the scheduler sees it."""
        thread = Thread(
            tid=self.new_id() if tid is None else tid,
            process=process,
            context=context,
            clock=self.now(self._active_core) if clock is None else clock,
            affinity=affinity,
        )
        thread.data.update(data)
        process.threads.append(thread)
        if process.state is ProcState.CREATED:
            process.set_state(ProcState.RUNNABLE_S)
        self.trace_event("thread", process, tid=thread.tid)
        self._wakes += 1
        self.scheduler.thread_runnable(thread)
        return thread

    def fork(self, thread: Thread, share_memory: bool = False) -> Process:
        """A copy of ``thread``'s process (memory, files, personality state) whose one thread
        returns 0 from the current syscall. Memory is shared copy-on-write, or, with
        ``share_memory``, the child uses the parent's address space itself (vfork)."""
        parent = thread.process
        child = self._new_process(
            parent.name, parent, parent.personality, list(parent.argv), parent.syscall_map
        )
        child.image = parent.image
        child.data = {key: copy.copy(value) for key, value in parent.data.items()}
        child.files = parent.files.copy()
        self.trace_event("fork", child, parent=parent.pid)
        self.plugins.notify("kernkit_process_created", kernel=self, process=child)
        try:
            if share_memory:
                child.aspace = parent.aspace.share()
            else:
                child.aspace = parent.aspace.fork(self.machine.new_page_table())
                child.aspace.on_fault = parent.aspace.on_fault
        except OutOfMemory:
            child.set_state(ProcState.DYING)
            self._release(child)
            self._forget(child)
            raise
        self.add_thread(
            child, thread.context.fork(), tid=child.pid, clock=thread.clock, affinity=thread.affinity
        )
        return child

    def clone_thread(self, thread: Thread, stack: int, tls: int | None) -> Thread:
        """A new thread in ``thread``'s process, returning 0 from the current syscall on ``stack``."""
        context = thread.context.fork()
        context.sp = stack
        if tls is not None:
            context.set_tls_base(tls)
        return self.add_thread(thread.process, context, clock=thread.clock, affinity=thread.affinity)

    def exec(
        self,
        thread: Thread,
        path: Path,
        argv: Sequence[str],
        envp: Sequence[str],
        filename: str | None = None,
    ) -> None:
        """Replace ``thread``'s program; the process keeps its id and files, other threads end.
        ``filename`` is the name it was asked for by (argv[0] by default).

        ProgramError leaves the process as it was."""
        process = thread.process
        context = load_program(self, process, path, argv, envp, filename)  # a new address space
        for other in process.threads:
            if other is not thread:
                self._retire_thread(other)
        process.threads = [thread]
        process.name = Path(argv[0] if argv else path).name[:32]
        thread.context = context
        thread.stop_requested = True
        self.trace_event("exec", process, path=path.name, argv=list(argv))

    def exit_process(self, process: Process, status: int, kill_reason: str | None = None) -> None:
        """End ``process`` with ``status`` (128+signal when killed); init's end ends the run."""
        if not process.alive:
            return
        process.exit_status = status
        process.kill_reason = kill_reason
        process.set_state(ProcState.DYING)  # first: nothing it holds is handed back to it
        for thread in process.threads:
            self._retire_thread(thread)
        self.scheduler.process_exited(process)
        self.trace_event("exit", process, status=status, killed=kill_reason is not None)
        self._release(process)
        for child in process.children:  # orphans go to init, as on Unix
            child.parent = self.init if self.init is not process else None
            if child.parent is not None:
                child.parent.children.append(child)
        process.children = []
        self.plugins.notify("kernkit_process_exited", kernel=self, process=process)
        if process.parent is not None:
            process.parent.child_events.wake(len(process.parent.child_events))
        if process is self.init:
            if self.exit_status is None:
                self.exit_status = status
            self.finished = True
        elif not any(p.alive for p in self.processes.values()):
            self.finished = True

    def _retire_thread(self, thread: Thread) -> None:
        if thread.state is EXITED:
            return
        was_running = thread.state is RUNNING
        thread.state = EXITED
        thread.wait_token = None
        if thread.wake_timer is not None:
            self.timers.cancel(thread.wake_timer)
            thread.wake_timer = None
        if thread.waiting_on is not None:
            thread.waiting_on.remove(thread)
        if was_running and thread.core is not None:
            self.current[thread.core] = None
        thread.stop_requested = True
        self.scheduler.thread_exited(thread)

    def reap(self, process: Process) -> None:
        """Forget a finished process (its parent has collected its status)."""
        if process.alive:
            raise KernelPanic(f"reaping pid {process.pid}, which is still {process.state.value}")
        self._forget(process)

    def _forget(self, process: Process) -> None:
        self.processes.pop(process.pid, None)
        self._unstarted.pop(process.pid, None)
        if process.parent is not None and process in process.parent.children:
            process.parent.children.remove(process)

    def _release(self, process: Process) -> None:
        if process.files is not None:
            process.files.close_all()
        if process.aspace is not None:
            process.aspace.release()
            process.aspace = None

    def kill(self, process: Process, signal: int, reason: str | None = None) -> None:
        """End ``process`` as if by ``signal`` (exit status 128+signal); ``reason``, if given, is
        reported to the user."""
        if reason:
            self.message(reason)
        self.trace_event("kill", process, signal=signal)
        process.term_signal = signal
        self.exit_process(process, 128 + signal, reason or f"killed by signal {signal}")

    def kill_tree(self, process: Process, signal: int) -> None:
        """Kill ``process`` and all its descendants (children first)."""
        for child in list(process.children):
            self.kill_tree(child, signal)
        if process.alive:
            self.kill(process, signal)

    def end_thread(self, thread: Thread) -> None:
        """End one thread and forget it; the process lives on even without threads (an MCP
        whose last vcore yielded)."""
        self._retire_thread(thread)
        if thread in thread.process.threads:
            thread.process.threads.remove(thread)

    def exit_thread(self, thread: Thread, status: int) -> None:
        """End one thread; the last thread of a process ends the process with ``status``."""
        if any(t is not thread and t.state is not EXITED for t in thread.process.threads):
            self._retire_thread(thread)
            thread.process.threads.remove(thread)  # gone for good: nothing waits for a thread
        else:
            self.exit_process(thread.process, status)

    def fault(self, thread: Thread, fault: Fault) -> None:
        """A guest fault of ``thread``: its personality decides (a signal handler may take it);
        a fault it does not take kills the process with a report."""
        decide = thread.process.personality.fault
        if decide is None or not decide(thread, fault):
            self.kill_by_fault(thread, fault)

    def kill_by_fault(self, thread: Thread, fault: Fault) -> None:
        """End ``thread``'s process for ``fault`` (exit status 128+signal) with a three-line
        report: who died of what and where, the instruction, the registers."""
        report = fault_report(self, thread, fault)
        self.message(report)
        self.trace_event(
            "fault",
            thread.process,
            tid=thread.tid,
            what=fault.what,
            pc=fault.pc,
            addr=fault.address,
            signal=fault.signal,
        )
        thread.process.term_signal = fault.signal
        self.exit_process(thread.process, 128 + fault.signal, report.splitlines()[0])

    # --- work before user mode: what signal delivery is built on ------------------------

    def want_user_work(self, thread: Thread) -> None:
        """Have ``thread``'s personality run its ``return_to_user`` step before the thread next
        executes an instruction: right after the system call in progress if the thread is the
        one making it, else before its next run. A blocked thread stays blocked (see
        :meth:`interrupt`). Cheap: a flag the machine checks after each system call."""
        thread.user_work = True

    def return_to_user(self, thread: Thread) -> None:
        """Run the personality's ``return_to_user`` step for ``thread`` (its ``user_work`` flag
        is set): called by the machine after a system call and by the run loop before a run."""
        thread.user_work = False
        step = thread.process.personality.return_to_user
        if step is not None:
            step(thread)

    def interrupt(self, thread: Thread) -> bool:
        """Wake ``thread`` from whatever it sleeps in (a wait queue, a timed sleep) without a
        result: its system call is left as it stopped (to run again, or with no result yet) for
        the personality to settle before the thread returns to user mode (a signal's EINTR or
        restart). False if the thread was not blocked."""
        if thread.state is not BLOCKED:
            return False
        if thread.waiting_on is not None:
            thread.waiting_on.remove(thread)
        self.wake(thread)
        return True

    def set_cpu_alarm(
        self, process: Process, at: int | None, callback: Callable[[], None] | None = None
    ) -> None:
        """Call ``callback()`` once ``process``'s threads have retired ``at`` instructions in all
        (``process.instructions``): CPU-time timers. Checked after each run of one of its
        threads, so it fires at the end of the run that reaches it. None cancels. Fast mode
        counts no instructions: there it never fires."""
        process.cpu_alarm = None if at is None else (at, callback)

    def _cpu_alarm(self, process: Process) -> None:
        alarm = process.cpu_alarm
        if alarm is not None and process.instructions >= alarm[0]:
            process.cpu_alarm = None
            alarm[1]()

    # --- blocking -------------------------------------------------------------------------

    def sleep_until(self, thread: Thread, wake_at: int, on_timeout: Callable[[], None] | None = None) -> None:
        """Block ``thread`` until virtual time ``wake_at`` (ns), unless :meth:`wake` comes first;
        ``on_timeout`` runs just before a wake-up by the clock."""
        self.block(thread)
        token = thread.wait_token = object()

        def expire() -> None:
            if thread.wait_token is token and thread.state is BLOCKED:
                thread.wake_timer = None
                if on_timeout is not None:
                    on_timeout()
                self.wake(thread)
                if self.costs is not None:  # the timer interrupt delays the woken thread
                    thread.clock += self.costs.timer_interrupt
                    self.cost_ledger.note("timer_interrupt", None, self.costs.timer_interrupt)

        thread.wake_timer = self.timers.add(wake_at, expire)

    def block(self, thread: Thread) -> None:
        """Take ``thread`` off its core until :meth:`wake` (the CPU loop stops after the syscall)."""
        thread.state = BLOCKED
        thread.stop_requested = True
        if thread.core is not None and self.current[thread.core] is thread:
            self.current[thread.core] = None
            self._ran_last[thread.core] = None  # it comes back through the idle loop
        self.scheduler.thread_blocked(thread)
        thread.process.refresh_state()

    def wake(self, thread: Thread) -> None:
        if thread.state is not BLOCKED:
            return
        thread.clock = max(thread.clock, self.now(self._active_core))
        thread.state = RUNNABLE
        thread.wait_token = None
        if thread.wake_timer is not None:  # woken before its timeout: the timer goes
            self.timers.cancel(thread.wake_timer)
            thread.wake_timer = None
        thread.process.refresh_state()
        self._wakes += 1
        self.scheduler.thread_runnable(thread)

    def yield_core(self, thread: Thread) -> None:
        """``thread`` gives up its core but stays runnable."""
        if thread.core is not None and self.current[thread.core] is thread:
            self.current[thread.core] = None
        thread.state = RUNNABLE
        thread.stop_requested = True
        self.scheduler.thread_runnable(thread)

    # --- the run loop ---------------------------------------------------------------------

    def message(self, text: str) -> None:
        """A line (or lines) from the kernel to the user, on the host's stderr."""
        self.messages.append(text)
        for line in text.splitlines():
            self.stderr.write(f"kernkit: {line}\n".encode())
        self.stderr.flush()

    def run(self) -> int:
        """Run until init exits (its status), a panic (70) or the instruction budget (124)."""
        try:
            if self.monitor_input is not None and self._monitor(can_continue=True) == "quit":
                # as a quit later in the run: every process killed, so init's status is SIGKILL's
                self.message("monitor: quit: the run ends")
                self.exit_status, self.finished = EXIT_KILLED, True
            while not self.finished:
                if self.interrupted:  # Ctrl-C while a core ran guest code (see the CLI's handler)
                    raise KeyboardInterrupt
                self._round()
        except KernkitError:  # a plugin broke the contract: reported as one line by the caller
            raise
        except KernelPanic as panic:
            self._panic(panic.message, panic.report)
        except Exception as exc:  # a bug in the kernel or a plugin: report it as a panic
            import traceback  # only now: a boot that does not panic does without it

            self._panic(f"{type(exc).__name__}: {exc}", traceback.format_exc().rstrip())
        finally:
            self.shutdown()
        return self.exit_status if self.exit_status is not None else 0

    def _panic(self, message: str, report: str) -> None:
        self.message(f"kernel panic: {message}")
        if report:
            self.message(report)
        self.message(process_list(self))
        for thread in on_core_threads(self):
            self.message("\n".join(backtrace_lines(self, thread)))
        self.exit_status = EXIT_PANIC
        self.finished = True
        if self.monitor_input is not None:
            self._monitor(can_continue=False)

    def _monitor(self, can_continue: bool) -> str:
        def write(text: str, end: str = "\n") -> None:
            self.stderr.write((text + end).encode())
            self.stderr.flush()

        return Monitor(self, self.monitor_input, write).interact(can_continue)

    def shutdown(self) -> None:
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        try:
            for process in list(self.processes.values()):
                if process.alive:
                    self.exit_process(process, 128 + 9, "kernel shut down")
            self.plugins.notify("kernkit_shutdown", kernel=self)
        finally:
            self.hostio.close()
            self.tracer.close()
            self.machine.close()

    def _round(self) -> None:
        """Every core runs up to one quantum; then time advances, sleepers wake, the scheduler ticks."""
        self.plugins.notify("kernkit_poll", kernel=self)
        if self.finished:
            return
        quantum = self.quantum
        ran = False
        kmsgs = self.kmsgs
        for core in range(len(self.current)):
            runs = 0
            if kmsgs.immediate[core] or kmsgs.routine[core]:
                self._run_kmsgs(core, routine=True)
            while self._core_used[core] < quantum and not self.finished:
                thread = self.current[core] or self._pick(core)
                if thread is None or self._core_used[core] >= quantum:
                    break
                if thread.user_work:  # a signal to deliver first (see want_user_work)
                    self._active_core = core
                    try:
                        self.return_to_user(thread)
                    finally:
                        self._active_core = None
                    if self.current[core] is not thread:  # stopped or ended by it
                        continue
                budget = quantum - self._core_used[core]
                limit = None  # the instruction budget holds exactly; a quantum may end a little late
                if self.max_instructions:
                    limit = self.max_instructions - self.instructions
                    budget = min(budget, limit)
                    if budget <= 0:
                        self._out_of_budget()
                        return
                self._active_core = core
                if self.tracing:
                    self._span_start[core] = self.now(core)
                if self.cost_ledger is not None:  # an idle core took no ticks meanwhile
                    started = self.round_start_ns + self._core_used[core] * 1_000_000_000 // self.ips
                    ticked = self.cost_ledger.ticked_to
                    ticked[core] = max(ticked[core], started)
                try:
                    stop = self.machine.run(core, thread, budget, limit)
                finally:
                    self._active_core = None
                ran = True
                runs += 1
                if stop.kind == "switch":  # handed over inside the run, all accounted for
                    continue
                if stop.thread is not None:
                    thread = stop.thread
                self._account(core, thread, stop)
                if kmsgs.immediate[core]:
                    self._run_kmsgs(core, routine=False)
                if stop.kind == "slice" or (not self.deterministic and runs >= FAST_RUNS_PER_ROUND):
                    break
            if self.finished:
                return
        self._end_round(ran)

    def _account(self, core: int, thread: Thread, stop: Stop) -> None:
        """Charge a run's instructions to ``thread`` and its core, then settle its stop."""
        used = self._core_used[core] = self._core_used[core] + stop.instructions
        if self.costs is not None:
            self._charge_ticks(core, used)
            used = self._core_used[core]
        self.instructions += stop.instructions
        self.core_instructions[core] += stop.instructions
        thread.instructions += stop.instructions
        process = thread.process
        process.instructions += stop.instructions
        if process.cpu_alarm is not None:
            self._cpu_alarm(process)
        if self.deterministic:  # now(core), without asking the machine: the run is over
            reached = self.round_start_ns + used * 1_000_000_000 // self.ips
        else:
            reached = self.now(core)
        if reached > thread.clock:
            thread.clock = reached
        if self.tracing:
            self.trace_event(
                "run",
                thread.process,
                tid=thread.tid,
                core=core,
                start=self._span_start[core],
                end=reached,
                stop=stop.kind,
                instructions=stop.instructions,
            )
            self._span_start[core] = reached
        if self.debugger is not None:
            stop = self.debugger.stopped(core, thread, stop)
        self._after_stop(core, thread, stop)

    def handoff(self, core: int, thread: Thread, instructions: int) -> Handoff:
        """Called by a machine from inside a run on ``core`` when a syscall handler stopped
        ``thread`` after ``instructions`` of this run: settle it as after any stop and name the
        thread to go on with inside the same run (see :class:`~kernkit.core.machine.Handoff`:
        CONTINUE with a thread, SETTLED when the run must end, NOT_TAKEN when the kernel needs
        the run to end first and did nothing)."""
        if (
            self.finished
            or not self.deterministic
            or self.debugger is not None
            or thread.state is RUNNING
            or self.kmsgs.immediate[core]
            or self._core_used[core] + instructions >= self.quantum
        ):
            return NOT_TAKEN
        self._active_core = core
        self._account(core, thread, Stop("syscall", instructions))
        if self.finished or self.kmsgs.immediate[core]:
            return SETTLED
        used = self._core_used[core]
        ledger = self.cost_ledger
        charged = ledger.per_core[core] if ledger is not None else 0
        following = self.current[core] or self._pick(core)
        if ledger is not None:  # the switch's own cost does not make the thread start later
            used += ledger.per_core[core] - charged
        if following is None or self._core_used[core] != used or following.user_work:
            return SETTLED  # nothing, it starts later, or it has a signal to take first
        return Handoff(HandoffKind.CONTINUE, following)

    def _pick(self, core: int) -> Thread | None:
        thread = self.scheduler.pick_next(core)
        if thread is None:
            return None
        if thread.state is not RUNNABLE:
            raise KernelPanic(f"scheduler picked {thread!r}, which is not runnable")
        thread.state = RUNNING
        thread.core = core
        self.current[core] = thread
        previous, self.cur_proc[core] = self.cur_proc[core], thread.process
        self.context_switches += 1
        thread.process.refresh_state()
        if self.deterministic:  # the thread cannot start before the time it last stopped at
            behind = (thread.clock - self.round_start_ns) * self.ips // 1_000_000_000
            self._core_used[core] = max(self._core_used[core], behind)
            if self.costs is not None:
                self._charge_pick(core, thread, previous)
        return thread

    def _after_stop(self, core: int, thread: Thread, stop: Stop) -> None:
        thread.stop_requested = False
        if stop.kind == "fault":
            self.fault(thread, stop.fault)
        if self.current[core] is not thread:
            state = thread.state
            if state is not RUNNING:
                thread.core = None
            if state is RUNNABLE:  # block() and exits have brought the process state up to date
                thread.process.refresh_state()

    def _end_round(self, ran: bool) -> None:
        if self.deterministic:
            self.round_start_ns += self.quantum * 1_000_000_000 // self.ips
            # a run may end past the quantum (at the end of a translated block): the core
            # starts the next round that far in, so its clock keeps counting every instruction
            quantum = self.quantum
            self._core_used = [max(used - quantum, 0) for used in self._core_used]
        else:
            self.round_start_ns = self.now()
            self._core_used = [0] * len(self.current)
        for core, thread in enumerate(self.current):
            if thread is not None and self.scheduler.tick(core, thread):
                self.current[core] = None
                thread.state = RUNNABLE
                thread.core = None
                thread.process.refresh_state()
                self.scheduler.thread_runnable(thread)
        quiet = not ran and not any(self.current) and not self.kmsgs.any_pending()
        idle = quiet and not self._anything_runnable()
        if idle and self.timers:  # nothing could run: jump to the first timer
            self.round_start_ns = max(self.round_start_ns, self.timers.next_time())
        self.timers.fire_due(self.round_start_ns)
        if idle and not self.timers and not self._anything_runnable() and not self.kmsgs.any_pending():
            self._idle()
            return
        self.hostio.poll()  # host input between rounds; its callbacks may wake threads or end init

    def _idle(self) -> None:
        """Nothing can run and no timer is pending: serve host input, without rounds, until a
        guest has something to do (a thread woken, a timer or kernel message queued) or the run
        ends; with nobody keeping the kernel up for the host, the run ends here."""
        wakes = self._wakes

        def busy() -> bool:
            return self.finished or self._wakes != wakes or bool(self.timers) or self.kmsgs.any_pending()

        if self.hostio.wait_idle(busy):
            return
        self.hostio.poll()  # input already there for a plugin that does not keep the kernel up
        if self.finished or busy():
            return
        if any(p.alive for p in self.processes.values()):
            raise KernelPanic("deadlock: every process is waiting and nothing can wake it")
        self.finished = True

    def _anything_runnable(self) -> bool:
        return any(t.state is RUNNABLE for p in self.processes.values() for t in p.threads)

    def _out_of_budget(self) -> None:
        self.message(
            f"instruction budget exhausted after {self.instructions} instructions "
            f"(raise it with --max-instructions or [kernel] max_instructions)"
        )
        self.exit_status = EXIT_BUDGET
        self.finished = True
