"""Typed registration records: what plugins hand to the core through the hooks.

Each record has a ``name`` that is unique within its kind; the plugin manager rejects a second
record of the same kind and name and names both plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.machine import Machine
    from kernkit.core.process import Process, Thread


def _name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not value or not value.replace("_", "").replace(".", "").isalnum():
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty identifier, got {value!r}"
        )


@attrs.frozen
class DebugRegister:
    """One register as a debugger sees it: its name (what
    :meth:`~kernkit.core.machine.CpuContext.get_register` takes), its size in bits, and the GDB
    target-description type (``int64``, ``code_ptr``, ``data_ptr``, ``i387_ext``, a type defined
    in its feature's ``types_xml``, ...) and register group (``general``, ``float``, ``vector``,
    ``system``; empty for the debugger's default)."""

    name: str
    bits: int
    type: str = "int"
    group: str = ""


@attrs.frozen
class DebugFeature:
    """A named group of registers of a GDB target description (``org.gnu.gdb.i386.core``, ...).
    ``types_xml`` holds the ``<flags>``, ``<vector>`` or ``<union>`` elements its registers'
    types need."""

    name: str
    registers: Sequence[DebugRegister]
    types_xml: str = ""


@attrs.frozen
class DebugTarget:
    """How a debugger sees an architecture's threads: registers in the order the GDB remote
    protocol numbers them (``g``/``p`` packets), grouped in target-description features.

    ``gdb_architecture`` names the architecture for GDB (``i386:x86-64``); registers are sent
    in ``byte_order``.
    """

    gdb_architecture: str
    features: Sequence[DebugFeature]
    byte_order: str = attrs.field(default="little", validator=attrs.validators.in_(("little", "big")))
    #: Registers sent along with every stop (pc, stack and frame pointers): one round trip less.
    expedite: Sequence[str] = ()

    @property
    def registers(self) -> list[DebugRegister]:
        return [register for feature in self.features for register in feature.registers]


@attrs.frozen
class Architecture:
    """An emulated machine type.

    ``create_machine(kernel)`` builds the machine (cores, physical memory) from
    ``kernel.config``; ``machine_ids`` says how binary formats name this machine
    (``{"elf": 62}``: the ELF e_machine value of its programs). ``debug`` describes its
    registers to debuggers (``kernkit boot --gdb``); without it the machine cannot be debugged.
    ``guest_cpu``, if given, creates a guest pcore for a VMM (see docs/vmm.md):
    ``guest_cpu(machine, aspace, translate, cpuid)`` where ``aspace`` is the VMM's address space
    (the guest's TLB is flushed when its pages change), ``translate(gpa)`` gives the host frame
    of a guest-physical page or None and ``cpuid(leaf, subleaf)`` answers CPUID (eax, ebx, ecx,
    edx); without it the architecture runs no virtual machines.
    """

    name: str = attrs.field(validator=_name)
    machine_ids: Mapping[str, int]
    create_machine: Callable[[Kernel], Machine]
    description: str = ""
    debug: DebugTarget | None = None
    guest_cpu: Callable[..., Any] | None = None


@attrs.frozen
class Syscall:
    """One system call of a personality: its number, name, handler and argument count.

    The handler is called as ``handler(thread, *args)`` with ``nargs`` integer arguments and
    returns the integer result (a negative errno for failure), or ``None`` when it has already
    arranged the thread's next state (blocked, exited, replaced by exec).
    """

    number: int
    name: str
    handler: Callable[..., int | None]
    nargs: int = attrs.field(default=0, validator=attrs.validators.in_(range(7)))


@attrs.frozen
class SyscallTable:
    """A personality: a syscall ABI plus how it starts a program.

    ``setup_process(kernel, process, image, argv, envp)`` prepares a freshly loaded program
    (initial stack, standard files) and returns the initial stack pointer.
    """

    name: str = attrs.field(validator=_name)
    syscalls: Sequence[Syscall]
    setup_process: Callable[..., int]
    description: str = ""
    #: errno numbers the core uses for a bad pointer and for a syscall the table lacks.
    errno_fault: int = attrs.field(kw_only=True)
    errno_nosys: int = attrs.field(kw_only=True)
    #: Multi-core processes: a :class:`kernkit.core.scheduler.VcoreProvider`, or None if the
    #: personality's processes hold no cores of their own.
    vcores: Any = attrs.field(default=None, kw_only=True)
    #: ``return_to_user(thread)``: the work a thread flagged with
    #: :meth:`kernkit.core.kernel.Kernel.want_user_work` does before it next runs user code
    #: (Linux: deliver pending signals). The kernel calls it after the system call that set the
    #: flag (inside it: the thread's registers read as after the call), or before the thread's
    #: next run (after a slice, when woken). It may change the thread's registers, block the
    #: thread or end its process.
    return_to_user: Callable[[Thread], None] | None = attrs.field(default=None, kw_only=True)
    #: ``fault(thread, fault) -> bool``: a guest fault (:class:`kernkit.core.machine.Fault`) of a
    #: thread of this personality. True: the personality dealt with it (a handler will run, set
    #: up by ``return_to_user``); False, or no function: the process is killed with a report.
    fault: Callable[[Thread, Any], bool] | None = attrs.field(default=None, kw_only=True)
    #: ``post_signal(process, signal, sender)``: a POSIX signal sent to a process of this
    #: personality from outside it (another personality's ``kill``; ``sender`` is a pid or 0 for
    #: the kernel). None: the personality has no signals; senders treat the process as gone.
    post_signal: Callable[[Process, int, int], None] | None = attrs.field(default=None, kw_only=True)

    def by_number(self) -> dict[int, Syscall]:
        table: dict[int, Syscall] = {}
        for call in self.syscalls:
            if call.number in table:
                raise ValueError(
                    f"syscall table {self.name!r}: number {call.number} used by both "
                    f"{table[call.number].name!r} and {call.name!r}"
                )
            table[call.number] = call
        return table


@attrs.frozen
class SyscallExtension:
    """System calls a plugin adds to another plugin's personality (a VMM's calls to
    ``akaros``, say). ``table`` names the personality; an extension of a personality that is
    not registered is ignored. A number the table already has is an error naming both calls.
    """

    name: str = attrs.field(validator=_name)
    table: str
    syscalls: Sequence[Syscall]
    description: str = ""


def _device_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    _name(instance, attribute, value)
    if "." in value:  # '.' separates the name from the spec in "#name.spec"
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty identifier, "
            f"got {value!r} ('.' separates a device's name from its spec)"
        )


