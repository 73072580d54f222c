"""UDP-Lite (RFC 3828, IPPROTO_UDPLITE): UDP whose checksum may cover only the start of a datagram.

On this kernel's loopback nothing is corrupted, so a UDP-Lite socket is a UDP conversation marked
``lite``: it exchanges datagrams with UDP-Lite sockets only, and the coverage options act as
Linux's do on delivery (a receiver that set UDPLITE_RECV_CSCOV drops partially covered datagrams
covering less than it asks). UDP and UDP-Lite share one port space here (Linux keeps two).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import ENOPROTOOPT

if TYPE_CHECKING:
    from kernkit.plugins.net.stack import Conv

IPPROTO_UDP, IPPROTO_UDPLITE = 17, 136
UDPLITE_SEND_CSCOV, UDPLITE_RECV_CSCOV = 10, 11
LEVELS = (IPPROTO_UDP, IPPROTO_UDPLITE)  # Linux takes the options at either level


def _clamp(number: int) -> int:
    """A coverage as Linux keeps it: 0 (the whole datagram), else 8 (the header) to 65535."""
    if number == 0:
        return 0
    return min(max(number, 8), 0xFFFF)


def setsockopt(conv: Conv, name: int, number: int) -> int:
    if not conv.lite or name not in (UDPLITE_SEND_CSCOV, UDPLITE_RECV_CSCOV):
        return -ENOPROTOOPT
    if name == UDPLITE_SEND_CSCOV:
        conv.send_coverage = _clamp(number)
    else:
        conv.recv_coverage = _clamp(number)
    return 0


def getsockopt(conv: Conv, name: int) -> int:
    if not conv.lite or name not in (UDPLITE_SEND_CSCOV, UDPLITE_RECV_CSCOV):
        return -ENOPROTOOPT
    if name == UDPLITE_SEND_CSCOV:
        return conv.send_coverage
    return conv.recv_coverage or 0
