"""AF_INET6 and UDP-Lite sockets, sendmmsg and recvmmsg: what net6test prints under kernkit is
what it prints on Linux (support/oracle.py), and IPv6 reaches /net, the host bridge and the capture."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
from support import run_kernel
from support.oracle import sandboxed

from kernkit.core.devices import DeviceError

pytest.importorskip("kernkit.plugins.net")


@pytest.mark.parametrize("case", ["tcp6", "udp6", "udplite", "mmsg"])
def test_net6test_prints_under_kernkit_what_it_prints_on_linux(case):
    linux = sandboxed("net6test", case)
    if "EAFNOSUPPORT" in linux.out.split("\n", 1)[0] or "Address family not supported" in linux.err:
        pytest.skip("the host has no IPv6")
    kernkit = run_kernel("net6test", case)
    assert kernkit.out == linux.out, linux.err
    assert kernkit.status == linux.status == 0


def test_plan9_files_take_ipv6_addresses():
    from kernkit.plugins.net.devip import parse_addr, parse_udp_header, udp_header
    from kernkit.plugins.net.stack import Stack

    stack = Stack.__new__(Stack)
    assert parse_addr("::1!7000", stack) == ("::1", 7000)
    assert parse_addr("udp!::ffff:127.0.0.1!53", stack) == ("127.0.0.1", 53)  # v4-mapped is IPv4
    with pytest.raises(DeviceError, match="'::g' is not an IPv6 address"):
        parse_addr("::g!80", stack)

    class Conv:
        laddr, lport = "::1", 9000

    header = udp_header("::1", 4000, Conv())
    assert len(header) == 52 and parse_udp_header(header) == ("::1", 4000)


def test_a_forward_reaches_a_dual_stack_guest_listener_and_not_a_v6_only_one():
    """Host clients come in over IPv4: an AF_INET6 listener on :: takes them (and sees a
    v4-mapped peer), one with IPV6_V6ONLY does not, as for a guest IPv4 client."""
    from kernkit.core.assemble import assemble, boot
    from kernkit.plugins.net import BRIDGE
    from kernkit.plugins.net.stack import stack_of

    kernel = assemble(None, overrides={"net.forward": [{"host": "127.0.0.1:0", "guest": 7000}]})
    boot(kernel)
    try:
        (_, port), stack = BRIDGE.get(kernel).addresses[0], stack_of(kernel)
        only = stack.new_conv("tcp")
        only.wildcard, only.v6only = "::", True
        only.bind("::", 7000)
        only.announce(4)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        only.release()
        dual = stack.new_conv("tcp")
        dual.wildcard = "::"
        dual.bind("::", 7000)
        dual.announce(4)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        kernel.shutdown()


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (apt-get install tshark)")
def test_ipv6_traffic_is_in_the_capture_with_good_checksums(tmp_path):
    pcap = tmp_path / "v6.pcap"
    result = run_kernel("net6test", "tcp6", ether__pcap=str(pcap), ether__capture_ip=True)
    assert result.status == 0, result.err
    rows = subprocess.run(
        ["tshark", "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-Y", "ipv6",
         "-T", "fields", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "tcp.checksum.status", "-e", "data.data"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert rows and all(row.startswith("::1\t::1\t1") for row in rows)
    assert "::1\t::1\t1\t70696e67" in rows  # 'ping' over [::1]:7100
