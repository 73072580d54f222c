"""The Akaros ksched: SCPs share core 0, MCPs get the other cores (FCFS or packed), with
provisioning and preemption of provisioned cores.

Multi-threaded processes of personalities without vcores (Linux) are scheduled as Akaros
schedules nothing of the kind: their kernel threads get cores like an MCP's vcores (as many
cores as runnable threads), time-sliced among themselves; ``linux_threads = "core0"`` keeps
them on core 0 instead. Their CPU affinity (``sched_setaffinity``) narrows the cores they are
granted and keeps those cores for them: no other process is granted a core a live process pinned
itself to (as if provisioned and never lent). Core 0 still runs them while they hold no core.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from kernkit.core.process import EXITED, RUNNABLE, RUNNING
from kernkit.core.scheduler import BaseScheduler

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

MANAGEMENT_CORE = 0


class McpScheduler(BaseScheduler):
    def __init__(self, kernel: Kernel) -> None:
        options = kernel.config["sched.mcp"]
        self.kernel = kernel
        self.ncores = len(kernel.current)
        self.tick_ns = options.tick_us * 1000
        self.packed = options.alloc == "packed"
        self.threaded_cores = options.linux_threads == "cores"
        #: Runnable threads of single-core processes, for core 0.
        self.scp_queue: deque[Thread] = deque()
        #: Cores no process holds, in the order they were freed.
        self.idle: deque[int] = deque(range(1, self.ncores))
        self.owner: dict[int, Process] = {}
        self.cores_of: dict[Process, list[int]] = {}
        #: The vcore thread on each core granted to a vcore MCP.
        self.pinned: dict[int, Thread] = {}
        #: Runnable threads of a kernel-threaded MCP, for its cores.
        self.queues: dict[Process, deque[Thread]] = {}
        self.provisioned: dict[int, Process] = {}
        #: Processes that want cores, first come first served.
        self.mcps: list[Process] = []
        self._preempting: set[int] = set()
        self._started: dict[Thread, int] = {}
        self._in_pass = False

    # --- what kind of process ----------------------------------------------------------------

    @staticmethod
    def _has_vcores(process: Process) -> bool:
        return process.mcp and process.personality.vcores is not None

    def _is_vcore(self, thread: Thread) -> bool:
        """A vcore of an MCP (its core's pick_next finds it); an MCP's other threads (kernel tasks
        its personality runs for it) time-share core 0 with the single-core processes."""
        process = thread.process
        if not self._has_vcores(process):
            return False
        is_vcore = getattr(process.personality.vcores, "is_vcore", None)
        return is_vcore is None or is_vcore(thread)

    def _threaded(self, process: Process) -> bool:
        if not self.threaded_cores or process.personality.vcores is not None or self.ncores < 2:
            return False
        return process in self.cores_of or sum(t.state is not EXITED for t in process.threads) > 1

    # --- the SchedulerPolicy interface --------------------------------------------------------

    def thread_runnable(self, thread: Thread) -> None:
        process = thread.process
        if self._is_vcore(thread):
            return  # its core's pick_next finds it
        if self._threaded(process):
            if process not in self.mcps:
                self.mcps.append(process)
            if self.cores_of.get(process):
                self.queues.setdefault(process, deque()).append(thread)
            else:
                self.scp_queue.append(thread)
            self._pass()
            return
        self.scp_queue.append(thread)

    def thread_blocked(self, thread: Thread) -> None:
        self._forget(thread)

    def thread_exited(self, thread: Thread) -> None:
        self._forget(thread)
        core = next((c for c, t in self.pinned.items() if t is thread), None)
        if core is not None:  # a vcore yielded (or died): its core goes back
            del self.pinned[core]
            self._release(core)

    def pick_next(self, core: int) -> Thread | None:
        if core == MANAGEMENT_CORE:
            return self._start(self.scp_queue.popleft()) if self.scp_queue else None
        process = self.owner.get(core)
        if process is None:
            return None
        if self._has_vcores(process):
            thread = self.pinned.get(core)
            return thread if thread is not None and thread.state is RUNNABLE else None
        queue = self.queues.get(process)
        if queue:
            return self._start(queue.popleft())
        if core not in self._preempting:
            self._release(core)  # a kernel-threaded MCP keeps only cores it can use
        return None

    def tick(self, core: int, current: Thread) -> bool:
        if core == MANAGEMENT_CORE:
            self._pass()
            return bool(self.scp_queue) and self._ran_for(current) >= self.tick_ns
        process = self.owner.get(core)
        if process is not None and core not in self._preempting:
            keeper = self._kept().get(core, process)
            if keeper is not process:  # it was granted before its keeper pinned itself to it
                if self._has_vcores(process):
                    self._preempt(core, keeper)
                else:
                    self._release(core)
                return False
        if process is None or self._has_vcores(process):
            return False  # no ticks on a core granted to an MCP
        return bool(self.queues.get(process)) and self._ran_for(current) >= self.tick_ns

    def cores_wanted(self, process: Process) -> None:
        if process not in self.mcps and process.alive:
            self.mcps.append(process)
        self._pass()

    def max_vcores(self, process: Process) -> int:
        return self.ncores - 1

    def provision(self, process: Process | None, core: int) -> None:
        if process is None:
            self.provisioned.pop(core, None)
        else:
            self.provisioned[core] = process
        self._pass()

    def provisioning(self) -> dict[int, Process]:
        return {core: process for core, process in sorted(self.provisioned.items()) if process.alive}

    def process_exited(self, process: Process) -> None:
        for core in list(self.cores_of.get(process, ())):
            self.pinned.pop(core, None)
            self._release(core, run_pass=False)
        self.cores_of.pop(process, None)
        self.queues.pop(process, None)
        if process in self.mcps:
            self.mcps.remove(process)
        for core in [c for c, p in self.provisioned.items() if p is process]:
            del self.provisioned[core]
        self._pass()

    # --- core allocation ----------------------------------------------------------------------

    def _wanted(self, process: Process) -> int:
        if not process.alive:
            return 0
        provider = process.personality.vcores
        if provider is not None:
            wanted = provider.vcores_wanted(process)
        else:
            wanted = sum(t.state is RUNNABLE or t.state is RUNNING for t in process.threads)
            allowed = self._allowed(process)
            if allowed is not None:
                wanted = min(wanted, (allowed & ~(1 << MANAGEMENT_CORE)).bit_count())
        return min(wanted, self.max_vcores(process))

    def _allowed(self, process: Process) -> int | None:
        """The cores ``process``'s threads may run on, a bit per core; None: any."""
        masks = [t.affinity for t in process.threads if t.state is not EXITED]
        if not masks or None in masks:
            return None
        allowed = 0
        for mask in masks:
            allowed |= mask
        return None if allowed == (1 << self.ncores) - 1 else allowed

    def _kept(self) -> dict[int, Process]:
        """The cores live processes pinned themselves to (none of them core 0), and for whom."""
        kept: dict[int, Process] = {}
        for process in self.kernel.processes.values():
            allowed = self._allowed(process) if process.alive else None
            for core in range(1, self.ncores) if allowed is not None else ():
                if allowed >> core & 1:
                    kept.setdefault(core, process)
        return kept

    def _grantable(self, process: Process) -> list[int]:
        """The idle cores ``process`` may be granted: those its affinity allows, less those
        another live process pinned itself to."""
        allowed = self._allowed(process)
        kept = self._kept()
        return [
            core
            for core in self.idle
            if (allowed is None or allowed >> core & 1) and kept.get(core, process) is process
        ]

    def _pass(self) -> None:
        """A ksched pass: give cores to the processes that want more, in FCFS order."""
        if self._in_pass:
            return
        self._in_pass = True
        try:
            for process in list(self.mcps):
                if not process.alive:
                    self.mcps.remove(process)
                    continue
                missing = self._wanted(process) - len(self.cores_of.get(process, ()))
                while missing > 0:
                    core = self._choose_core(process)
                    if core is None:
                        break
                    self._give(process, core)
                    missing -= 1
        finally:
            self._in_pass = False

    def _choose_core(self, process: Process) -> int | None:
        """Cores provisioned to ``process`` first (preempting another MCP that holds one), then
        the head of the idle list (fcfs) or the idle core nearest its others (packed)."""
        for core in sorted(c for c, p in self.provisioned.items() if p is process):
            holder = self.owner.get(core)
            if holder is None:
                self.idle.remove(core)
                return core
            if holder is not process and core not in self._preempting:
                self._preempt(core, process)
        grantable = self._grantable(process)
        if not grantable:
            return None
        best = grantable[0]
        if self.packed and self.cores_of.get(process):
            mine = self.cores_of[process]
            best = min(grantable, key=lambda c: (min(abs(c - m) for m in mine), c))
        self.idle.remove(best)
        return best

    def _give(self, process: Process, core: int) -> None:
        self.owner[core] = process
        self.cores_of.setdefault(process, []).append(core)
        self.kernel.granted[core] = process
        self.kernel.trace_event("grant", process, pcore=core)
        if self._has_vcores(process):
            self.kernel.send_kmsg(core, "__startcore", lambda: self._startcore(process, core))
            return
        queue = self.queues.setdefault(process, deque())
        for thread in [t for t in self.scp_queue if t.process is process]:
            self.scp_queue.remove(thread)
            queue.append(thread)

    def _startcore(self, process: Process, core: int) -> None:
        if self.owner.get(core) is not process:
            return
        thread = process.personality.vcores.start_vcore(process, core) if process.alive else None
        if thread is None:
            self._release(core)
        else:
            self.pinned[core] = thread

    def _release(self, core: int, run_pass: bool = True) -> None:
        process = self.owner.pop(core, None)
        if process is None:
            return
        self.kernel.granted[core] = None
        cores = self.cores_of.get(process, [])
        if core in cores:
            cores.remove(core)
        current = self.kernel.current[core]
        if current is not None and current.process is process and not self._has_vcores(process):
            self.kernel.yield_core(current)  # its thread goes back to a queue
        if not cores:
            self.cores_of.pop(process, None)
            for thread in self.queues.pop(process, ()):
                self.scp_queue.append(thread)
        self.idle.append(core)
        self.kernel.trace_event("release", process, pcore=core)
        if run_pass:
            self._pass()

    def _preempt(self, core: int, taker: Process) -> None:
        """Take provisioned ``core`` from its holder for ``taker``: a warning now, the preemption
        as a routine kernel message on that core."""
        holder = self.owner[core]
        self._preempting.add(core)
        victim = self.pinned.get(core)
        if victim is not None:
            holder.personality.vcores.preempt_warning(victim)
        self.kernel.trace_event("preempt_warn", holder, pcore=core, to=taker.pid)
        self.kernel.send_kmsg(core, "__preempt", lambda: self._do_preempt(core, holder, taker))

    def _do_preempt(self, core: int, holder: Process, taker: Process) -> None:
        self._preempting.discard(core)
        if self.owner.get(core) is not holder:
            self._pass()
            return
        victim = self.pinned.pop(core, None)
        if victim is not None and victim.state is not EXITED:
            holder.personality.vcores.preempt_vcore(victim)
        self._release(core, run_pass=False)
        if taker.alive and self.provisioned.get(core) is taker:
            self.idle.remove(core)
            self._give(taker, core)
        self._pass()

    # --- helpers ------------------------------------------------------------------------------

    def _start(self, thread: Thread) -> Thread:
        self._started[thread] = self.kernel.now(thread.core)
        return thread

    def _ran_for(self, thread: Thread) -> int:
        return self.kernel.now() - self._started.get(thread, 0)

    def _forget(self, thread: Thread) -> None:
        self._started.pop(thread, None)
        if thread in self.scp_queue:
            self.scp_queue.remove(thread)
        queue = self.queues.get(thread.process)
        if queue is not None and thread in queue:
            queue.remove(thread)
