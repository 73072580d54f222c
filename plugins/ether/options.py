"""The ``[ether]`` config table: the virtual NICs, their segment and the pcap capture."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.options import at_most, option, positive

_MAC = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")


def parse_mac(text: Any) -> bytes:
    """``52:54:00:12:34:56`` (or with dashes) -> 6 bytes; ValueError saying what is wrong."""
    if not isinstance(text, str) or not _MAC.match(text):
        raise ValueError(f"expected a MAC address such as 52:54:00:12:34:56, got {text!r}")
    mac = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if mac[0] & 1:
        raise ValueError(f"{text}: a NIC's address must be unicast (the low bit of the first byte clear)")
    if mac == bytes(6):
        raise ValueError(f"{text}: a NIC's address must not be all zeros")
    return mac


def _check_nics(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of MAC addresses, got {value!r}")
    seen: dict[bytes, int] = {}
    for index, text in enumerate(value):
        try:
            mac = parse_mac(text)
        except ValueError as exc:
            raise ValueError(f"item {index}: {exc}") from None
        if mac in seen:
            raise ValueError(f"item {index}: {text} is already the address of item {seen[mac]}")
        seen[mac] = index
    if len(value) > 16:
        raise ValueError(f"at most 16 NICs, got {len(value)}")


def _check_pcap(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value:
        return
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{value!r} is a directory; expected a file to write the capture to")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{value!r}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{value!r}: not writable")


def _check_bind(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value and (not value.startswith("/") or "//" in value or "/./" in value or "/../" in value):
        raise ValueError(f'expected an absolute path such as /net (or "" for none), got {value!r}')


@attrs.frozen
class EtherOptions:
    nics: list[str] = option(
        [],
        "the virtual NICs, one MAC address each (52:54:00:12:34:56): etherN is item N; all are "
        "on one segment (a hub); empty: no #ether interfaces",
        validator=_check_nics,
    )
    pcap: str = option(
        "",
        "a file every frame crossing the segment is written to (classic pcap, ethernet, "
        "virtual-time stamps; relative to the working directory); empty: no capture",
        validator=_check_pcap,
    )
    capture_ip: bool = option(
        False,
        "also write the #ip stack's TCP and UDP traffic to the pcap file, as the IPv4 frames a "
        "wire would carry (handshake, segments, FIN); needs pcap; off costs nothing",
    )
    bind: str = option(
        "/net",
        "where the boot namespace gets #ether after its binds (bind -a #ether PATH): "
        "/net/ether0, ...; empty: nowhere (bind it yourself)",
        validator=_check_bind,
    )
    queue: int = option(
        64,
        "frames a connection holds for its reader; more are dropped (counted in stats)",
        validator=[positive, at_most(65536)],
    )

    def __attrs_post_init__(self) -> None:
        if self.capture_ip and not self.pcap:
            raise ValueError("capture_ip = true needs pcap, the file to capture into")
        if self.pcap and not self.nics and not self.capture_ip:
            raise ValueError(f"pcap = {self.pcap!r}, but nothing to capture: no nics and capture_ip is off")

    def macs(self) -> list[bytes]:
        return [parse_mac(text) for text in self.nics]
