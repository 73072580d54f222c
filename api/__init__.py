"""kernkit's public API: everything a plugin may use, in one import surface.

A plugin (built-in or third-party) needs nothing else from kernkit::

    from kernkit.api import Device, DeviceDriver, hookimpl

The names come from the core's modules, which stay where they are (``kernkit.core.records``
and so on) for kernkit's own code; this module is the contract: a name here changes only with
the hook contract's version (``CONTRACT_VERSION``). docs/hooks.md is the reference of the hooks,
docs/architecture.md of the objects (kernel, processes, address spaces, devices, machines).
"""

from kernkit.core.config import to_toml
from kernkit.core.costs import COST_KINDS, KernelCosts
from kernkit.core.devices import (
    CLOSED,
    DMAPPEND,
    DMDEVICE,
    DMDIR,
    DMEXCL,
    DMNAMEDPIPE,
    DMSOCKET,
    DMSPECIAL,
    DMSYMLINK,
    OEXEC,
    ONONBLOCK,
    ORCLOSE,
    ORDWR,
    OREAD,
    OTRUNC,
    OWNER,
    OWRITE,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    QTAPPEND,
    QTDIR,
    QTEXCL,
    QTFILE,
    QTSYMLINK,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    FsStat,
    Qid,
    WouldBlock,
    Wstat,
    check_caller_parameters,
    decimal,
    owner_id,
    owner_of,
    superuser,
)
from kernkit.core.errnos import *  # noqa: F403 - every errno name, as E2BIG ... EXDEV
from kernkit.core.errnos import ERRNO, errno_of
from kernkit.core.errors import (
    BadAddress,
    ConfigError,
    KernelPanic,
    KernkitError,
    OutOfMemory,
    PluginError,
    ProgramError,
)
from kernkit.core.extensions import extension_path
from kernkit.core.files import FileTable, OpenFile, hold, release
from kernkit.core.hookspecs import CONTRACT_VERSION, hookimpl
from kernkit.core.hostio import HostIO
from kernkit.core.kernel import Kernel
from kernkit.core.kmem import KernelMemory
from kernkit.core.listening import check_loopback, is_loopback, remote_warning
from kernkit.core.machine import CpuContext, Fault, Handoff, HandoffKind, Machine, RegisterImage, Stop
from kernkit.core.monitor import enter_monitor, run_command
from kernkit.core.options import (
    at_least_size,
    at_most,
    at_most_size,
    format_size,
    non_negative,
    option,
    page_multiple,
    parse_size,
    positive,
)
from kernkit.core.pagecache import MappedFile, PageCache, PageSource
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE, PhysicalMemory, page_up
from kernkit.core.process import BLOCKED, EXITED, RUNNABLE, RUNNING, Process, ProcState, Thread
from kernkit.core.programs import packaged_programs_dir
from kernkit.core.records import (
    BOOT_PHASES,
    Architecture,
    BinaryFormat,
    BootStep,
    ConfigSection,
    DebugFeature,
    DebugRegister,
    DebugTarget,
    Device,
    Interpreted,
    LoadedImage,
    MonitorCommand,
    PluginDeclaration,
    ProcFile,
    Scheduler,
    Syscall,
    SyscallExtension,
    SyscallTable,
    TraceStyle,
)
from kernkit.core.scheduler import BaseScheduler, SchedulerPolicy, VcoreProvider
from kernkit.core.state import Slot
from kernkit.core.syscalls import SyscallDispatcher, TracingDispatcher
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE, AddressSpace, PageTable
from kernkit.core.wait import Finish, WaitQueue, pollers, unwatch_readiness, wake_pollers, watch_readiness

__all__ = [name for name in dir() if not name.startswith("_")]
