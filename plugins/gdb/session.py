"""Attaching gdb to a booted kernel: listen, wait for gdb, hold init before its first instruction."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from kernkit.core.devices import decimal
from kernkit.core.errors import ConfigError
from kernkit.core.listening import remote_warning

if TYPE_CHECKING:
    import attrs

    from kernkit.core.kernel import Kernel
    from kernkit.plugins.gdb.stub import GdbStub


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, or ``PORT``: on 127.0.0.1); port 0 picks a free one."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not decimal(port) or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, e.g. 127.0.0.1:1234, got {text!r}")
    return host, int(port)


def check_address(instance: object, attribute: attrs.Attribute, value: str) -> None:
    """The ``[gdb] listen`` validator: empty, or an address :func:`parse_address` takes."""
    if value:
        parse_address(value)


def listen(text: str, label: str) -> socket.socket:
    """A listening socket on ``text`` (HOST:PORT); ConfigError starting with ``label`` if not."""
    host, port = parse_address(text)
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise ConfigError(f"{label} {text}: cannot listen there: {exc.strerror or exc}") from None


def attach(kernel: Kernel, server: socket.socket) -> GdbStub:
    """Wait for gdb on ``server``, then serve it with init held before its first instruction;
    returns when gdb resumes the program (or detaches, or kills it)."""
    from kernkit.plugins.gdb.connection import Connection
    from kernkit.plugins.gdb.stub import GdbStub

    target = kernel.arch.debug
    if target is None:
        raise ConfigError(f"gdb: architecture {kernel.arch.name!r} describes no registers for debuggers")
    if kernel.init is None or not kernel.init.threads:
        raise ConfigError("gdb: there is no init process to debug")
    host, port = server.getsockname()[:2]
    warning = remote_warning(host, port, "gdb", "the gdb stub")
    if warning:
        kernel.message(warning)
    kernel.message(f"gdb: waiting on {host}:{port} (in gdb: target remote {host}:{port})")
    with server:
        sock, _ = server.accept()
    stub = GdbStub(kernel, Connection(sock), target)
    kernel.plugins.register(stub, "gdb-stub", source="[gdb] listen")
    kernel.debugger = stub
    stub.start(kernel.init.threads[0])
    return stub
