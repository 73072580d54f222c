"""9P side by side with diod: the same C clients (diodcat, diodls) against kernkit's export and
against diod exporting a host directory with the same files, runs interleaved, medians.

Used by bench/ninep.py; figures:

- small files: ``diodcat`` of 1,000 small files in one session (walk, open, read to end of
  file, clunk each), files per second of the client's wall time;
- listings: ``diodls -l`` of that directory (a readdir, then a walk and getattr of each entry)
  and a plain ``diodls`` (the readdir alone), listings per second (LISTINGS runs a sample);
- bulk reads: ``diodcat -m MSIZE`` of a 64 MiB file, MiB/s, for each msize in MSIZES (diod
  offers at most 64 KiB: a client asking for more gets 64 KiB).

The clients write into a file, not a pipe. ``server_cpu`` holds each server's CPU time (from
/proc, its process alone, in clock ticks) per small file, per listing and per MiB read, medians
of the samples: steadier than the rates on a shared host, coarse for the listings.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
SMALL_FILES = 1000
#: diodls runs in one sample of the listing figures
LISTINGS = 5
MSIZES = (8 << 10, 64 << 10, 512 << 10)


def small_payload(index: int) -> bytes:
    return f"file {index:05d} of the small-file benchmark\n".encode()


def small_names() -> list[str]:
    return [f"small/f{i:05d}" for i in range(SMALL_FILES)]


def cpu_seconds(pid: int) -> float:
    """CPU time of the process, its ended threads included (diod serves each connection on a
    thread of its own, gone when the client is); in clock ticks, so figures sum several runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed (apt-get install diod)")
    return path


