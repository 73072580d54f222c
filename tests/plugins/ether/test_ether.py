"""Virtual ethernet: guests exchanging frames through #ether (/net/etherN), and the pcap file."""

from __future__ import annotations

import errno
import io
import shutil
import subprocess

import pytest
from support import CONFIGS, host_answerer, kernkit_cli, one_line_error, run_kernel

from kernkit.core.errors import ConfigError

pytest.importorskip("kernkit.plugins.ether")

MACS = ["52:54:00:12:34:56", "52:54:00:12:34:57"]
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")


def ethertest(*args: str, **overrides):
    overrides.setdefault("ether__nics", MACS)
    result = run_kernel("ethertest", *args, **overrides)
    assert result.status == 0, result.out + result.err
    return result


def frame_sizes(count: int) -> list[int]:
    """The frames ethertest ping sends: 14 bytes, 1514, then payloads of (97 i) % 1501 bytes."""
    return [14 + (0 if i == 0 else 1500 if i == 1 else i * 97 % 1501) for i in range(count)]


def tshark(pcap, *args: str) -> list[str]:
    proc = subprocess.run([TSHARK, "-r", str(pcap), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_two_processes_exchange_frames_byte_for_byte():
    out = ethertest("pingpong", "30").out
    # 30 frames of 14 to 1514 bytes from ether0 to ether1 and back, each compared whole
    assert f"ping: 30/30 replies byte for byte ({sum(frame_sizes(30))} bytes) from 52:54:00:12:34:57" in out
    assert "type: 34997 prom: 0 in: 30 out: 30 queued: 0 dropped: 0" in out
    assert "pong: echoed 30 frames on ether1" in out and "pingpong: child exit 0" in out


def test_type_filtering_promiscuity_and_poll():
    out = ethertest("filter").out
    assert "poll before: 0\npoll after: 1 revents 1\n" in out
    assert "88b5: 88b5 then EAGAIN" in out
    assert "88b6: 88b6 then EAGAIN" in out
    # connect -1 takes every type addressed to the NIC; promiscuous also the frame to another MAC
    assert "all: 88b5 88b6 0800 then EAGAIN" in out
    assert "promiscuous: 88b5 88b6 0800 88b5 then EAGAIN" in out
    assert "sender: then Invalid argument" in out  # never connected: a read says so


def test_a_full_queue_drops_frames_and_counts_them():
    result = ethertest("filter", ether__queue=1)
    assert "all: 88b5 then EAGAIN" in result.out


def test_bad_frames_and_ctl_messages_give_clear_errors():
    out = ethertest("errors").out
    assert "read before connect: Invalid argument -- ether0/0 has no type yet: write 'connect TYPE'" in out
    for size in (0, 13):
        assert f"frame of {size} bytes: Invalid argument -- a frame is 14 to 1514 bytes" in out
    for size in (1515, 2000):
        assert f"frame of {size} bytes: Message too large -- a frame is 14 to 1514 bytes" in out
    assert "frame of 14 bytes: ok (14)" in out and "frame of 1514 bytes: ok (1514)" in out
    assert "ctl 'frobnicate': Invalid argument -- unknown ctl message 'frobnicate'" in out
    assert "ctl 'connect': Invalid argument -- bad ctl message 'connect': expected connect TYPE" in out
    assert "ctl 'connect 70000': Invalid argument -- connect 70000: expected an ethertype 0 to 65535" in out
    assert "ctl 'connect -2': Invalid argument" in out and "ctl 'connect ip': Invalid argument" in out
    assert "ctl 'promiscuous yes': Invalid argument -- bad ctl message" in out
    assert "ctl '': Invalid argument -- empty ctl message" in out
    assert "ctl 'connect 0x88b5': ok" in out and "type: 34997" in out


def test_arp_between_two_processes(tmp_path):
    pcap = tmp_path / "arp.pcap"
    result = run_kernel(
        "ethertest", "arp", "0", "10.0.2.15", "10.0.2.16",
        also=[["ethertest", "arpd", "1", "10.0.2.16"]],
        ether__nics=MACS, ether__pcap=str(pcap),
    )  # fmt: skip
    assert result.status == 0, result.out + result.err
    assert "arp: 10.0.2.16 is at 52:54:00:12:34:57" in result.out
    assert "arpd: told 10.0.2.15 that 10.0.2.16 is at 52:54:00:12:34:57" in result.out
    if TSHARK:
        lines = tshark(pcap)
        assert "Who has 10.0.2.16? Tell 10.0.2.15" in lines[0]
        assert "10.0.2.16 is at 52:54:00:12:34:57" in lines[-1]


def test_files_of_the_device_and_connections_going_with_their_files():
    result = run_kernel(
        "run",
        "ls /net /net/ether1",
        "cat /net/ether0/addr /net/ether1/ifstats",
        "ethertest pingpong 2",
        "cat /net/ether0/stats",
        "ls /net/ether0",
        "ls #ether.1",
        ether__nics=MACS,
    )
    assert result.status == 0, result.out + result.err
    out = result.out
    assert "ether0\nether1\n" in out and "ipifc" in out
    # before and after: the connection directories went with the processes' files
    assert out.count("addr\nclone\nifstats\nstats\n") == 2
    assert "525400123456\n" in out and "address: 52:54:00:12:34:57" in out
    assert "in: 2\nout: 2\nbytes in: 1528\nbytes out: 1528\n" in out
    assert out.rstrip().endswith("ether1")


def test_without_nics_nothing_changes():
    result = run_kernel("run", "ls /net", "cat /proc/1/ns", "ls #ether", "ls #ether.0")
    assert "ether" not in result.out.replace("ls: #ether.0: No such device", "")  # no NICs, no bind
    assert "ls: #ether.0: No such device" in result.out + result.err


@needs_tshark
def test_tshark_decodes_the_capture(tmp_path):
    pcap = tmp_path / "f.pcap"
    ethertest("pingpong", "4", ether__pcap=str(pcap))
    rows = [line.split("\t") for line in tshark(pcap, "-T", "fields", "-e", "eth.src", "-e", "eth.dst",
                                                "-e", "eth.type", "-e", "frame.len")]  # fmt: skip
    assert rows == [
        ["52:54:00:12:34:56", "52:54:00:12:34:57", "0x88b5", "14"],
        ["52:54:00:12:34:57", "52:54:00:12:34:56", "0x88b5", "14"],
        ["52:54:00:12:34:56", "52:54:00:12:34:57", "0x88b5", "1514"],
        ["52:54:00:12:34:57", "52:54:00:12:34:56", "0x88b5", "1514"],
        ["52:54:00:12:34:56", "52:54:00:12:34:57", "0x88b5", "208"],
        ["52:54:00:12:34:57", "52:54:00:12:34:56", "0x88b5", "208"],
        ["52:54:00:12:34:56", "52:54:00:12:34:57", "0x88b5", "305"],
        ["52:54:00:12:34:57", "52:54:00:12:34:56", "0x88b5", "305"],
    ]
    times = [float(t) for t in tshark(pcap, "-T", "fields", "-e", "frame.time_epoch")]
    assert times == sorted(times) and 0 < times[0] < times[-1] < 1.0  # virtual time since boot


def test_the_capture_is_byte_identical_across_runs(tmp_path):
    first, second = tmp_path / "1.pcap", tmp_path / "2.pcap"
    ethertest("pingpong", "10", ether__pcap=str(first), machine__cores=2)
    ethertest("pingpong", "10", ether__pcap=str(second), machine__cores=2)
    data = first.read_bytes()
    assert data[:4] == bytes.fromhex("4d3cb2a1") and len(data) == 24 + 20 * 16 + 2 * sum(frame_sizes(10))
    assert data == second.read_bytes()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ether.nics": ["52:54:00:12:34"]}, "ether.nics: item 0: expected a MAC address such as"),
        ({"ether.nics": ["01:00:5e:00:00:01"]}, "must be unicast"),
        ({"ether.nics": [MACS[0], MACS[0]]}, "item 1: 52:54:00:12:34:56 is already the address of item 0"),
        ({"ether.nics": MACS, "ether.pcap": "/nonexistent/dir/f.pcap"}, "the directory '/nonexistent/dir'"),
        ({"ether.queue": 0}, "ether.queue: must be positive"),
    ],
)
def test_bad_config_is_a_one_line_error(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        run_kernel("hello", **{k.replace(".", "__"): v for k, v in overrides.items()})
    assert "\n" not in str(info.value)


def test_bad_config_from_the_command_line(tmp_path):
    bad = tmp_path / "k.toml"
    bad.write_text(f'extends = "{CONFIGS / "minimal.toml"}"\n[ether]\nnics = ["zz:54:00:12:34:56"]\n')
    assert "ether.nics: item 0: expected a MAC address" in one_line_error(kernkit_cli("check", str(bad)))
    bad.write_text(f'extends = "{CONFIGS / "minimal.toml"}"\n[ether]\npcap = "{tmp_path}/x.pcap"\n')
    assert "[ether]: pcap = " in (message := one_line_error(kernkit_cli("check", str(bad))))
    assert "but nothing to capture: no nics and capture_ip is off" in message
    bad.write_text(f'extends = "{CONFIGS / "minimal.toml"}"\n[ether]\ncapture_ip = true\n')
    assert "[ether]: capture_ip = true needs pcap" in one_line_error(kernkit_cli("check", str(bad)))


# --- the #ip stack's traffic in the capture ([ether] capture_ip) ----------------------------------

WWW = {"/bin": "@programs", "/www": str(CONFIGS / "www")}


def http_capture(pcap, **overrides):
    result = run_kernel(
        "ethertest", "httpget", "127.0.0.1", "80", "/index.html",
        also=[["httpd", "80", "/www"]],
        namespace__root=WWW, machine__cores=2, ether__pcap=str(pcap), **overrides,
    )  # fmt: skip
    assert result.status == 0, result.out + result.err
    assert "httpget: HTTP/1.1 200 OK (316 bytes)" in result.out
    return result


@needs_tshark
def test_the_guest_httpd_exchange_is_in_the_capture(tmp_path):
    pcap = tmp_path / "http.pcap"
    http_capture(pcap, ether__capture_ip=True)
    lines = tshark(pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE")
    flags = [line.split("[", 1)[1].split("]")[0] if "[" in line else line.split()[5] for line in lines]
    assert flags == ["SYN", "SYN, ACK", "ACK", "HTTP", "HTTP", "FIN, ACK", "ACK", "FIN, ACK", "ACK"]
    assert "GET /index.html HTTP/1.1" in lines[3] and "HTTP/1.1 200 OK" in lines[4]
    follow = "\n".join(tshark(pcap, "-q", "-z", "follow,tcp,ascii,0"))
    assert "GET /index.html HTTP/1.1\nHost: 127.0.0.1" in follow
    assert "Hello from kernkit!" in follow and "Content-Length: 209" in follow
    checks = tshark(pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                    "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status")  # fmt: skip
    assert set(checks) == {"1\t1"}  # every checksum good
    assert tshark(pcap, "-Y", "tcp.analysis.flags") == []  # no lost, repeated or out-of-order data


def test_ip_capture_is_deterministic_and_off_by_default(tmp_path):
    first, second, off = tmp_path / "1.pcap", tmp_path / "2.pcap", tmp_path / "off.pcap"
    http_capture(first, ether__capture_ip=True)
    http_capture(second, ether__capture_ip=True)
    assert first.read_bytes() == second.read_bytes() and len(first.read_bytes()) > 800
    http_capture(off, ether__nics=MACS)
    assert off.read_bytes() == first.read_bytes()[:24]  # off: the header, and no frame


@needs_tshark
def test_udp_and_a_host_connection_in_the_capture(tmp_path):
    pcap = tmp_path / "host.pcap"
    with host_answerer() as port:
        result = run_kernel("nettest", "dial", "10.0.2.2", str(port), "hi", net__host_access=True,
                            ether__pcap=str(pcap), ether__capture_ip=True)  # fmt: skip
    assert "got 12: host says hi" in result.out
    rows = tshark(
        pcap, "-T", "fields", "-e", "eth.src", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.flags.str"
    )
    assert rows[0].split("\t")[:3] == ["52:54:00:12:34:56", "10.0.2.15", "10.0.2.2"]
    assert rows[1].split("\t")[:3] == ["52:55:0a:00:02:02", "10.0.2.2", "10.0.2.15"]
    follow = "\n".join(tshark(pcap, "-q", "-z", "follow,tcp,ascii,0"))
    assert "\nhi\n" in follow and "host says hi" in follow
    udp = tmp_path / "udp.pcap"
    assert run_kernel("nettest", "udp", ether__pcap=str(udp), ether__capture_ip=True).status == 0
    assert tshark(udp, "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "data.data") == [
        "9001\t9000\t70696e67",  # 'ping'
        "9001\t9000\t706f6e6721",
        "9000\t9001\t7265706c79",  # 'reply'
    ]


@needs_tshark
def test_a_large_udp_datagram_is_fragmented_and_reassembles(tmp_path):
    from kernkit.plugins.ether.ipcapture import IpCapture
    from kernkit.plugins.ether.pcap import PcapWriter

    class Capture:  # the segment's side of a capture: record() writes a frame
        nics: list = []

        def __init__(self, file):
            self.writer = PcapWriter(file)

        def record(self, frame: bytes) -> None:
            self.writer.write(1000, frame)

    pcap = tmp_path / "frag.pcap"
    with open(pcap, "wb") as file:
        IpCapture(Capture(file), "10.0.2.15").udp(
            ("10.0.2.15", 5000), ("127.0.0.1", 53), bytes(range(256)) * 16
        )
    rows = tshark(pcap, "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "frame.len", "-e", "udp.length",
                  "-e", "udp.checksum.status")  # fmt: skip
    assert rows == ["1514\t\t", "1514\t\t", "1178\t4104\t1"]  # 4104: 1480 + 1480 + 1144


def test_where_ether_is_bound():
    elsewhere = run_kernel("run", "ls /nic /net", ether__nics=MACS[:1], ether__bind="/nic")
    assert elsewhere.status == 0, elsewhere.err
    assert elsewhere.out.startswith("/nic:\nether0\n\n/net:\nipifc\n")
    nowhere = run_kernel("run", "ls /net #ether", ether__nics=MACS[:1], ether__bind="")
    assert "ether0" in nowhere.out and "ether0" not in nowhere.out.split("#ether")[0]
    with pytest.raises(ConfigError, match="ether.bind: expected an absolute path"):
        run_kernel("hello", ether__nics=MACS, ether__bind="net")


def test_a_capture_file_that_cannot_be_opened_fails_the_boot_in_one_line():
    # /proc takes no new files, even from root, whom access() lets through
    proc = kernkit_cli("boot", "configs/ether.toml", "--set", "ether.pcap=/proc/ether.pcap")
    assert one_line_error(proc) == "[ether] pcap: cannot write '/proc/ether.pcap': No such file or directory"
    directory = kernkit_cli("boot", "configs/ether.toml", "--set", "ether.pcap=/tmp")
    assert "ether.pcap: '/tmp' is a directory; expected a file" in one_line_error(directory)
    full = kernkit_cli("boot", "configs/ether.toml", "--set", "ether.pcap=/dev/full")
    assert one_line_error(full) == "[ether] pcap: cannot write '/dev/full': No space left on device"


class _FillingFile(io.BytesIO):
    """A capture file on a disk that fills after ``room`` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data) -> int:  # noqa: ANN001
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_disk_filling_during_a_capture_stops_the_capture_not_the_kernel():
    from kernkit.plugins.ether.pcap import PcapWriter

    lines: list[str] = []
    writer = PcapWriter(_FillingFile(24 + 2 * (16 + 60)), "f.pcap", lines.append)
    for ns in range(5):
        writer.write(ns, bytes(60))
    assert writer.frames == 2
    assert lines == ["[ether] pcap: writing 'f.pcap' failed (No space left on device); capture stopped after 2 frames"]
