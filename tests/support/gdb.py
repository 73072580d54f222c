"""Running ``kernkit boot --gdb`` in a subprocess and talking to it (real gdb or a Python client)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernkit.core.programs import packaged_programs_dir
from kernkit.plugins.gdb.client import GdbClient

ROOT = Path(__file__).resolve().parents[2]
USER_BIN = packaged_programs_dir()

GDB = shutil.which("gdb")
needs_gdb = pytest.mark.skipif(GDB is None, reason="gdb not found (apt-get install gdb)")
DEMO = USER_BIN / "gdbdemo"
WAITING = re.compile(rb"gdb: waiting on ([\d.]+):(\d+)")


class Guest:
    """``kernkit boot --gdb 127.0.0.1:0 [options] -- PROGRAM ARGS``, waiting for a debugger."""

    def __init__(self, tmp_path: Path, *program: str, options: tuple[str, ...] = ()) -> None:
        self.err_path = tmp_path / "kernkit.err"
        self.out_path = tmp_path / "kernkit.out"
        with open(self.err_path, "wb") as err, open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kernkit.tools.cli",
                    "boot",
                    "--gdb",
                    "127.0.0.1:0",
                    *options,
                    "--",
                    *program,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=ROOT,
                env=os.environ.copy(),
            )
        deadline = time.monotonic() + 60
        while True:
            found = WAITING.search(self.err_path.read_bytes())
            if found:
                self.host, self.port = found.group(1).decode(), int(found.group(2))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"kernkit did not wait for gdb: {self.err_path.read_text()}")
            time.sleep(0.02)

    def client(self) -> GdbClient:
        return GdbClient(self.host, self.port)

    def gdb(self, *commands: str, program: Path | None = DEMO, timeout: float = 120) -> str:
        """Run Debian's gdb in batch mode: connect, then ``commands``; its whole output."""
        args = [GDB, "-batch", "-nx", "-ex", "set confirm off", "-ex", f"directory {ROOT / 'user'}"]
        if program is not None:
            args.insert(3, str(program))
        args += ["-ex", f"target remote {self.host}:{self.port}"]
        for command in commands:
            args += ["-ex", command]
        result = subprocess.run(args, capture_output=True, timeout=timeout, cwd=ROOT)
        return result.stdout.decode() + result.stderr.decode()

    def wait(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout=timeout)

    @property
    def err(self) -> str:
        return self.err_path.read_text()

    @property
    def out(self) -> str:
        return self.out_path.read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def symbol(name: str, program: Path = DEMO) -> int:
    """The address of function ``name`` in ``program`` (from its ELF symbol table)."""
    from elftools.elf.elffile import ELFFile

    with open(program, "rb") as f:
        [sym] = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)
        return sym["st_value"]
