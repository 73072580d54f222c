"""The kernkit plugin contract: every hook a plugin may implement.

Hooks are grouped by phase. Registration hooks return a list of typed records
(:mod:`kernkit.core.records`); the plugin manager collects them and rejects duplicate names.
Notification hooks are called for every plugin that implements them and return nothing.

Implement a hook with :data:`hookimpl`, importing everything from :mod:`kernkit.api`; every
hook below shows a complete plugin module that uses it (a test runs each one). Hooks are called
the pluggy way: the most recently registered plugin first, with ``tryfirst``/``trylast`` and
``hookwrapper``/``wrapper`` implementations honoured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from kernkit.core.config import Config
    from kernkit.core.costs import KernelCosts
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread
    from kernkit.core.records import (
        Architecture,
        BinaryFormat,
        BootStep,
        ConfigSection,
        Device,
        MonitorCommand,
        PluginDeclaration,
        ProcFile,
        Scheduler,
        SyscallExtension,
        SyscallTable,
        TraceStyle,
    )

PROJECT = "kernkit"
#: Version of this contract. Bumped in the major when a hook changes incompatibly.
CONTRACT_VERSION = "2.2"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Identity: asked once, when the plugin is registered ---------------------------------


@hookspec
def kernkit_declare_plugin() -> PluginDeclaration:
    """Say what this plugin needs: the plugins it requires (by short name, such as ``"ns"``).

    Asked of each plugin on its own when it is registered (not a broadcast). A kernel is
    assembled only when every plugin's requirements are loaded; otherwise the config is refused
    with a line naming both plugins. A plugin imports another plugin's code only through that
    plugin's public module (its ``api`` module), and only if it requires it.

    Example::

        from kernkit.api import PluginDeclaration, hookimpl

        @hookimpl
        def kernkit_declare_plugin():
            return PluginDeclaration(requires=("ns",), description="uses the namespace")

    :return: a :class:`~kernkit.core.records.PluginDeclaration`.
    """


# --- Registration: called once when the kernel is assembled -------------------------------


@hookspec
def kernkit_config_sections() -> list[ConfigSection]:
    """Declare the config tables this plugin owns and their options.

    Called before the configuration is validated. Every key of a declared table is checked
    against the options class: unknown keys, wrong types and invalid values are errors.

    Example::

        import attrs

        from kernkit.api import ConfigSection, hookimpl, option, positive

        @attrs.frozen
        class GreetOptions:
            times: int = option(1, "how many times to greet", validator=positive)

        @hookimpl
        def kernkit_config_sections():
            return [ConfigSection("greet", GreetOptions, "[greet] times = 3")]

    :return: a list of :class:`~kernkit.core.records.ConfigSection` records.
    """


@hookspec
def kernkit_register_architectures() -> list[Architecture]:
    """Offer machine architectures, chosen by ``[machine] arch``.

    Example::

        from kernkit.api import Architecture, hookimpl

        def create_machine(kernel):  # a start: today's x86-64 machine, to change at will
            return kernel.registries["architecture"]["x86_64"].record.create_machine(kernel)

        @hookimpl
        def kernkit_register_architectures():
            return [Architecture("x86_64_copy", {"elf": 62}, create_machine, "x86-64 under a new name")]

    :return: a list of :class:`~kernkit.core.records.Architecture` records.
    """


@hookspec
def kernkit_register_syscall_tables() -> list[SyscallTable]:
    """Offer personalities (syscall ABIs), enabled by ``[kernel] personalities``.

    Example::

        from kernkit.api import EFAULT, ENOSYS, Syscall, SyscallTable, hookimpl

        def setup_process(kernel, process, image, argv, envp):  # Linux's initial stack will do
            return kernel.personality("linux").setup_process(kernel, process, image, argv, envp)

        def sys_exit(thread, status):
            thread.kernel.exit_thread(thread, status & 0xFF)

        @hookimpl
        def kernkit_register_syscall_tables():
            calls = (Syscall(500, "answer", lambda thread: 42), Syscall(60, "exit", sys_exit, 1))
            return [SyscallTable("answers", calls, setup_process, errno_fault=EFAULT, errno_nosys=ENOSYS)]

    :return: a list of :class:`~kernkit.core.records.SyscallTable` records.
    """


@hookspec
def kernkit_register_syscall_extensions() -> list[SyscallExtension]:
    """Add system calls to a personality another plugin registers (the VMM's calls to
    ``akaros``). Merged into the personality's table when the kernel is assembled; a number
    used twice is an error naming both calls.

    Example::

        from kernkit.api import Syscall, SyscallExtension, hookimpl

        @hookimpl
        def kernkit_register_syscall_extensions():
            answer = Syscall(500, "answer", lambda thread: 42)
            return [SyscallExtension("answer", "linux", (answer,), "syscall 500 answers 42")]

    :return: a list of :class:`~kernkit.core.records.SyscallExtension` records.
    """


@hookspec
def kernkit_register_schedulers() -> list[Scheduler]:
    """Offer scheduling policies, chosen by ``[sched] policy``.

    Example::

        from kernkit.api import BaseScheduler, Scheduler, hookimpl

        class Fifo(BaseScheduler):  # no preemption: a thread keeps its core until it blocks or exits
            def __init__(self, kernel):
                self.kernel, self.queue = kernel, []

            def thread_runnable(self, thread):
                self.queue.append(thread)

            def thread_blocked(self, thread):
                pass

            def thread_exited(self, thread):  # killed while waiting for a core, say
                if thread in self.queue:
                    self.queue.remove(thread)

            def pick_next(self, core):
                return self.queue.pop(0) if self.queue else None

            def tick(self, core, current):
                return False

        @hookimpl
        def kernkit_register_schedulers():
            return [Scheduler("fifo", Fifo, "first come, first served")]

    :return: a list of :class:`~kernkit.core.records.Scheduler` records.
    """


@hookspec
def kernkit_register_devices() -> list[Device]:
    """Offer devices in the Plan 9 style, attached in a namespace as ``#name`` (or
    ``#name.spec``) and bound into processes' namespaces (``[namespace] binds``, or a process's
    own bind). Each record's ``create(kernel)`` returns the driver, which implements the
    operations of :class:`kernkit.core.devices.DeviceDriver` (see docs/namespace.md).

    Example::

        from kernkit.api import QTFILE, Chan, Device, DeviceDriver, Dir, Qid, hookimpl

        class Hello(DeviceDriver):  # #hello is one file: cat #hello says hello
            def attach(self, spec):
                return Chan(self, Qid(0, 0, QTFILE))

            def stat(self, chan, *, caller=None):
                return Dir("hello", chan.qid, 0o444, 6)

            def read(self, chan, count, offset, *, caller=None):
                return b"hello\\n"[offset : offset + count]

        @hookimpl
        def kernkit_register_devices():
            return [Device("hello", Hello, "a greeting")]

    :return: a list of :class:`~kernkit.core.records.Device` records.
    """


@hookspec
def kernkit_register_proc_files() -> list[ProcFile]:
    """Offer files that every process's directory in the ``#proc`` device shows
    (``/proc/PID/NAME``), such as a personality's per-process state. The ``#proc`` device's own
    files (status, ctl, ns, fd, args) are registered the same way, so names cannot clash.

    Example::

        from kernkit.api import ProcFile, hookimpl

        def threads(kernel, process):
            return f"{len(process.threads)}\\n"

        @hookimpl
        def kernkit_register_proc_files():
            return [ProcFile("threads", threads, description="how many threads the process has")]

    :return: a list of :class:`~kernkit.core.records.ProcFile` records.
    """


@hookspec
def kernkit_register_binary_formats() -> list[BinaryFormat]:
    """Offer program formats the kernel can load (for init and for exec).

    Example::

        from kernkit.api import BinaryFormat, ProgramError, hookimpl

        def load(kernel, process, data, path):
            raise ProgramError(f"{path}: example programs cannot run yet")

        @hookimpl
        def kernkit_register_binary_formats():
            return [BinaryFormat("example", lambda header: header.startswith(b"#!example"), load)]

    :return: a list of :class:`~kernkit.core.records.BinaryFormat` records.
    """


@hookspec
def kernkit_register_monitor_commands() -> list[MonitorCommand]:
    """Offer commands for the kernel monitor (and gdb's ``monitor``), next to the core's own
    ``ps``, ``bt``, ``regs``, ``mem``, ``cores`` and ``trace``.

    Example::

        from kernkit.api import MonitorCommand, hookimpl

        def uptime(kernel):
            return f"{kernel.now() / 1e9:.6f} s of virtual time"

        @hookimpl
        def kernkit_register_monitor_commands():
            return [MonitorCommand("uptime", uptime, "virtual time since boot")]

    :return: a list of :class:`~kernkit.core.records.MonitorCommand` records.
    """


@hookspec
def kernkit_register_trace_styles() -> list[TraceStyle]:
    """Say how trace viewers show the events this plugin emits with ``Kernel.trace_event``:
    their marker, colour, legend, the label of one event, the core it concerns.

    Example::

        from kernkit.api import BootStep, TraceStyle, hookimpl

        def say_hello(kernel):
            kernel.trace_event("hello", core=0, by="a boot step")

        @hookimpl
        def kernkit_boot_steps():
            return [BootStep("say_hello", "services", say_hello)]

        @hookimpl
        def kernkit_register_trace_styles():
            return [TraceStyle("hello", "the example said hello", "circle", "#2e86c1", "hello from {by}")]

    :return: a list of :class:`~kernkit.core.records.TraceStyle` records.
    """


@hookspec(firstresult=True)
def kernkit_kernel_costs(config: Config) -> KernelCosts | None:
    """Say what the kernel's own work costs in virtual time (a cost model).

    Asked once, when the kernel is built; the first plugin that returns a
    :class:`~kernkit.core.costs.KernelCosts` decides (None: no opinion). The kernel then charges
    those cycles to the core and thread doing each piece of work: system calls, context and
    address-space switches, page faults, kernel messages and IPIs, timer interrupts, a periodic
    tick. Without an answer (or with a table of zeros, or in fast mode) kernel work takes no
    virtual time and the kernel checks no costs on its hot paths.

    Example::

        from kernkit.api import KernelCosts, hookimpl

        @hookimpl
        def kernkit_kernel_costs(config):
            return KernelCosts(syscall_entry=100, syscall_exit=100)  # 200 cycles a system call

    :param config: the validated configuration (a plugin's own table is ``config["name"]``).
    :return: a :class:`~kernkit.core.costs.KernelCosts`, or None.
    """


@hookspec
def kernkit_boot_steps() -> list[BootStep]:
    """Offer steps to run while the kernel boots, ordered by phase and ``after``.

    Example::

        from kernkit.api import BootStep, hookimpl

        def announce(kernel):
            kernel.message(f"booting with {len(kernel.machine.cores)} cores")

        @hookimpl
        def kernkit_boot_steps():
            return [BootStep("announce", "services", announce)]

    :return: a list of :class:`~kernkit.core.records.BootStep` records.
    """


# --- Lifecycle: called while the kernel runs ---------------------------------------------


@hookspec
def kernkit_process_created(kernel: Kernel, process: Process) -> None:
    """A process was created (before its program is loaded).

    Example::

        from kernkit.api import hookimpl

        CREATED = []

        @hookimpl
        def kernkit_process_created(kernel, process):
            CREATED.append((process.pid, process.parent.pid if process.parent else 0))

    :param kernel: the running kernel.
    :param process: the new process; its ``parent`` is set, its threads are not yet runnable.
    """


@hookspec
def kernkit_process_exited(kernel: Kernel, process: Process) -> None:
    """A process finished; its exit status and, if it was killed, the reason are set.

    Example::

        from kernkit.api import hookimpl

        @hookimpl
        def kernkit_process_exited(kernel, process):
            if process.kill_reason:
                kernel.message(f"pid {process.pid} was killed: {process.kill_reason}")

    :param kernel: the running kernel.
    :param process: the process, in state DYING, with ``exit_status`` and ``kill_reason``.
    """


@hookspec
def kernkit_finalize_context(kernel: Kernel, thread: Thread, core: int | None) -> None:
    """``thread``'s context is about to be saved away from ``core`` as a user context (a
    notification, a preemption): a plugin whose contexts are of another kind (a VM's guest
    context) makes the thread's context an ordinary user context again and releases what the
    core held for it (Akaros's finalize_ctx). Called by personalities before they read
    ``thread.context.user_registers()`` to keep them.

    Example::

        from kernkit.api import hookimpl

        SAVED = []

        @hookimpl(trylast=True)  # after the plugin that owns such contexts made it a user context
        def kernkit_finalize_context(kernel, thread, core):
            SAVED.append((thread.tid, core, type(thread.context).__name__))

    :param kernel: the running kernel.
    :param thread: the thread whose context is saved; its ``context`` may be replaced, and a
        thread blocked in that other context may be woken.
    :param core: the core the saving happens on (its ``owning_proc`` and ``cur_proc`` say for
        whom), or None when the thread is on no core.
    """


@hookspec
def kernkit_poll(kernel: Kernel) -> None:
    """Notice what happened on the host while guests ran: called by the run loop between
    scheduling rounds (at least once per ``[machine] quantum`` instructions of each core),
    with every core stopped.

    For input that cannot wait for a guest to ask for it: a key on the console, a debugger's
    interrupt. The hook may block (every core waits), open the kernel monitor
    (:func:`kernkit.core.monitor.enter_monitor`), or end the run (``kernel.finished = True``).
    It runs often: return quickly when there is nothing to do.

    Example::

        from kernkit.api import hookimpl

        ROUNDS = [0]

        @hookimpl
        def kernkit_poll(kernel):
            ROUNDS[0] += 1  # a real plugin would look at a host descriptor here, without blocking

    :param kernel: the running kernel.
    """


@hookspec
def kernkit_shutdown(kernel: Kernel) -> None:
    """The kernel stopped (init exited, a panic, or the instruction budget ran out).

    Example::

        from kernkit.api import hookimpl

        @hookimpl
        def kernkit_shutdown(kernel):
            kernel.message(f"{kernel.instructions} guest instructions, status {kernel.exit_status}")

    :param kernel: the kernel; ``kernel.exit_status`` is what the run will return.
    """
