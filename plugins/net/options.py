"""The ``[net]`` config table, with its ``[[net.forward]]`` entries."""

from __future__ import annotations

import ipaddress
from typing import Any

import attrs

from kernkit.core.devices import decimal
from kernkit.core.listening import check_loopback
from kernkit.core.options import at_most, at_most_size, option, parse_size, positive


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ValueError saying what is wrong."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:8080, got {text!r}")
    if not decimal(port) or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535, got {port!r}")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IPv4 address such as 127.0.0.1") from None
    return host, int(port)


@attrs.frozen
class Forward:
    """One ``[[net.forward]]``: host clients of ``host`` reach guest port ``guest``."""

    host: tuple[str, int]
    guest: int


def parse_forward(index: int, entry: Any) -> Forward:
    if not isinstance(entry, dict):
        raise ValueError(f'item {index}: expected a table host = "127.0.0.1:8080", guest = 80')
    unknown = set(entry) - {"host", "guest"}
    if unknown:
        raise ValueError(f"item {index}: unknown key {sorted(unknown)[0]!r} (expected host and guest)")
    if "host" not in entry or "guest" not in entry:
        raise ValueError(f'item {index}: expected both host = "HOST:PORT" and guest = PORT')
    try:
        host = parse_hostport(entry["host"])
    except ValueError as exc:
        raise ValueError(f"item {index}: host: {exc}") from None
    guest = entry["guest"]
    if isinstance(guest, bool) or not isinstance(guest, int) or not 1 <= guest <= 65535:
        raise ValueError(f"item {index}: guest: expected a port from 1 to 65535, got {guest!r}")
    return Forward(host, guest)


def _check_forward(instance: Any, attribute: attrs.Attribute, value: list[dict[str, Any]]) -> None:
    seen: dict[tuple[str, int], int] = {}
    for index, entry in enumerate(value):
        forward = parse_forward(index, entry)
        if forward.host in seen and forward.host[1]:
            raise ValueError(
                f"item {index}: host {entry['host']} is already forwarded by item {seen[forward.host]}"
            )
        seen[forward.host] = index


def _check_address(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"expected an IPv4 address such as 10.0.2.15, got {value!r}") from None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        raise ValueError(f"{value}: the kernel's own address must not be loopback, 0.0.0.0 or multicast")


def _check_networks(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    for index, text in enumerate(value):
        try:
            ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise ValueError(f"item {index}: expected a network such as 127.0.0.0/8, got {text!r}") from None


@attrs.frozen
class NetOptions:
    address: str = option(
        "10.0.2.15", "the kernel's own IPv4 address (besides 127.0.0.0/8)", validator=_check_address
    )
    prefix: int = option(
        24, "the prefix length of the kernel's network (/net/ipifc)", validator=[positive, at_most(32)]
    )
    buffer: int = option(
        1 << 20,
        "bytes a TCP conversation buffers for its reader (a writer waits past it); UDP drops past it",
        converter=parse_size,
        validator=[positive, at_most_size(64 << 20)],
    )
    max_backlog: int = option(
        128,
        "the most calls a listener queues (listen's backlog is capped here)",
        validator=[positive, at_most(65535)],
    )
    max_conversations: int = option(
        4096,
        "conversations (sockets) the whole kernel may have at once; more is ENFILE",
        validator=[positive, at_most(1 << 20)],
    )
    host_access: bool = option(
        False,
        "let guests connect out to the host: host_gateway is the host's 127.0.0.1 (off: guests "
        "reach only this kernel)",
    )
    host_gateway: str = option(
        "10.0.2.2",
        "the address guests dial to reach the host's loopback (127.0.0.1) when host_access is on",
        validator=_check_address,
    )
    host_networks: list[str] = option(
        [],
        "more host networks guests may connect to directly when host_access is on "
        "(empty: the host's loopback only, through host_gateway)",
        validator=_check_networks,
    )
    forward: list[dict[str, Any]] = option(
        [],
        '[[net.forward]] host = "127.0.0.1:8080", guest = 80: host clients connecting to host reach '
        "the guest listening on port guest (loopback host addresses unless allow_remote)",
        validator=_check_forward,
    )
    allow_remote: bool = option(
        False, "allow forward host addresses other than loopback (other hosts then reach the guest)"
    )

    def __attrs_post_init__(self) -> None:
        for index, forward in enumerate(self.forwards()):
            try:
                check_loopback(forward.host[0], self.allow_remote, "net", "a forward")
            except ValueError as exc:
                raise ValueError(f"forward: item {index}: host: {exc}") from None

    def forwards(self) -> list[Forward]:
        return [parse_forward(i, entry) for i, entry in enumerate(self.forward)]
