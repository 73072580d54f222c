"""bench/ninep.py runs and reports every 9P figure (or says why one was skipped)."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT


def test_quick_9p_benchmark_reports_its_figures():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "ninep.py"), "--quick"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == {}
    names = ["export_read_p9fs_mib_s", "export_read_p9fs_9p2000_mib_s", "guest_copy_from_diod_mib_s"]
    for name in names:
        assert (name in report["results"]) != (name in report["skipped"]), name
        if name in report["results"]:
            assert report["results"][name] > 0
    assert set(report["targets"]) == {"export_read_p9fs_mib_s", "guest_copy_from_diod_mib_s"}