@attrs.frozen
class Device:
    """A device in the Plan 9 style, attached in a namespace as ``#name`` or ``#name.spec``.

    ``create(kernel)`` is called once per kernel, when the device is first used, and returns its
    driver: an object with the operations of :class:`kernkit.core.devices.DeviceDriver`
    (attach, walk, stat, open, create, read, write, dirread, remove, wstat, rename, close),
    usually a subclass of it. docs/namespace.md describes the contract.
    """

    name: str = attrs.field(validator=_device_name)
    create: Callable[[Kernel], Any]
    description: str = ""


@attrs.frozen
class ProcFile:
    """A file in every process's directory of the ``#proc`` device (``/proc/PID/NAME``).

    ``read(kernel, process)`` returns the file's contents (str or bytes), generated when read;
    ``write(kernel, process, data)``, if given, acts on what is written (a control file) and
    raises :class:`kernkit.core.devices.DeviceError` to refuse it. Without ``write`` the file is
    read-only.

    ``read_at(kernel, process, count, offset)``, if given, replaces ``read`` for reads: a
    stream that returns up to ``count`` bytes from ``offset``, b"" at its end, and may raise
    :class:`kernkit.core.devices.WouldBlock` to make the reader wait for more.

    ``status_lines(kernel, process)``, if given, returns lines (``key value``, each ending in a
    newline; "" for none) appended to the process's ``status`` file, for facts that tools
    reading status expect (an Akaros process's vcores).
    """

    name: str = attrs.field(validator=_device_name)
    read: Callable[[Kernel, Process], str | bytes]
    write: Callable[[Kernel, Process, bytes], None] | None = None
    description: str = ""
    read_at: Callable[[Kernel, Process, int, int], bytes] | None = None
    status_lines: Callable[[Kernel, Process], str] | None = None


@attrs.frozen
class Scheduler:
    """A scheduling policy chosen by ``[sched] policy``; ``create(kernel)`` returns the policy object.

    The object implements :class:`kernkit.core.scheduler.SchedulerPolicy`.
    """

    name: str = attrs.field(validator=_name)
    create: Callable[[Kernel], Any]
    description: str = ""


@attrs.frozen
class BinaryFormat:
    """A program format: ``probe(header)`` says whether it recognises the first bytes of a file,
    ``load(kernel, process, data, path)`` maps it into the process and returns a LoadedImage,
    or, for a file another program runs (a ``#!`` script), an :class:`Interpreted` naming it.

    ``data`` is the file's contents; ``path`` the program file: a host ``pathlib.Path``, or a
    file of the process's namespace (``str(path)`` names it either way). Formats a plugin
    registers are tried before the built-in ones, so a plugin may take over files they load.
    """

    name: str = attrs.field(validator=_name)
    probe: Callable[[bytes], bool]
    load: Callable[..., Any]
    description: str = ""


@attrs.frozen
class ConfigSection:
    """The schema of one config table: ``options`` is an attrs class whose fields are the options.

    ``name`` is the table's dotted path (``machine``, ``sched.rr``). Each field carries its help
    text in ``metadata["help"]`` (use :func:`kernkit.core.options.option`).

    With ``multiple=True`` the table may appear any number of times, as a TOML array of tables
    (``[[mount9p]]``); ``config[name]`` is then a list of options objects, empty when absent.
    """

    name: str = attrs.field(validator=_name)
    options: type
    description: str = ""
    multiple: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class BootStep:
    """A step of kernel boot. Steps run by ``phase`` (see :data:`BOOT_PHASES`), then in the
    order their ``after`` lists require, then by name; ``run(kernel)`` does the work.
    ``outside``: the step reaches outside the kernel (listens, connects, writes host files, takes
    the terminal), so ``kernkit check``, which boots a kernel without running it, skips it."""

    name: str = attrs.field(validator=_name)
    phase: str = attrs.field(validator=attrs.validators.in_(("machine", "devices", "services", "init")))
    run: Callable[[Kernel], None]
    after: tuple[str, ...] = ()
    outside: bool = False


