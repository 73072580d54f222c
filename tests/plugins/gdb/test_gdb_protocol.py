"""The GDB stub at the protocol level: a small Python client, malformed input, bad checksums,
unmapped memory, and the Machine features under it (breakpoints, single steps) in both modes."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.gdb import DEMO, symbol

from kernkit.plugins.gdb.packets import Parser, checksum, escape, frame, unescape
from kernkit.plugins.gdb.session import parse_address

RIP, RSP = 0x10, 0x07


def le(hex_text: bytes) -> int:
    return int.from_bytes(bytes.fromhex(hex_text.decode()), "little")


def stop_registers(reply: bytes) -> dict[str, str]:
    return dict(part.split(":", 1) for part in reply.decode()[3:].split(";") if ":" in part)


# --- framing, without a socket ---------------------------------------------------------------


def test_parser_separates_packets_acks_interrupts_and_corruption():
    parser = Parser()
    wire = b"+" + frame(b"qSupported") + b"\x03" + b"$m0,4#00" + b"junk-" + frame(b"g")
    events = [(e.kind, e.payload) for e in parser.feed(wire)]
    assert events == [
        ("ack", b""),
        ("packet", b"qSupported"),
        ("interrupt", b""),
        ("corrupt", b"m0,4"),
        ("nak", b""),
        ("packet", b"g"),
    ]
    assert [e.kind for e in parser.feed(b"$g#zz")] == ["corrupt"]  # a checksum that is no number
    assert [e.payload for e in Parser().feed(b"$abc$g#67")] == [b"g"]  # a cut-off packet restarts


@given(st.binary(max_size=300))
def test_escape_round_trips_and_frames_cleanly(data):
    escaped = escape(data)
    assert unescape(escaped) == data
    assert not set(escaped) & set(b"#$*") or data == b""
    [event] = Parser().feed(frame(escaped))
    assert event.kind == "packet" and unescape(event.payload) == data
    assert frame(b"OK") == b"$OK#%02x" % checksum(b"OK")


def test_unescape_refuses_a_dangling_escape():
    with pytest.raises(ValueError, match="inside an escape"):
        unescape(b"ab}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:1234", ("127.0.0.1", 1234)), (":0", ("127.0.0.1", 0)), ("4000", ("127.0.0.1", 4000))],
)
def test_gdb_addresses(text, expected):
    assert parse_address(text) == expected


def test_a_bad_gdb_address_is_one_line():
    from support import kernkit_cli, one_line_error

    assert one_line_error(kernkit_cli("boot", "--gdb", "localhost:http")) == (
        "<command line>: gdb.listen: expected HOST:PORT, e.g. 127.0.0.1:1234, got 'localhost:http'"
    )
    assert one_line_error(kernkit_cli("boot", "--gdb", "192.0.2.1:1", "--set", "gdb.allow_remote=true")).startswith(
        "<command line>: gdb.listen 192.0.2.1:1: cannot listen there: "
    )


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "192.0.2.1:1", "example.com:1"])
def test_listening_beyond_loopback_is_opt_in(address):
    """gdb follows the rule every listener does (core/listening.py): loopback only, unless
    gdb.allow_remote; the 9P export and network forwards refuse the same way."""
    from support import kernkit_cli, one_line_error

    host = address.rpartition(":")[0].strip("[]")
    assert one_line_error(kernkit_cli("boot", "--gdb", address)) == (
        f"<command line>: [gdb]: {host} is not a loopback address; the gdb stub has no authentication, "
        "so set gdb.allow_remote = true to let other hosts in"
    )
    assert one_line_error(kernkit_cli("check", "--set", f"export9p.listen={address}")).endswith(
        f"[export9p]: {host} is not a loopback address; the 9P export has no authentication, "
        "so set export9p.allow_remote = true to let other hosts in"
    )


def test_an_allowed_remote_listener_says_so_in_one_warning_line():
    import subprocess
    import sys

    from support import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "kernkit.tools.cli", "boot", "--gdb", "0.0.0.0:0", "--set", "gdb.allow_remote=true",
         "--", "hello"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
    )
    first = proc.stderr.readline().decode()
    second = proc.stderr.readline().decode()
    proc.terminate()
    proc.communicate(timeout=30)
    assert first.startswith("kernkit: warning: the gdb stub listens on 0.0.0.0:"), first
    assert first.endswith(", open to other hosts and without authentication (gdb.allow_remote = true)\n")
    assert second.startswith("kernkit: gdb: waiting on 0.0.0.0:"), second


# --- a session ------------------------------------------------------------------------------


def test_handshake_target_description_and_threads(guest):
    g = guest(str(DEMO))
    c = g.client()
    supported = c.request("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    assert b"PacketSize=4000" in supported and b"qXfer:features:read+" in supported
    first = c.request("?")
    assert first.startswith(b"T05thread:1;")
    assert le(stop_registers(first)["10"].encode()) == symbol("_start")  # before its first instruction
    xml = b""
    offset = 0
    while True:  # in small pieces, as a gdb with a small packet size would read it
        piece = c.request(f"qXfer:features:read:target.xml:{offset:x},100")
        xml += piece[1:]
        offset += len(piece) - 1
        if piece.startswith(b"l"):
            break
        assert piece.startswith(b"m")
    root = ET.fromstring(xml.decode())
    assert root.find("architecture").text == "i386:x86-64"
    names = [reg.get("name") for reg in root.iter("reg")]
    assert names[:3] == ["rax", "rbx", "rcx"] and names[16] == "rip" and names[-2:] == ["fs_base", "gs_base"]
    assert len(names) == 60
    assert c.request("qXfer:features:read:other.xml:0,100") == b"E00"
    assert c.request(f"qXfer:exec-file:read::0,{0xFFF:x}") == b"l" + str(DEMO).encode()
    assert c.request("qfThreadInfo") == b"m1" and c.request("qsThreadInfo") == b"l"
    assert bytes.fromhex(c.request("qThreadExtraInfo,1").decode()) == b"pid 1 gdbdemo RUNNABLE_S, runnable"
    assert c.request("T1") == b"OK" and c.request("T99") == b"E03" and c.request("Hg99") == b"E03"
    assert c.request("qC") == b"QC1" and c.request("qAttached") == b"0"
    assert c.request("vCont?") == b"vCont;c;C;s;S"
    assert c.request("qNoSuchThing") == b"" and c.request("Z2,1000,4") == b""  # unsupported: empty
    c.send("vCont;c")
    assert c.reply() == b"W00"
    assert g.wait() == 0 and g.out == "hello from gdbdemo: counter=385\n"


def test_malformed_packets_and_bad_checksums_get_errors_not_crashes(guest):
    g = guest(str(DEMO))
    c = g.client()
    c.request("?")
    c.write(b"$m0,4#00")  # wrong checksum: refused, gdb would send it again
    assert c._event().kind == "nak"
    c.write(b"garbage without a frame")  # line noise outside packets is dropped
    for packet in [
        "mzz,4",
        "m,",
        "M400000,2:zz",
        "M400000,4:00",
        "X400000,3:ab",
        "P1000=00",
        "P10=00",
        "p1000",
        "G00",
        "Hxzz",
        "vCont;x",
        "vCont;c5",
        "Z0,zz,1",
        "Z0,1000",
        "C;",
        "qThreadExtraInfo,zz",
        "qXfer:features:read:target.xml:zz,10",
        "m-1,4",
    ]:
        assert c.request(packet).startswith(b"E"), packet
    assert c.request("").startswith(b"")  # an empty packet gets an empty reply
    assert c.request("?").startswith(b"T05thread:1;")  # still talking
    c.send("vKill;1")
    assert c.reply() == b"OK"
    assert g.wait() == 137
    assert "Traceback" not in g.err


def test_memory_through_the_page_tables(guest):
    g = guest(str(DEMO))
    c = g.client()
    c.request("?")
    c.no_ack()
    assert c.request("m400000,4") == b"7f454c46"  # the ELF header, mapped at 0x400000
    assert c.request("m0,8") == b"E14" and c.request("m7fffffffffff0000,8") == b"E14"
    assert c.request("mffffffff81000000,8") == b"E14"  # kernel half: no user mapping
    # a read across the end of a mapping returns what is readable (the stack ends at 0x7fffffffe000)
    assert len(c.request("m7fffffffdff8,10")) == 16 and c.request("m7fffffffe000,10") == b"E14"
    # untouched pages of a region read as zeros (and are not allocated by the reading)
    assert c.request("m7fffff7fe000,8") == b"00" * 8
    greeting = symbol("greeting")
    pointer = le(c.request(f"m{greeting:x},8"))
    assert bytes.fromhex(c.request(f"m{pointer:x},12").decode()) == b"hello from gdbdemo"
    # writes go past the protection of read-only text, like ptrace's
    add_up = symbol("add_up")
    original = c.request(f"m{add_up:x},1")
    assert c.request(f"M{add_up:x},1:cc") == b"OK" and c.request(f"m{add_up:x},1") == b"cc"
    assert c.request(f"X{add_up:x},1:}}]") == b"OK" and c.request(f"m{add_up:x},1") == b"7d"  # escaped
    assert c.request(f"M{add_up:x},1:" + original.decode()) == b"OK"
    assert c.request(f"m{add_up:x},1") == original
    assert c.request("M0,1:00") == b"E14" and c.request("X0,1:a") == b"E14"
    counter = symbol("counter")
    assert c.request(f"M{counter:x},4:07000000") == b"OK"  # then add_up's result overwrites it
    c.send("vCont;c")
    assert c.reply() == b"W00"
    assert g.wait() == 0 and g.out == "hello from gdbdemo: counter=385\n"


def test_registers_read_write_and_expedited_in_stop_replies(guest):
    g = guest(str(DEMO))
    c = g.client()
    first = c.request("?")
    regs = c.request("g")
    assert len(regs) == 2 * (16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 8 + 16)
    assert c.request("p10") == stop_registers(first)["10"].encode()  # rip
    assert c.request("p7") == stop_registers(first)["07"].encode()  # rsp
    assert c.request("p39") == b"ff" * 8  # orig_rax: not inside a system call
    assert c.request("P0=efbeadde00000000") == b"OK" and c.request("p0") == b"efbeadde00000000"
    assert c.request("P28=" + "11" * 16) == b"OK" and c.request("p28") == b"11" * 16  # xmm0
    cs_before = c.request("p12")
    assert c.request("P12=00000000") == b"OK" and c.request("p12") == cs_before  # cs cannot change
    assert c.request("G" + regs.decode()) == b"OK" and c.request("g") == regs  # back as it was
    c.send("vKill;1")
    assert c.reply() == b"OK"
    assert g.wait() == 137


@pytest.mark.parametrize("mode", ["deterministic", "fast"])
def test_breakpoints_and_single_steps(guest, mode):
    g = guest(str(DEMO), options=("--set", f"machine.mode={mode}"))
    c = g.client()
    c.request("?")
    square = symbol("square")
    assert c.request(f"Z0,{square:x},1") == b"OK"
    hits = []
    for _ in range(3):
        c.send("vCont;c")
        reply = c.reply()
        assert reply.startswith(b"T05thread:1;") and reply.endswith(b"swbreak:;"), reply
        hits.append(le(stop_registers(reply)["10"].encode()))
    assert hits == [square] * 3  # once per call: resuming runs the instruction under the breakpoint
    pcs = []
    for _ in range(4):
        c.send("vCont;s:1;c")
        reply = c.reply()
        assert reply.startswith(b"T05thread:1;") and b"swbreak" not in reply
        pcs.append(le(stop_registers(reply)["10"].encode()))
    assert pcs[0] > square and len(set(pcs)) == 4 and all(square <= pc < square + 32 for pc in pcs)
    assert c.request(f"z0,{square:x},1") == b"OK"
    c.send("c")
    assert c.reply() == b"W00"
    assert g.wait() == 0 and g.out == "hello from gdbdemo: counter=385\n"


def test_interrupt_with_ctrl_c_and_monitor_commands(guest):
    g = guest(str(DEMO), "spin")
    c = g.client()
    c.request("?")
    c.send("vCont;c")
    time.sleep(0.5)
    c.interrupt()
    reply = c.reply()
    assert reply.startswith(b"T02thread:1;")  # SIGINT
    main = symbol("main")
    assert main < le(stop_registers(reply)["10"].encode()) < main + 0x200
    assert c.request("qRcmd," + b"ps".hex()) == b"OK"
    assert "gdbdemo" in c.output.decode() and "RUNNING_S" in c.output.decode()
    c.output = b""
    assert c.request("qRcmd," + b"nonsense".hex()) == b"OK"
    assert c.output == b"unknown command 'nonsense'; type 'help'\n"
    c.send("vKill;1")
    assert c.reply() == b"OK"
    assert g.wait() == 137


def test_threads_of_every_process_and_signals_on_resume(guest):
    g = guest(str(DEMO), "threads", "2")
    c = g.client()
    c.request("?")
    worker = symbol("worker")
    c.request(f"Z0,{worker:x},1")
    c.send("vCont;c")
    reply = c.reply()
    assert reply.startswith(b"T05thread:2;")
    assert c.request("qfThreadInfo") == b"m1,2,3"
    info = {tid: bytes.fromhex(c.request(f"qThreadExtraInfo,{tid}").decode()).decode() for tid in (1, 2, 3)}
    assert info[2] == "pid 1 gdbdemo RUNNING_S, on core 0"
    assert info[3] == "pid 1 gdbdemo RUNNING_S, runnable"
    assert c.request("Hg3") == b"OK"  # thread 3's registers: it has not reached worker yet
    assert le(c.request("p10")) != worker
    c.send("vCont;C0f:2;c")  # SIGTERM to thread 2: its process ends (signals take their default action)
    assert c.reply() == b"X0f"
    assert g.wait() == 128 + 15


def test_a_lost_connection_detaches_and_the_run_goes_on(guest):
    g = guest(str(DEMO))
    c = g.client()
    c.request("?")
    c.request(f"Z0,{symbol('square'):x},1")
    c.close()  # gdb died while the program was stopped
    assert g.wait() == 0
    assert g.out == "hello from gdbdemo: counter=385\n"
    assert "gdb closed the connection; detached, the kernel runs on" in g.err


def test_a_fault_forgiven_by_gdb_faults_again(guest):
    g = guest(str(DEMO), "segv")
    c = g.client()
    c.request("?")
    c.send("vCont;c")
    first = c.reply()
    assert first.startswith(b"T0bthread:1;")
    c.send("vCont;c")  # no signal: the instruction runs again, and faults again
    assert c.reply() == first
    c.send("vCont;C0b:1;c")  # pass SIGSEGV: the kernel kills the process, with its report
    assert c.reply() == b"X0b"
    assert g.wait() == 139
    assert "killed by SIGSEGV" in g.err


def test_a_kernel_panic_ends_the_session_with_its_status(guest, tmp_path):
    from support import broken_kernel

    g = guest("syscall_loop", "3", options=(str(broken_kernel(tmp_path)),))
    c = g.client()
    c.request("?")
    c.send("vCont;c")
    assert c.reply() == b"W46"  # 70: a panic
    assert g.wait() == 70
    assert "kernkit: kernel panic: RuntimeError: getpid is broken" in g.err
