"""9P benchmarks: the export side by side with diod (the same C clients, diodcat and diodls, small
files, listings and bulk reads at each msize), the export read by p9fs on loopback, and a guest
copying through a diod mount.

Prints one JSON object on stdout; progress goes to stderr. Each figure is the median of
``--repeat`` repetitions. Missing peers are reported under "skipped"; missed targets are
reported, not judged (exit status 0 unless a measurement itself failed: then 1).

    python bench/ninep.py                       # 16 MiB files, 3 repetitions
    python bench/ninep.py --quick               # 4 MiB, 1 repetition
    python bench/ninep.py --p9fs-python /path/to/venv/bin/python
    python bench/ninep.py --peers-only          # only the figures against diod
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
TARGETS = {"export_read_p9fs_mib_s": 50.0, "guest_copy_from_diod_mib_s": 20.0}
#: kernkit over diod, same client, same run (bulk reads: at every msize).
PEER_TARGETS = {"small_files_per_s": 0.8, "listings_long_per_s": 0.8, "listings_per_s": 0.8, "bulk_read": 1.0}
NOTES = {
    "export_read_p9fs_mib_s": "p9fs (9P2000.L, its default msize 8192) reads a file the export "
    "serves from #tmpfs, kernkit boot configs/export.toml on 127.0.0.1; MiB / seconds of fs.cat",
    "export_read_p9fs_9p2000_mib_s": "the same with 9P2000",
    "guest_copy_from_diod_mib_s": "the guest program cp (64 KiB reads) copies a file from a diod "
    "mount ([[mount9p]], 9P2000.L, msize 64 KiB) to a new file on the same mount; MiB / seconds "
    "of kernel.run(); the copy is checked byte for byte",
    "peers": "bench/ninep_peers.py: the same C clients (diodcat, diodls from the diod package) "
    "against kernkit boot configs/export.toml (files in its #tmpfs /tmp, export msize 512K) and "
    "against diod -e of a host directory with the same files; runs interleaved, medians; each "
    "figure {kernkit, diod, ratio}",
}

P9FS_READ = textwrap.dedent(
    """
    import json, sys, time
    from p9fs import P9FileSystem
    port, version, size, repeat = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fs = P9FileSystem("127.0.0.1", port, "nobody", version=version)
    name = "tmp/bench-" + version
    payload = bytes(range(256)) * (size // 256)
    with fs.open(name, "wb") as f:
        f.write(payload)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        data = fs.cat(name)
        times.append(time.perf_counter() - start)
        assert data == payload, "read back differs"
    fs.rm(name)
    print(json.dumps({"times": times, "msize": fs.client.msize}))
    """
)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def find_p9fs_python(given: str | None) -> str | None:
    for candidate in (
        given,
        os.environ.get("KERNKIT_P9FS_PYTHON"),
        str(Path(sys.prefix).parent / "p9fs-venv" / "bin" / "python"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def export_read(p9fs_python: str, version: str, size: int, repeat: int) -> tuple[list[float], int]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ninep_peers import export_process

    with export_process() as (_, port):
        result = subprocess.run(
            [p9fs_python, "-c", P9FS_READ, str(port), version, str(size), str(repeat)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise RuntimeError(f"p9fs failed: {result.stderr.strip().splitlines()[-1:]}")
        answer = json.loads(result.stdout)
        return answer["times"], answer["msize"]


def guest_copy(size: int, repeat: int) -> list[float]:
    diod = shutil.which("diod") or "/usr/sbin/diod"
    if not Path(diod).exists():
        raise FileNotFoundError("diod is not installed (apt-get install diod)")
    from kernkit.core.assemble import assemble, boot

    times = []
    with tempfile.TemporaryDirectory() as scratch:
        served = Path(scratch) / "served"
        served.mkdir()
        payload = os.urandom(size)
        (served / "source.bin").write_bytes(payload)
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [diod, "-f", "-n", "-l", f"127.0.0.1:{port}", "-e", str(served)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            config = Path(scratch) / "copy.toml"
            config.write_text(
                textwrap.dedent(f"""
                [[mount9p]]
                addr = "127.0.0.1:{port}"
                at = "/n/diod"
                aname = "{served}"
                msize = "64K"

                [init]
                program = "cp"
                args = ["/n/diod/source.bin", "/n/diod/copy.bin"]
                """)
            )
            for _ in range(repeat):
                out, err = io.BytesIO(), io.BytesIO()
                kernel = assemble(config, stdout=out, stderr=err)
                boot(kernel)
                start = time.perf_counter()
                status = kernel.run()
                times.append(time.perf_counter() - start)
                if status != 0:
                    raise RuntimeError(f"cp exited {status}: {err.getvalue().decode(errors='replace')}")
                copied = (served / "copy.bin").read_bytes()
                if hashlib.sha256(copied).digest() != hashlib.sha256(payload).digest():
                    raise RuntimeError("the copy differs from the source")
                (served / "copy.bin").unlink()
        finally:
            server.terminate()
            server.wait(timeout=10)
    return times


def peers(report: dict, repeat: int, big_mib: int) -> None:
    """Figures against diod (bench/ninep_peers.py) into ``report``, judged against PEER_TARGETS."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import ninep_peers

    try:
        figures, samples = ninep_peers.peer_figures(repeat, big_mib, log)
    except FileNotFoundError as exc:
        report["skipped"]["peers"] = str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - reported, the other figures go on
        report["errors"]["peers"] = str(exc)
        return
    report["peers"] = figures
    report["samples"]["peers"] = samples
    report["parameters"]["peers"] = {
        "small_files": ninep_peers.SMALL_FILES,
        "big_mib": big_mib,
        "repeat": repeat,
    }
    for key, figure in figures.items():
        if "ratio" not in figure:
            continue
        threshold = PEER_TARGETS["bulk_read" if key.startswith("bulk_read") else key]
        report["targets"][f"{key}_vs_diod"] = {
            "value": figure["ratio"],
            "at_least": threshold,
            "met": figure["ratio"] >= threshold,
        }
    bulk = sorted(
        (int(k.rsplit("_", 1)[1][:-1]), v["kernkit"]) for k, v in figures.items() if k.startswith("bulk_read")
    )
    rates = [rate for _, rate in bulk]
    report["targets"]["bulk_read_grows_with_msize"] = {
        "value": rates,
        "met": all(a <= b for a, b in zip(rates, rates[1:], strict=False)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 MiB files, one repetition")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per figure (default 3)")
    parser.add_argument("--size-mib", type=int, default=16, help="file size in MiB (default 16)")
    parser.add_argument("--p9fs-python", help="python of a venv with p9fs (default: KERNKIT_P9FS_PYTHON)")
    parser.add_argument("--peers-only", action="store_true", help="only the figures against diod")
    args = parser.parse_args(argv)
    size = (4 if args.quick else args.size_mib) * MIB
    repeat = 1 if args.quick else max(1, args.repeat)
    report: dict = {
        "results": {},
        "targets": {},
        "skipped": {},
        "errors": {},
        "samples": {},
        "notes": NOTES,
        "parameters": {"size_bytes": size, "repeat": repeat},
    }
    started = time.perf_counter()
    peers(report, repeat=1 if args.quick else max(3, repeat), big_mib=16 if args.quick else 64)
    if args.peers_only:
        report["elapsed_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(report, indent=2))
        return 1 if report["errors"] else 0

    p9fs = find_p9fs_python(args.p9fs_python)
    for key, version in (("export_read_p9fs_mib_s", "9P2000.L"), ("export_read_p9fs_9p2000_mib_s", "9P2000")):
        if p9fs is None:
            report["skipped"][key] = "p9fs not found: pass --p9fs-python or set KERNKIT_P9FS_PYTHON"
            continue
        log(f"p9fs reads {size // MIB} MiB from the export ({version})")
        try:
            times, msize = export_read(p9fs, version, size, repeat)
        except Exception as exc:  # noqa: BLE001 - reported, the other figures go on
            report["errors"][key] = str(exc)
            continue
        report["samples"][key] = times
        report["results"][key] = round(size / MIB / statistics.median(times), 1)
        report["parameters"][f"{key}_msize"] = msize

    key = "guest_copy_from_diod_mib_s"
    log(f"a guest copies {size // MIB} MiB through a diod mount")
    try:
        times = guest_copy(size, repeat)
        report["samples"][key] = times
        report["results"][key] = round(size / MIB / statistics.median(times), 1)
    except FileNotFoundError as exc:
        report["skipped"][key] = str(exc)
    except Exception as exc:  # noqa: BLE001
        report["errors"][key] = str(exc)

    for name, threshold in TARGETS.items():
        value = report["results"].get(name)
        report["targets"][name] = {
            "value": value,
            "at_least": threshold,
            "met": None if value is None else value >= threshold,
        }
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
