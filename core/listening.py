"""The one rule for everything that listens on the host (the 9P export, the gdb stub, network
forwards): loopback addresses only, unless the listener's own ``allow_remote`` is set; and a
listener that is open to other hosts says so in one warning line when it starts."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IPv4/IPv6 address (``0.0.0.0``, ``::`` and names are not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_loopback(host: str, allow_remote: bool, section: str, what: str) -> None:
    """ValueError unless ``host`` is loopback or ``[section] allow_remote`` is set."""
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"{host} is not a loopback address; {what} has no authentication, so set "
            f"{section}.allow_remote = true to let other hosts in"
        )


def remote_warning(host: str, port: int, section: str, what: str) -> str | None:
    """The warning line for a listener open to other hosts, or None for a loopback one."""
    if is_loopback(host):
        return None
    shown = f"[{host}]" if ":" in host else host
    return (
        f"warning: {what} listens on {shown}:{port}, open to other hosts and without "
        f"authentication ({section}.allow_remote = true)"
    )
