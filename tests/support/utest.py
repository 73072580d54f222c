"""Akaros-utest-style output of the parlib check programs: ``PASSED name`` and
``FAILED name: why`` lines between ``BEGIN prog`` and ``END prog``."""

from __future__ import annotations

import re

RESULT = re.compile(r"(PASSED) (\S+)|FAILED (\S+): (.*)")


def utest_results(out: str, program: str) -> dict[str, str]:
    """name -> "PASSED" or the FAILED line's reason, from between BEGIN and END (in order)."""
    lines = out.splitlines()
    assert f"BEGIN {program}" in lines, out
    body = lines[lines.index(f"BEGIN {program}") + 1 :]
    if f"END {program}" in body:
        body = body[: body.index(f"END {program}")]
    found: dict[str, str] = {}
    for line in body:
        match = RESULT.fullmatch(line)
        assert match, f"not a utest line: {line!r}"
        name = match[2] or match[3]
        assert name not in found, f"{name} reported twice"
        found[name] = "PASSED" if match[1] else match[4]
    return found
