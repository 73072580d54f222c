"""Which versions of the hook contract a plugin supports: ``KERNKIT_CONTRACT = ">=1.0,<2"``."""

from __future__ import annotations

import operator
import re

_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")
_OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def _version(text: str) -> tuple[int, ...]:
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (3 - len(parts))


def supports(spec: str, version: str) -> bool:
    """Whether ``version`` (``"1.0"``) meets every comma-separated clause of ``spec``.

    ValueError when ``spec`` is not of the form ``">=1.0,<2"``.
    """
    clauses = [c for c in spec.split(",") if c.strip()]
    if not clauses:
        raise ValueError(f"empty contract requirement {spec!r}")
    have = _version(version)
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"cannot read contract requirement {clause.strip()!r} (expected e.g. >=1.0,<2)")
        if not _OPERATORS[match[1]](have, _version(match[2])):
            return False
    return True
