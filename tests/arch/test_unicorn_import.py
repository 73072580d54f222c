"""unicorn imported without importlib.resources loads the same library, and leaves the real
importlib.resources importable afterwards."""

from __future__ import annotations

import subprocess
import sys

PLAIN = "import unicorn\nfrom unicorn.unicorn_py3.unicorn import uclib\nprint(uclib._name)\n"
QUICK = (
    "import sys\n"
    "from kernkit.arch.x86_64.unicornload import import_unicorn\n"
    "import_unicorn()\n"
    "from unicorn.unicorn_py3.unicorn import uclib\n"
    "print(uclib._name)\n"
    "print('importlib.resources' in sys.modules, 'tempfile' in sys.modules)\n"
    "import importlib.resources\n"
    "print(importlib.resources.files('unicorn') / 'lib')\n"
    "from unicorn import Uc, UC_ARCH_X86, UC_MODE_64\n"
    "uc = Uc(UC_ARCH_X86, UC_MODE_64)\n"
    "uc.mem_map(0x1000, 0x1000)\n"
    "uc.mem_write(0x1000, b'\\x48\\xff\\xc0')\n"  # inc rax
    "uc.emu_start(0x1000, 0x1003)\n"
    "print(uc.reg_read(35))\n"  # UC_X86_REG_RAX
)


def run(script: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


def test_the_quick_import_loads_the_library_a_plain_import_loads_and_it_runs_code():
    [plain] = run(PLAIN)
    library, modules, resources, rax = run(QUICK)
    assert library == plain
    assert modules == "False False"
    assert f"{resources}/libunicorn.so.2" == plain
    assert rax == "1"
