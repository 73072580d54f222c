"""The tracer (core/tracer.py): system calls wait as tuples (or as the bytes of their lines, which
the native system call entry writes itself) and are written with their batch, by
the C encoder where it was built and in Python otherwise, to the same bytes as ``json.dumps`` of
the event dict; the digest hashes exactly the bytes written, however the stream is cut."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from kernkit.core import tracer as tracing
from kernkit.core.tracer import Tracer, encode_lines, syscall_line

RECORDS = [
    (0, 0, 1, 1, "getpid", 39, [], 1),
    (123_456_789_012, None, 7, 9, "read", 0, [3, 2**64 - 1, 64], 2**64 - 14),  # -EFAULT as held
    (5, 3, 2, 2, "futex", 202, (0x7FFF_0000, 128, 0, 0, 0, 0), None),  # blocked: no result yet
    (5, 1, 2, 2, "exit", 60, [2**63], 2**63),
    (8, 0, 1, 1, 'odd "name"\\', 500, [1], -1),  # escapes: Python writes the batch
    (9, 0, 1, 1, "caf\u00e9", 501, [], 0),
    (10, 0, 1, 1, "big", 502, [2**70], -(2**70)),  # outside 64 bits
]


def event_dict(record) -> dict:  # noqa: ANN001
    t, core, pid, tid, name, nr, args, ret = record
    where = {"core": core} if core is not None else {}
    signed = None if ret is None else ret - 2**64 if ret >= 2**63 else ret
    return {"t": t, "ev": "syscall", **where, "pid": pid, "tid": tid, "name": name, "nr": nr,
            "args": list(args), "ret": signed}  # fmt: skip


@pytest.mark.parametrize("record", RECORDS)
def test_a_system_call_line_is_json_dumps_of_its_event(record):
    assert syscall_line(record) == json.dumps(event_dict(record), separators=(",", ":"))


native = tracing._native_encoder()


@pytest.mark.skipif(native is None, reason="the C trace encoder is not built here")
@pytest.mark.parametrize("record", RECORDS[:4])
def test_the_c_encoder_writes_the_bytes_python_writes(record):
    items = ['{"t":1,"ev":"boot","note":"\u00e9t\u00e9"}', record, record]
    assert native(items) == encode_lines(items)


@pytest.mark.skipif(native is None, reason="the C trace encoder is not built here")
@pytest.mark.parametrize("record", RECORDS[4:])
def test_the_c_encoder_refuses_what_it_cannot_write_exactly(record):
    with pytest.raises((TypeError, ValueError, OverflowError)):
        native([record])
    with pytest.raises(TypeError):
        native([(1, 0, 1, 1, "x", 1, [True], 0)])  # a bool is not written as an int


@pytest.mark.parametrize("use_native", [True, False])
def test_lines_the_native_entry_wrote_go_out_as_they_are_among_records_and_events(use_native):
    stream = io.StringIO()
    t = Tracer(stream, keep=4, native=use_native)
    written = [syscall_line(record).encode() for record in RECORDS[:4]]
    for line, record in zip(written, RECORDS, strict=False):
        t.pending.append(line)
        t.syscall(record)
        t.emit_line('{"t":2,"ev":"mark"}')
    expected = [x for r in RECORDS[:4] for x in (syscall_line(r), syscall_line(r), '{"t":2,"ev":"mark"}')]
    assert t.events == len(expected)
    assert list(t.recent) == expected[-4:]
    t.close()
    assert stream.getvalue() == "".join(f"{line}\n" for line in expected)


@pytest.mark.parametrize("use_native", [True, False])
def test_the_trace_and_its_digest_are_the_same_bytes_in_any_batch(use_native, monkeypatch):
    stream = io.StringIO()
    t = Tracer(stream, keep=3, native=use_native)
    expected = []
    for i in range(1300):  # crosses batches, including ones Python must write (RECORDS[4:])
        if i % 7 == 0:
            t.emit({"t": i, "ev": "mark", "n": i})
            expected.append(json.dumps({"t": i, "ev": "mark", "n": i}, separators=(",", ":")))
        record = RECORDS[i % len(RECORDS)]
        t.syscall(record)
        expected.append(json.dumps(event_dict(record), separators=(",", ":")))
    assert t.events == len(expected)
    assert list(t.recent) == expected[-3:]
    text = "".join(f"{line}\n" for line in expected)
    assert t.digest == hashlib.sha256(text.encode()).hexdigest()
    t.close()
    assert stream.getvalue() == text


def test_pure_python_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    assert tracing._native_encoder() is None
