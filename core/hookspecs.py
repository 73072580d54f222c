"""The kernkit plugin contract: every hook a plugin may implement.

Hooks are grouped by phase. Registration hooks return a list of typed records
(:mod:`kernkit.core.records`); the plugin manager collects them and rejects duplicate names.
Notification hooks are called for every plugin that implements them and return nothing.

Implement a hook with :data:`hookimpl`::

    from kernkit.core.hookspecs import hookimpl

    @hookimpl
    def kernkit_register_schedulers():
        return [Scheduler(name="lottery", create=LotteryPolicy)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
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
    )

PROJECT = "kernkit"
#: Version of this contract. Bumped in the major when a hook changes incompatibly.
CONTRACT_VERSION = "1.2"

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

    :return: a :class:`~kernkit.core.records.PluginDeclaration`.
    """


# --- Registration: called once when the kernel is assembled -------------------------------


@hookspec
def kernkit_config_sections() -> list[ConfigSection]:
    """Declare the config tables this plugin owns and their options.

    Called before the configuration is validated. Every key of a declared table is checked
    against the options class: unknown keys, wrong types and invalid values are errors.

    :return: a list of :class:`~kernkit.core.records.ConfigSection` records.
    """


@hookspec
def kernkit_register_architectures() -> list[Architecture]:
    """Offer machine architectures, chosen by ``[machine] arch``.

    :return: a list of :class:`~kernkit.core.records.Architecture` records.
    """


@hookspec
def kernkit_register_syscall_tables() -> list[SyscallTable]:
    """Offer personalities (syscall ABIs), enabled by ``[kernel] personalities``.

    :return: a list of :class:`~kernkit.core.records.SyscallTable` records.
    """


@hookspec
def kernkit_register_syscall_extensions() -> list[SyscallExtension]:
    """Add system calls to a personality another plugin registers (the VMM's calls to
    ``akaros``). Merged into the personality's table when the kernel is assembled; a number
    used twice is an error naming both calls.

    :return: a list of :class:`~kernkit.core.records.SyscallExtension` records.
    """


@hookspec
def kernkit_register_schedulers() -> list[Scheduler]:
    """Offer scheduling policies, chosen by ``[sched] policy``.

    :return: a list of :class:`~kernkit.core.records.Scheduler` records.
    """


@hookspec
def kernkit_register_devices() -> list[Device]:
    """Offer devices in the Plan 9 style, attached in a namespace as ``#name`` (or
    ``#name.spec``) and bound into processes' namespaces (``[namespace] binds``, or a process's
    own bind). Each record's ``create(kernel)`` returns the driver, which implements the
    operations of :class:`kernkit.core.devices.DeviceDriver` (see docs/namespace.md).

    :return: a list of :class:`~kernkit.core.records.Device` records.
    """


@hookspec
def kernkit_register_proc_files() -> list[ProcFile]:
    """Offer files that every process's directory in the ``#proc`` device shows
    (``/proc/PID/NAME``), such as a personality's per-process state. The ``#proc`` device's own
    files (status, ctl, ns, fd, args) are registered the same way, so names cannot clash.

    :return: a list of :class:`~kernkit.core.records.ProcFile` records.
    """


@hookspec
def kernkit_register_binary_formats() -> list[BinaryFormat]:
    """Offer program formats the kernel can load (for init and for exec).

    :return: a list of :class:`~kernkit.core.records.BinaryFormat` records.
    """


@hookspec
def kernkit_register_monitor_commands() -> list[MonitorCommand]:
    """Offer commands for the kernel monitor (and gdb's ``monitor``), next to the core's own
    ``ps``, ``bt``, ``regs``, ``mem``, ``cores`` and ``trace``.

    :return: a list of :class:`~kernkit.core.records.MonitorCommand` records.
    """


@hookspec
def kernkit_boot_steps() -> list[BootStep]:
    """Offer steps to run while the kernel boots, ordered by phase and ``after``.

    :return: a list of :class:`~kernkit.core.records.BootStep` records.
    """


# --- Lifecycle: called while the kernel runs ---------------------------------------------


@hookspec
def kernkit_process_created(kernel: Kernel, process: Process) -> None:
    """A process was created (before its program is loaded).

    :param kernel: the running kernel.
    :param process: the new process; its ``parent`` is set, its threads are not yet runnable.
    """


@hookspec
def kernkit_process_exited(kernel: Kernel, process: Process) -> None:
    """A process finished; its exit status and, if it was killed, the reason are set.

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

    :param kernel: the running kernel.
    """


@hookspec
def kernkit_shutdown(kernel: Kernel) -> None:
    """The kernel stopped (init exited, a panic, or the instruction budget ran out).

    :param kernel: the kernel; ``kernel.exit_status`` is what the run will return.
    """
