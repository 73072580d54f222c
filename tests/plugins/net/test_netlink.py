"""AF_NETLINK (NETLINK_ROUTE) sockets and the SIOCGIF* ioctls: what nltest prints under kernkit
is what it prints on Linux (the loopback's view, built with musl and with glibc), the interfaces
follow the [net] and [ether] config, and long dumps come a page at a time as on Linux."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from support import run_kernel
from support.oracle import sandboxed

pytest.importorskip("kernkit.plugins.net")

BUSYBOX = Path("/usr/bin/busybox")


@pytest.mark.parametrize("program", ["nltest", "nltest-glibc"])
def test_nltest_prints_under_kernkit_what_it_prints_on_linux(program):
    linux = sandboxed(program)
    kernkit = run_kernel(program)
    assert kernkit.out == linux.out, linux.err
    assert kernkit.status == linux.status == 0
    assert "RTM_NEWLINK lo: flags 0x2" in kernkit.out  # the dump was read, not skipped


def _ip(*args: str, **options: object) -> str:
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed")
    run = run_kernel(str(BUSYBOX), "ip", *args, namespace__host=["@userland"], **options)
    assert run.status == 0, run.out
    return run.out


def test_ip_addr_shows_the_configured_address_and_ip_link_every_nic():
    shown = _ip("addr", net__address="10.1.2.3", net__prefix=16)
    assert "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536" in shown
    assert "inet 127.0.0.1/8 scope host lo" in shown
    assert "inet6 ::1/128 scope host" in shown
    assert "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500" in shown
    assert "link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff" in shown
    assert "inet 10.1.2.3/16 brd 10.1.255.255 scope global eth0" in shown
    nics = ["52:54:00:aa:bb:01", "52:54:00:aa:bb:02", "52:54:00:aa:bb:03"]
    links = _ip("link", ether__nics=nics)
    for index, mac in enumerate(nics):
        assert f"{index + 2}: eth{index}: " in links
        assert f"link/ether {mac} brd" in links
    assert "5: " not in links


def test_ifconfig_lists_the_addresses_through_siocgifconf_and_the_siocgif_ioctls():
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed")
    run = run_kernel(
        str(BUSYBOX), "ifconfig", namespace__host=["@userland"], net__address="10.1.2.3", net__prefix=16
    )
    assert run.status == 0, run.out
    assert "eth0      Link encap:Ethernet  HWaddr 52:54:00:12:34:56" in run.out
    assert "inet addr:10.1.2.3  Bcast:10.1.255.255  Mask:255.255.0.0" in run.out
    assert "UP BROADCAST RUNNING MULTICAST  MTU:1500" in run.out
    assert "inet addr:127.0.0.1  Mask:255.0.0.0" in run.out


def test_a_long_dump_comes_a_datagram_at_a_time_each_within_what_linux_sends():
    from kernkit.plugins.net import interfaces, rtnetlink
    from kernkit.plugins.net.interfaces import Interface

    many = [interfaces.LOOPBACK] + [
        Interface(i, f"eth{i}", 1, interfaces.ETHER_FLAGS, 1500, bytes(6), b"\xff" * 6, "pfifo_fast")
        for i in range(2, 20)
    ]
    request = rtnetlink.message(
        rtnetlink.RTM_GETLINK, rtnetlink.NLM_F_REQUEST | rtnetlink.NLM_F_DUMP, 9, 0, b"\0"
    )
    answer = rtnetlink.answer(many, request, 77, dumping=False)
    assert answer.datagrams == [] and answer.dump is not None
    seen, sizes = [], []
    while True:
        datagram = answer.dump.batch(rtnetlink.GOODSIZE)
        if not datagram:
            break
        sizes.append(len(datagram))
        offset = 0
        while offset < len(datagram):
            length, kind, flags, seq, portid = rtnetlink.HEADER.unpack_from(datagram, offset)
            assert (seq, portid, flags) == (9, 77, rtnetlink.NLM_F_MULTI)
            seen.append(kind)
            offset += rtnetlink.align(length)
    assert seen == [rtnetlink.RTM_NEWLINK] * 19 + [rtnetlink.NLMSG_DONE]
    assert len(sizes) > 2 and all(size <= rtnetlink.GOODSIZE for size in sizes)
    assert sizes[-1] == 20  # NLMSG_DONE alone, as Linux ends a dump
    again = rtnetlink.answer(many, request, 77, dumping=True)  # one dump at a time: EBUSY
    assert again.dump is None
    assert struct.unpack_from("<i", again.datagrams[0], 16)[0] == -16


def _socket(nics: int):
    from types import SimpleNamespace

    from kernkit.plugins.net.netlinksock import NetlinkDevice, NetlinkSocket

    macs = [f"52:54:00:00:00:{i:02x}" for i in range(1, nics + 1)]
    sections = {"net": SimpleNamespace(address="10.0.2.15", prefix=24), "ether": SimpleNamespace(nics=macs)}
    kernel = SimpleNamespace(data={}, config=SimpleNamespace(sections=sections))
    return NetlinkSocket(NetlinkDevice(kernel), 3, 0)


def _kinds(datagram: bytes) -> list[int]:
    from kernkit.plugins.net import rtnetlink

    kinds, offset = [], 0
    while offset < len(datagram):
        length, kind, _, _, _ = rtnetlink.HEADER.unpack_from(datagram, offset)
        kinds.append(kind)
        offset += rtnetlink.align(length)
    return kinds


def test_after_a_large_read_the_next_dump_datagram_is_as_large_as_it():
    from kernkit.plugins.net import rtnetlink

    sock = _socket(16)  # lo and eth0-eth15: about 9 KiB of RTM_NEWLINK
    request = rtnetlink.message(
        rtnetlink.RTM_GETLINK, rtnetlink.NLM_F_REQUEST | rtnetlink.NLM_F_DUMP, 1, 0, b"\0"
    )
    sock.send(request, None, pid=40)
    assert sock.portid == 40  # autobound to the pid
    first, whole, sender = sock.receive(32768)
    assert sender == 0 and len(first) == whole <= rtnetlink.GOODSIZE
    second = sock.receive(32768)[0]
    assert len(second) > rtnetlink.GOODSIZE  # the reader offered 32 KiB: the rest in one
    assert len(_kinds(first)) + len(_kinds(second)) == 17
    assert _kinds(sock.receive(32768)[0]) == [rtnetlink.NLMSG_DONE]
    assert sock.dump is None and not sock.queue


def test_replies_past_the_receive_buffer_are_dropped_and_the_next_read_says_enobufs():
    from kernkit.core.devices import DeviceError
    from kernkit.plugins.net import rtnetlink

    sock = _socket(0)
    sock.rcvbuf = 4096
    one = rtnetlink.message(
        rtnetlink.RTM_GETLINK, rtnetlink.NLM_F_REQUEST, 1, 0, struct.pack("<BxHiII", 0, 0, 1, 0, 0)
    )
    sock.send(one * 20, None, pid=41)
    queued = len(sock.queue)
    assert 0 < queued < 20
    with pytest.raises(DeviceError) as overrun:
        sock.receive(65536)
    assert overrun.value.code == "ENOBUFS"
    assert len(sock.receive(65536)[0]) > 0 and len(sock.queue) == queued - 1  # then what was kept
