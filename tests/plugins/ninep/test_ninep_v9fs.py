"""The most complete 9P client there is, Linux's v9fs, against the kit's export: a Debian kernel
in qemu (TCG) mounts the export, lists, reads and writes it (slow: boots a Linux guest each)."""

from __future__ import annotations

import hashlib
import re

import pytest
from support import ROOT
from support.ninep import LiveKernel
from support.v9fs_guest import DONE, run_guest

pytest.importorskip("kernkit.plugins.ns", reason="the export serves the namespace plugin's tree")
pytestmark = pytest.mark.slow

EXPORT = ROOT / "configs" / "export.toml"

SCRIPT = """
echo "== top"; ls /mnt
echo "== proc"; ls /mnt/proc
echo "== status"; cat /mnt/proc/1/status
echo "== write"; echo "written by linux" > /mnt/tmp/from-linux && cat /mnt/tmp/from-linux
echo "== big"; dd if=/dev/urandom of=/mnt/tmp/big bs=65536 count=24 2>/dev/null; md5sum /mnt/tmp/big
ls -l /mnt/tmp/big
echo "== dirs"; mkdir /mnt/tmp/d && mv /mnt/tmp/from-linux /mnt/tmp/d/moved && ls /mnt/tmp/d
echo "== remove"; rm /mnt/tmp/d/moved && rmdir /mnt/tmp/d && ls /mnt/tmp
echo "== append"; echo one > /mnt/tmp/log; echo two >> /mnt/tmp/log; cat /mnt/tmp/log
echo "== end"
"""


def section(out: str, name: str) -> str:
    return out.split(f"== {name}\n", 1)[1].split("== ", 1)[0]


@pytest.mark.parametrize("version", ["9p2000.L", "9p2000"])
def test_linux_mounts_lists_reads_and_writes_the_export(version, tmp_path):
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0")
    try:
        out = run_guest(live.port, SCRIPT, tmp_path, options=f"version={version},msize=65536")
    finally:
        assert live.stop() == 0
    assert DONE in out, out[-3000:]
    assert "== mounted" in out and "== unmounted" in out, out[-3000:]
    assert section(out, "top").split() == ["proc", "tmp"]
    assert "1" in section(out, "proc").split()
    assert "name idle" in section(out, "status")
    assert section(out, "write") == "written by linux\n"
    digest = section(out, "big").split()[0]
    assert re.search(r" 1572864 .* /mnt/tmp/big", section(out, "big"))
    assert section(out, "dirs").split() == ["moved"]
    assert "d" not in section(out, "remove").split()
    assert section(out, "append") == "one\ntwo\n"
    # what Linux wrote is in the namespace the kit's own processes see
    from kernkit.plugins.ns.api import boot_namespace

    namespace = boot_namespace(live.kernel)
    chan = namespace.open(namespace.walk("/tmp/big"), 0)
    assert hashlib.md5(chan.driver.read(chan, 1 << 21, 0)).hexdigest() == digest


def test_linux_cannot_change_a_read_only_export(tmp_path):
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0", export9p__writable=False)
    script = """
echo "== write"; echo x > /mnt/tmp/nope 2>&1 || echo refused
echo "== read"; cat /mnt/proc/1/status
echo "== end"
"""
    try:
        out = run_guest(live.port, script, tmp_path)
        assert DONE in out, out[-3000:]
        assert "refused" in section(out, "write")
        assert "name idle" in section(out, "read")
    finally:
        live.stop()
