"""What a ``[export9p]`` or ``[[mount9p]]`` section names, readable without the protocol code:
host addresses and the 9P dialects."""

from __future__ import annotations

from kernkit.core.devices import decimal

VERSION_9P = "9P2000"
VERSION_9PL = "9P2000.L"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) -> (host, port); ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:5640, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not decimal(port) or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535, got {port!r}")
    return host, int(port)
