"""``kernkit compat``: run the compatibility suite on this install (a matrix run of
configs/compat.toml) and print what passes, per program, and what answered -ENOSYS; or record
the expected outputs under qemu-user (``--refresh``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kernkit.core.assemble import packaged_config
from kernkit.core.errors import KernkitError
from kernkit.tools.compat.refresh import refresh
from kernkit.tools.compat.suite import load_suite
from kernkit.tools.compat.summary import summarise
from kernkit.tools.compat.table import suite_folder
from kernkit.tools.matrix import command as matrix_command
from kernkit.tools.matrix.spec import read_toml

DEFAULT_MATRIX = "compat.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    matrix_command.add_arguments(parser, default_matrix=str(packaged_config(DEFAULT_MATRIX)))
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="record the expected outputs: run the checks (--filter: those matching) under qemu-user "
        "and natively, each in a chroot of its files, and write the suite's expected/*.json",
    )
    parser.add_argument(
        "--report", metavar="FILE", help="summarise the JSON report of an earlier run instead of running"
    )


def run(args: argparse.Namespace) -> int:
    folder = suite_of(Path(args.matrix))
    if args.refresh:
        problems = refresh(folder, args.filter, args.jobs)
        if problems:
            print(f"{len(problems)} checks to look at:\n  " + "\n  ".join(problems))
        return 0
    if args.report:
        try:
            report = json.loads(Path(args.report).read_text())
        except (OSError, ValueError) as exc:
            raise KernkitError(f"--report {args.report}: not a JSON report: {exc}") from None
        status = 0
    else:
        report, status = matrix_command.execute(args)
    checks = [check for family in load_suite(folder, build=False) for check in family.checks]
    print(summarise(report, checks))
    return status


def suite_of(matrix: Path) -> Path:
    """The suite folder a matrix file names (``suite = "..."``); the packaged suite otherwise."""
    data = read_toml(matrix)
    suite = data.get("suite")
    return (matrix.parent / suite).resolve() if isinstance(suite, str) else suite_folder()
