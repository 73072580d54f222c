"""A Linux signal sent to an Akaros process (another personality's kill) becomes an
EV_POSIX_SIGNAL event for its vcore 0, as Akaros's glibc turns kill() into an event; SIGKILL
ends the process."""

from __future__ import annotations

import io
import json

from support import CONFIGS

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import resolve_program


def _kernel_with_an_akaros_process():
    trace = io.StringIO()
    kernel = assemble(
        CONFIGS / "akaros.toml", stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO(), trace=trace
    )
    boot(kernel)
    program = resolve_program("scp_hello", kernel.config.base_dir)
    process = kernel.spawn(program, ["scp_hello"], [], parent=kernel.init, start=False)
    return kernel, process, trace


def test_a_signal_becomes_an_event_for_vcore_0():
    kernel, process, trace = _kernel_with_an_akaros_process()
    assert process.personality.name == "akaros"
    process.personality.post_signal(process, 10, kernel.init.pid)
    kernel.tracer.flush()
    events = [json.loads(line) for line in trace.getvalue().splitlines() if '"ev":"event"' in line]
    assert [(e["pid"], e["vcore"], e["type"], e["arg1"]) for e in events] == [(process.pid, 0, 12, 10)]
    assert process.alive


def test_sigkill_ends_it():
    kernel, process, _ = _kernel_with_an_akaros_process()
    process.personality.post_signal(process, 9, kernel.init.pid)
    assert not process.alive and process.exit_status == 128 + 9
