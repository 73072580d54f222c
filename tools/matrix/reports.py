"""Reports of a matrix run: JSON (a documented schema) and JUnit XML."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kernkit.tools.matrix.spec import METRICS, Cell

SCHEMA = "kernkit-matrix/1"
STATUSES = ("PASS", "FAIL", "ERROR", "MISS", "SKIP", "XFAIL", "XPASS")
#: Statuses that make a run fail (exit status 1): XPASS because an expected failure that passes
#: means the list of expected failures is no longer true.
FAILING = ("FAIL", "ERROR", "MISS", "XPASS")
#: What a cell's result may carry besides its metrics.
EXTRAS = ("enosys", "tests")


def summary(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["status"] for r in results)
    return {status: counts.get(status, 0) for status in STATUSES}


def to_json(matrix: Path, cells: Sequence[Cell], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for cell in cells:
        result = results.get(cell.id, {"status": "SKIP", "reason": "not run"})
        rows.append(
            {
                "id": cell.id,
                "workload": cell.workload.name,
                "config": cell.config,
                "params": dict(cell.params),
                "status": result["status"],
                "reason": result.get("reason", ""),
                "output": result.get("output", ""),
                "errors": result.get("errors", ""),
                **{m: result.get(m) if m in cell.workload.metrics else None for m in METRICS},
                **{extra: result[extra] for extra in EXTRAS if extra in result},
            }
        )
    return {"schema": SCHEMA, "matrix": str(matrix), "summary": summary(rows), "cells": rows}


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (shown as U+FFFD)."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def write_junit(report: dict[str, Any], path: Path) -> None:
    """One testcase per cell; the variant's options as properties; FAIL and XPASS -> failure,
    ERROR and MISS -> error, SKIP and XFAIL -> skipped (as pytest reports expected failures)."""
    counts = report["summary"]
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"kernkit matrix {Path(report['matrix']).name}",
        tests=str(len(report["cells"])),
        failures=str(counts["FAIL"] + counts["XPASS"]),
        errors=str(counts["ERROR"] + counts["MISS"]),
        skipped=str(counts["SKIP"] + counts["XFAIL"]),
    )
    for row in report["cells"]:
        case = ET.SubElement(
            suite, "testcase", classname=row["workload"], name=row["id"], time=str(row.get("wall_s") or 0)
        )
        properties = ET.SubElement(case, "properties")
        for key, value in {"config": row["config"], **row["params"]}.items():
            ET.SubElement(properties, "property", name=key, value=str(value))
        if row["status"] in ("FAIL", "XPASS"):
            failure = ET.SubElement(case, "failure", message=_xml_text(row["reason"]))
            failure.text = _xml_text(row["output"] + row["errors"])
        elif row["status"] in ("ERROR", "MISS"):
            error = ET.SubElement(case, "error", message=_xml_text(f"{row['status']}: {row['reason']}"))
            error.text = _xml_text(row["errors"])
        elif row["status"] in ("SKIP", "XFAIL"):
            ET.SubElement(case, "skipped", message=_xml_text(f"{row['status']}: {row['reason']}"))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="unicode", xml_declaration=True)