BOOT_PHASES = ("machine", "devices", "services", "init")


@attrs.frozen
class MonitorCommand:
    """A command of the kernel monitor (``kernkit boot --monitor``, a panic, ``Ctrl-A c`` on the
    console, gdb's ``monitor``). ``run(kernel, *words)`` gets the words typed after the name and
    returns the text to show; it raises ValueError or TypeError (wrong number of words) for bad
    input, shown as ``NAME: message``. ``usage`` shows its arguments (``bt [PID]``)."""

    name: str = attrs.field(validator=_name)
    run: Callable[..., str]
    help: str
    usage: str = ""


def _plugin_names(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    if not isinstance(value, tuple) or not all(isinstance(n, str) and n for n in value):
        raise ValueError(f"PluginDeclaration.{attribute.name} must be a tuple of plugin names, got {value!r}")


@attrs.frozen
class PluginDeclaration:
    """What a plugin says about itself (``kernkit_declare_plugin``): ``requires`` names the
    plugins it cannot work without (a built-in's short name such as ``"ns"``, or another
    plugin's registered name). The kernel is assembled only when every requirement is loaded;
    a plugin imports other plugins only through the public module of one it requires."""

    requires: tuple[str, ...] = attrs.field(default=(), validator=_plugin_names)
    description: str = ""


MARKERS = ("", "bar", "up", "down", "diamond", "circle", "cross")


@attrs.frozen
class TraceStyle:
    """How trace viewers (``kernkit trace html|perfetto``) show one kind of event a plugin emits
    with ``Kernel.trace_event(kind, ...)``; ``name`` is the kind.

    ``legend`` says what the event means; ``marker`` is the shape drawn on the core's row
    (``bar``, ``up``, ``down``, ``diamond``, ``circle``, ``cross``; empty: not drawn) in
    ``colour``. ``label`` names one event: a format string over the event's fields and ``who``
    (process name and pid), such as ``"grant to {who}"``, or a callable ``(event, who) -> str``.
    ``place`` is the field holding the core the event concerns (``"pcore"``); empty: the core
    that emitted it. ``tag``, a format string over the event's fields (``"vc{vcore}"``), marks
    the runs of the event's thread (``pid``, ``tid``) from then on.
    """

    name: str = attrs.field(validator=_name)
    legend: str
    marker: str = attrs.field(default="", validator=attrs.validators.in_(MARKERS))
    colour: str = "#555555"
    label: str | Callable[[Mapping[str, Any], str], str] = ""
    place: str = ""
    tag: str = ""


@attrs.frozen
class LoadedImage:
    """Where a binary format put a program: entry point, program headers and initial break."""

    entry: int
    phdr: int
    phent: int
    phnum: int
    brk: int
    base: int = 0
    path: str = ""
    #: The personality the program asks for (an ELF note), or None for the kernel's default.
    personality: str | None = None
    #: ``symbolize(address)`` -> "function+0x12" or None (for reports and backtraces).
    symbolize: Callable[[int], str | None] = lambda address: None
    #: The program's interpreter (a dynamic ELF program's dynamic linker): its path, the
    #: address it was loaded at and its entry point, where the program starts running.
    interpreter: str = ""
    interpreter_base: int = 0
    interpreter_entry: int = 0
    #: The file name the program was started by (execve's path) and the program file loaded
    #: (the interpreter, for a script): set by the kernel.
    execfn: str = ""
    file: Any = None

    @property
    def start(self) -> int:
        """Where the first instruction is: the interpreter's entry, or the program's own."""
        return self.interpreter_entry if self.interpreter else self.entry


@attrs.frozen
class Interpreted:
    """What a binary format returns for a file another program runs (a ``#!`` script): load
    ``program`` (a file of the process's namespace) instead, its arguments being ``argv`` (the
    interpreter's name and options), then the file's own name, then the original arguments
    after the first, as Linux does. An interpreter may itself be interpreted, five deep."""

    program: Any
    argv: tuple[str, ...]


__all__ = [
    "Architecture",
    "BOOT_PHASES",
    "BinaryFormat",
    "BootStep",
    "ConfigSection",
    "DebugFeature",
    "DebugRegister",
    "DebugTarget",
    "Device",
    "Interpreted",
    "LoadedImage",
    "MonitorCommand",
    "PluginDeclaration",
    "ProcFile",
    "Scheduler",
    "Syscall",
    "SyscallTable",
    "TraceStyle",
]
