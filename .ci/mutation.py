"""Mutation testing of kernkit's critical paths with mutmut (see docs/testing.md).

    python .ci/mutation.py                         # every area, 2 workers, a 45-minute cap
    python .ci/mutation.py --area futex --jobs 2   # one area
    python .ci/mutation.py --keep /tmp/mut         # keep the work directory (mutmut show NAME there)

mutmut names a mutant after the module its file is imported as, and kernkit's packages live in
directories named otherwise (core/ is kernkit.core). So the project is copied into a scratch
directory laid out as it is imported (kernkit/core, kernkit/arch, ...), with the tests beside
it, and mutmut runs there: each mutant in a forked worker, against the selected tests that
reached the mutated function. Each area names its functions (the critical path, not everything
in the file) and the tests that guard them.

Prints, per area, the mutants and how many were killed, and the survivors by name; exit status
1 when an area's kill rate (killed and timed out, over all its mutants) is under its floor (the
rate last measured, every survivor read and listed in docs/testing.md; --min-kill sets one for
all) or the cap ran out before every mutant was tried, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The project's packages, by the directory they are imported as.
PACKAGES = {
    "core": "core",
    "arch": "arch",
    "plugins": "plugins",
    "tools": "tools",
    "configs": "configs",
    "user": "user",
}
#: What tests read from the checkout beside the packages.
ALSO = ["configs", "user", "docs", "bench"]
KILLED = {1, 3, 36, 24, -24, 152, 255, -9, -11}  # a failed test, a crash or a timeout (mutmut's codes)


@dataclass(frozen=True)
class Area:
    files: tuple[str, ...]  # under kernkit/
    functions: tuple[str, ...]  # mutant name patterns, after the module's name
    tests: tuple[str, ...]  # pytest arguments that select the tests guarding them
    #: The kill rate required, percent: the rate last measured (rounded down), its survivors read
    #: and listed in docs/testing.md; under 90 only where they are equivalent mutants (a fast path
    #: the general one backs, text nobody is shown). A change that adds a survivor fails the
    #: step until the survivor is killed or read and listed.
    floor: float = 90.0


AREAS = {
    # page-permission checks, demand paging, the kernel's copy-in/out of syscall arguments (EFAULT)
    "vm": Area(
        ("core/vm.py", "arch/x86_64/paging.py", "core/syscalls.py", "core/tracer.py"),
        (
            *(
                f"kernkit.core.vm.xǁAddressSpaceǁ{f}__*"
                for f in (
                    "add_region",
                    "remove_range",
                    "protect_range",
                    "find_free",
                    "resolve_fault",
                    "map_frame",
                    "_install",
                    "_pages_in",
                    "_drop_pages",
                    "release",
                    "_forget_page",
                    "_forget_pages",
                    "_lookup",
                    "allows",
                    "_chunks",
                    "read",
                    "read_cstring",
                    "write",
                    "write_all_or_none",
                    "holds",
                    "read_u64",
                    "write_u64",
                )
            ),
            # the page tables but for fork's bulk sharing (share_into), as AddressSpace.fork
            *(
                f"kernkit.arch.x86_64.paging.xǁX86PageTableǁ{f}__*"
                for f in ("__init__", "_slot", "map", "unmap", "lookup", "protect", "release")
            ),
            "kernkit.arch.x86_64.paging.x_walk__*",
            # dispatch and EFAULT; not the cost model's CostingDispatcher (tests/plugins/costs)
            "kernkit.core.syscalls.xǁSyscallDispatcherǁ*",
            "kernkit.core.syscalls.xǁTracingDispatcherǁ*",
            # a traced call's line (the result signed): the Python writer the C encoder matches
            "kernkit.core.tracer.x__signed__*",
            "kernkit.core.tracer.x_syscall_line__*",
        ),
        ("tests/core/test_vm.py", "tests/core/test_syscalls.py", "tests/core/test_tracer.py"),
        floor=86.0,  # docs/testing.md: shortcuts the general path backs
    ),
    # the TLB fill's kernel side: what a miss may map, with which rights, and the fault it reports
    # (present pages the native helper fills in C, which mutmut cannot mutate)
    "tlb": Area(
        ("arch/x86_64/cpu.py",),
        ("kernkit.arch.x86_64.cpu.xǁX86Coreǁ_fill__*",),
        ("tests/core/test_faults.py", "tests/plugins/linux_abi/test_linux_abi.py"),
        floor=82.5,  # docs/testing.md: unreachable and equivalent fills
    ),
    # the namespace walk
    "ns": Area(
        ("plugins/ns/namespace.py",),
        tuple(
            f"kernkit.plugins.ns.namespace.{f}__*"
            for f in (
                "xǁNamespaceǁ_enter",
                "xǁNamespaceǁwalk1",
                "xǁNamespaceǁ_start",
                "xǁNamespaceǁwalk",
                "xǁNamespaceǁ_walk_clean",
                "xǁNamespaceǁwalk_parent",
                "xǁNamespaceǁ_resolve",
                "xǁNamespaceǁ_link_start",
                "x__parent_path",
                "x__join",
            )
        ),
        ("tests/plugins/ns/test_ns_api.py", "tests/plugins/ns/test_ns_walk.py"),
        floor=92.0,  # docs/testing.md: the remembered walk, backed by the general walk
    ),
    # 9P export: confinement to the exported paths and the read-only gate
    "ninep": Area(
        ("plugins/ninep/server.py", "plugins/ninep/nsbackend.py"),
        tuple(
            f"kernkit.plugins.ninep.server.xǁSessionǁ{f}__*"
            for f in (
                "handle",
                "open_fid",
                "_open",
                "_write",
                "walk_fid",
                "_attach",
                "_remove",
                "_clunk",
            )
        )
        + ("kernkit.plugins.ninep.server.x__check_name__*", "kernkit.plugins.ninep.nsbackend.x_confine__*"),
        ("tests/plugins/ninep/test_ninep_server.py",),
        floor=85.5,  # docs/testing.md: error texts the server never sends
    ),
    "futex": Area(
        ("plugins/linux_abi/futex.py",),
        ("kernkit.plugins.linux_abi.futex.*",),
        ("tests/plugins/linux_abi/test_futex.py", "tests/plugins/linux_abi/test_processes.py"),
        floor=95.0,  # docs/testing.md: the inline private wait and wake; wake 3 is killed by timing
    ),
    # the mcp scheduler's core grants
    "mcp": Area(
        ("plugins/mcp/ksched.py",),
        tuple(
            f"kernkit.plugins.mcp.ksched.xǁMcpSchedulerǁ{f}__*"
            for f in (
                "_wanted",
                "_pass",
                "_choose_core",
                "_give",
                "_release",
                "_preempt",
                "_do_preempt",
                "provision",
            )
        ),
        ("tests/plugins/mcp/test_ksched_grants.py", "tests/plugins/mcp/test_mcp_sched.py"),
        floor=94.5,
    ),
    # kernkit matrix --compare
    "matrix": Area(
        ("tools/matrix/history.py",),
        ("kernkit.tools.matrix.history.x_compare__*", "kernkit.tools.matrix.history.x_previous__*"),
        ("tests/tools/test_matrix_history.py",),
    ),
}


def stage(work: Path, area: Area) -> None:
    """The scratch project: the packages under kernkit/, the tests, and mutmut's configuration
    for ``area`` (its files, its tests)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name, directory in PACKAGES.items():
        shutil.copytree(ROOT / directory, work / "kernkit" / name, ignore=ignore)
    for name in ["tests", *ALSO]:
        shutil.copytree(ROOT / name, work / name, ignore=ignore)
    config = {
        "source_paths": ["kernkit"],
        "only_mutate": [f"kernkit/{f}" for f in area.files],
        "also_copy": ALSO,
        # the hypothesis fuzz tests are left out: thousands of random inputs for each mutant
        "pytest_add_cli_args_test_selection": [t for t in area.tests if (ROOT / t).exists()]
        + ["-k", "not fuzz and not random_bytes and not random_syscalls"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:randomly"],
        "timeout_multiplier": 5.0,
    }
    pytest_options = {
        "testpaths": ["tests"],
        "pythonpath": ["tests"],
        "markers": ["slow: slow"],
        "addopts": "-m 'not slow'",
    }
    (work / "pyproject.toml").write_text(
        _toml({"tool": {"mutmut": config, "pytest": {"ini_options": pytest_options}}})
    )


def run_area(work: Path, area: Area, jobs: int, deadline: float) -> tuple[dict[str, int | None], bool, str]:
    """mutmut on ``area`` in ``work`` until done or ``deadline``: (mutant -> exit code, capped, errors)."""
    stage(work, area)
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    env = {k: v for k, v in os.environ.items() if k != "KERNKIT_REQUIRE_PEERS"}
    process = subprocess.Popen(
        [mutmut, "run", "--max-children", str(jobs), *area.functions],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # mutmut forks workers: the cap ends them all
    )
    try:
        _, err = process.communicate(timeout=max(deadline - time.monotonic(), 1))
        capped = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        capped = True
    codes: dict[str, int | None] = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        codes |= json.loads(meta.read_text())["exit_code_by_key"]
    mine = {m: c for m, c in codes.items() if any(fnmatch.fnmatch(m, p) for p in area.functions)}
    return mine, capped, err.decode(errors="replace")


def _toml(data: dict, prefix: str = "") -> str:
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(_toml(value, f"{prefix}{key}."))
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    head = f"[{prefix[:-1]}]\n" if prefix and lines else ""
    return head + "".join(line + "\n" for line in lines) + "\n".join(tables)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--area", action="append", choices=sorted(AREAS), help="only these areas (repeatable)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants tried at once (default 2)")
    parser.add_argument("--cap-minutes", type=float, default=45, help="stop after this long (default 45)")
    parser.add_argument(
        "--min-kill", type=float, help="required kill rate for all areas, percent (default: each its floor)"
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.cap_minutes <= 0:
        parser.error("--jobs and --cap-minutes must be positive")
    areas = {name: AREAS[name] for name in (args.area or AREAS)}
    work = args.keep or Path(tempfile.mkdtemp(prefix="kernkit-mutation-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"mutmut in {work}: {', '.join(areas)} ({args.jobs} at once, at most {args.cap_minutes:g} min)")
        deadline = time.monotonic() + args.cap_minutes * 60
        by_area, capped, errors = {}, False, ""
        for name, area in areas.items():
            started = time.monotonic()
            by_area[name], capped, err = run_area(work / name, area, args.jobs, deadline)
            print(f"  {name}: {time.monotonic() - started:.0f} s", flush=True)
            if not any(code is not None for code in by_area[name].values()):
                errors += f"{name}: mutmut tried no mutant; its output ends:\n{err[-3000:]}\n"
            if capped:
                break
        floors = {name: AREAS[name].floor if args.min_kill is None else args.min_kill for name in by_area}
        return report(by_area, floors, capped, errors)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report(
    by_area: dict[str, dict[str, int | None]], floors: dict[str, float], capped: bool, err: str
) -> int:
    failed = capped
    for name, codes in by_area.items():
        min_kill = floors[name]
        killed = sum(code in KILLED for code in codes.values())
        untried = [m for m, code in codes.items() if code is None]
        survivors = sorted(m for m, code in codes.items() if code is not None and code not in KILLED)
        rate = 100 * killed / len(codes) if codes else 0.0
        ok = codes and rate >= min_kill and not untried
        failed |= not ok
        print(
            f"{name}: {len(codes)} mutants, {killed} killed ({rate:.1f}%), {len(survivors)} survived, "
            f"{len(untried)} not tried{'' if ok else '  <- under ' + format(min_kill, 'g') + '%'}"
        )
        for mutant in survivors:
            print(f"    survived: {mutant} (exit {codes[mutant]})")
    if capped:
        print("the cap ran out before every mutant was tried")
    if err:  # an area whose tests failed before any mutant (mutmut's first, clean run)
        print(err, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
