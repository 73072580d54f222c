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
    own = {"export_read_p9fs_mib_s", "guest_copy_from_diod_mib_s"}
    if "peers" in report["skipped"]:  # diod absent
        assert set(report["targets"]) == own
        return
    peers = report["peers"]
    for key in ("small_files_per_s", "listings_per_s", "listings_long_per_s", "bulk_read_mib_s_msize_512k"):
        assert peers[key]["kernkit"] > 0 and peers[key]["diod"] > 0, key
        assert report["targets"][f"{key}_vs_diod"]["value"] == peers[key]["ratio"]
    assert set(report["targets"]) >= own | {"bulk_read_grows_with_msize"}