class Served:
    """A running 9P server: its address, the aname of the tree holding the files, its pid."""

    def __init__(self, name: str, proc: subprocess.Popen, port: int, aname: str) -> None:
        self.name, self.proc, self.port, self.aname = name, proc, port, aname

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(
        self, *args: str, program: str = "diodcat", msize: int | None = None
    ) -> tuple[float, float, bytes]:
        """Run ``program -s ADDR -a ANAME ARGS``: (wall seconds, server CPU seconds, output)."""
        command = [tool(program), "-s", self.address, "-a", self.aname]
        if msize is not None:
            command += ["-m", str(msize)]
        with tempfile.TemporaryFile() as sink:  # a file, not a pipe the bench must drain meanwhile
            cpu = cpu_seconds(self.proc.pid)
            start = time.perf_counter()
            run = subprocess.run([*command, *args], stdout=sink, stderr=subprocess.PIPE, timeout=300, cwd="/")
            wall = time.perf_counter() - start
            cpu = cpu_seconds(self.proc.pid) - cpu
            if run.returncode != 0:
                raise RuntimeError(
                    f"{program} against {self.name} failed: {run.stderr.decode().strip()[-300:]}"
                )
            sink.seek(0)
            output = sink.read()
        return wall, cpu, output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def diod_server(big: bytes) -> Iterator[Served]:
    with tempfile.TemporaryDirectory() as scratch:
        served = Path(scratch) / "served"
        (served / "small").mkdir(parents=True)
        for index, name in enumerate(small_names()):
            (served / name).write_bytes(small_payload(index))
        (served / "big.bin").write_bytes(big)
        port = free_port()
        proc = subprocess.Popen(
            [tool("diod"), "-f", "-n", "-l", f"127.0.0.1:{port}", "-e", str(served)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            yield Served("diod", proc, port, str(served))
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def export_process(*settings: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """``kernkit boot configs/export.toml`` on a free loopback port with ``--set`` SETTINGS:
    (the process, its port); stopped with SIGINT at the end."""
    command = [sys.executable, "-m", "kernkit.tools.cli", "boot", str(ROOT / "configs" / "export.toml")]
    for setting in ("export9p.listen=127.0.0.1:0", *settings):
        command += ["--set", setting]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        line = proc.stderr.readline().decode()
        match = re.search(r"9P export on 127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError(f"the export did not start: {line.strip()}")
        yield proc, int(match.group(1))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def kernkit_export(big: bytes, msize: int) -> Iterator[Served]:
    """``kernkit boot configs/export.toml`` (its /tmp is #tmpfs), the files written into /tmp
    over 9P before anything is measured."""
    sys.path.insert(0, str(ROOT))
    from kernkit.plugins.ninep.client import Client

    memory = max(256, 4 * len(big) // MIB)
    settings = (f"export9p.msize={msize}", f"machine.memory={memory}M", f"namespace.tmpfs_size={memory}M")
    with export_process(*settings) as (proc, port):
        client = Client.connect("127.0.0.1", port, msize=msize)
        root, _ = client.attach("/tmp")
        client.mkdir(root, "small", 0o755)
        files = [(name, small_payload(i)) for i, name in enumerate(small_names())] + [("big.bin", big)]
        for name, data in files:
            parent, _ = client.walk(root, name.split("/")[:-1])
            client.create(parent, name.split("/")[-1], 0o644, os.O_WRONLY)
            for offset in range(0, len(data), client.iounit):
                client.write(parent, offset, data[offset : offset + client.iounit])
            client.clunk(parent)
        client.close()
        yield Served("kernkit", proc, port, "/tmp")


def interleaved(
    servers: list[Served], repeat: int, measure: Callable[[Served], tuple[float, float]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(rates, server CPU seconds) of each server's runs, the servers taking turns."""
    rates: dict[str, list[float]] = {s.name: [] for s in servers}
    cpus: dict[str, list[float]] = {s.name: [] for s in servers}
    for _ in range(repeat):
        for server in servers:
            rate, cpu = measure(server)
            rates[server.name].append(rate)
            cpus[server.name].append(cpu)
    return rates, cpus


def peer_figures(repeat: int, big_mib: int, log: Callable[[str], None]) -> tuple[dict, dict]:
    """(figures, samples): each figure {kernkit, diod, ratio} of medians, with the servers' CPU
    time per unit of work under ``server_cpu``; samples the raw runs."""
    big = os.urandom(big_mib * MIB)
    figures: dict = {"server_cpu": {}}
    samples: dict = {}
    names = small_names()
    expected = b"".join(small_payload(i) for i in range(SMALL_FILES))
    with diod_server(big) as diod, kernkit_export(big, max(MSIZES)) as kernkit:
        servers = [kernkit, diod]

        def small(server: Served) -> tuple[float, float]:
            wall, cpu, out = server.client(*names)
            if out != expected:
                raise RuntimeError(f"diodcat read wrong bytes from {server.name}")
            return SMALL_FILES / wall, cpu

        def listing(long: bool) -> Callable[[Served], tuple[float, float]]:
            def run(server: Served) -> tuple[float, float]:
                walls = cpus = 0.0
                for _ in range(LISTINGS):
                    wall, cpu, out = server.client(*(["-l"] if long else []), "small", program="diodls")
                    if len(out.splitlines()) < SMALL_FILES:
                        raise RuntimeError(f"diodls listed {len(out.splitlines())} entries of {server.name}")
                    walls, cpus = walls + wall, cpus + cpu
                return LISTINGS / walls, cpus / LISTINGS

            return run

        def bulk(msize: int) -> Callable[[Served], tuple[float, float]]:
            def run(server: Served) -> tuple[float, float]:
                wall, cpu, out = server.client("big.bin", msize=msize)
                if out != big:
                    raise RuntimeError(
                        f"diodcat read {len(out)} bytes of big.bin from {server.name}, not the file"
                    )
                return len(big) / MIB / wall, cpu

            return run

        def cpu_per(key: str, cpus: dict[str, list[float]], unit: float, name: str) -> None:
            figures["server_cpu"][f"{key}_{name}"] = {
                server: round(statistics.median(values) / unit, 1) for server, values in cpus.items()
            }

        log(f"9P small files: diodcat of {SMALL_FILES} files, kernkit and diod interleaved")
        rates, cpus = interleaved(servers, repeat, small)
        record(figures, samples, "small_files_per_s", rates)
        cpu_per("small_file", cpus, SMALL_FILES / 1e6, "us")
        log("9P listings: diodls -l and diodls")
        for key, long in (("listings_long_per_s", True), ("listings_per_s", False)):
            rates, cpus = interleaved(servers, repeat, listing(long))
            record(figures, samples, key, rates)
            cpu_per(key.replace("_per_s", ""), cpus, 1e-3, "ms")
        for msize in MSIZES:
            log(f"9P bulk reads: diodcat -m {msize} of {big_mib} MiB")
            key = f"bulk_read_mib_s_msize_{msize // 1024}k"
            rates, cpus = interleaved(servers, repeat, bulk(msize))
            record(figures, samples, key, rates)
            cpu_per(f"bulk_read_msize_{msize // 1024}k", cpus, big_mib * 1e-3, "ms_per_mib")
    return figures, samples


def record(figures: dict, samples: dict, key: str, runs: dict[str, list[float]]) -> None:
    samples[key] = {name: [round(v, 2) for v in values] for name, values in runs.items()}
    medians = {name: statistics.median(values) for name, values in runs.items()}
    figures[key] = {name: round(value, 1) for name, value in medians.items()}
    figures[key]["ratio"] = round(medians["kernkit"] / medians["diod"], 2)
