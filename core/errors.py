"""Error types. Every error a user can cause renders as one line naming what was wrong."""

from __future__ import annotations


class KernkitError(Exception):
    """Base of all errors that kernkit reports to users as a one-line message."""

    exit_code = 2


class ConfigError(KernkitError):
    """A configuration file or value is wrong; the message names the file and dotted key."""


class PluginError(KernkitError):
    """A plugin failed to load, registered something twice, or broke the contract."""


class ProgramError(KernkitError):
    """A guest program cannot be loaded (missing file, not an ELF, wrong machine, ...).

    ``errno`` names the error an ``execve`` of it returns (Linux's: ENOEXEC for a file no
    format can load, ENOENT for a missing interpreter, ...)."""

    def __init__(self, message: str, errno: str = "ENOEXEC") -> None:
        super().__init__(message)
        self.errno = errno


class BadAddress(Exception):  # noqa: N818 - mirrors the errno name EFAULT stands for
    """A guest pointer does not refer to memory the process may access (becomes EFAULT)."""

    def __init__(self, address: int, access: str = "read") -> None:
        super().__init__(f"bad guest address {address:#x} ({access})")
        self.address = address
        self.access = access


class OutOfMemory(Exception):  # noqa: N818
    """Physical memory of the emulated machine is exhausted."""


class KernelPanic(Exception):  # noqa: N818 - the kernel's word for it
    """The emulated kernel hit an impossible state; carries a report for the user."""

    def __init__(self, message: str, report: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.report = report
