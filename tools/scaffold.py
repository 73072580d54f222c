"""``kernkit new-plugin``: write a ready-to-install plugin package that passes its own tests."""

from __future__ import annotations

import re
from pathlib import Path

from kernkit.core.errors import KernkitError

KINDS = ("scheduler", "syscalls", "device", "arch")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "kernkit-{dashed}"
version = "0.1.0"
description = "{summary}"
requires-python = ">=3.11"
dependencies = ["kernkit"]

# kernkit finds the plugin through this entry point once the package is installed.
[project.entry-points."kernkit.plugins"]
{name} = "kernkit_{name}"

[tool.setuptools]
packages = ["kernkit_{name}"]

[tool.pytest.ini_options]
pythonpath = ["."]
"""

README = """# kernkit-{dashed}

{summary}. A kernkit {kind} plugin, made with `kernkit new-plugin {name} --kind {kind}`.

```sh
pip install -e .          # kernkit then loads it automatically (entry point "kernkit.plugins")
python -m pytest -q       # its tests, with kernkit's `kernel` fixture
kernkit plugins           # lists kernkit_{name} as [entry point]
```

Use it in a kernel config:

```toml
{usage}
```

Edit `kernkit_{name}/__init__.py`; the hooks it may implement are in kernkit's docs/hooks.md.
"""

MODULES = {
    "scheduler": '''"""{name}: a first-come, first-served scheduler (the place to try your own policy)."""

from collections import deque

from kernkit.api import Scheduler, hookimpl

KERNKIT_CONTRACT = ">=2.0,<3"


class Policy:
    """Runs threads in the order they became runnable; never preempts."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.queue = deque()

    def thread_runnable(self, thread):
        if thread not in self.queue:
            self.queue.append(thread)

    def thread_blocked(self, thread):
        self._forget(thread)

    def thread_exited(self, thread):
        self._forget(thread)

    def pick_next(self, core):
        return self.queue.popleft() if self.queue else None

    def tick(self, core, current):
        return False  # True would take ``current`` off ``core`` at the end of this round

    def _forget(self, thread):
        if thread in self.queue:
            self.queue.remove(thread)


@hookimpl
def kernkit_register_schedulers():
    return [Scheduler("{name}", Policy, "first come, first served")]
''',
    "syscalls": '''"""{name}: one new system call for the Linux personality, number 500, which returns 42."""

from kernkit.api import Syscall, SyscallExtension, hookimpl

KERNKIT_CONTRACT = ">=2.0,<3"
ANSWER = 500


def sys_answer(thread):
    """A handler gets the calling thread and its integer arguments; it returns the result."""
    return 42


@hookimpl
def kernkit_register_syscall_extensions():
    return [SyscallExtension("{name}", "linux", (Syscall(ANSWER, "answer", sys_answer, 0),), "syscall 500")]
''',
    "device": '''"""{name}: a device, #{name}, whose file ``count`` counts the bytes written to it.

Bind it where processes can see it, in a kernel config:

    [namespace]
    binds = ["bind -a #cons /dev", "bind -a #{name} /dev", "bind -c #tmpfs /tmp"]

or reach it by name from inside, as ``#{name}/count``. The driver's operations are those of
kernkit.api.DeviceDriver (kernkit's docs/namespace.md describes them).
"""

from kernkit.api import DMDIR, QTDIR, Chan, Device, DeviceDriver, DeviceError, Dir, Qid, hookimpl

KERNKIT_CONTRACT = ">=2.0,<3"
ROOT, COUNT = Qid(0, 0, QTDIR), Qid(1)


class Counter(DeviceDriver):
    """One driver per kernel: a directory with one file, count."""

    def __init__(self, kernel):
        super().__init__(kernel)
        self.written = 0

    def attach(self, spec):
        if spec:
            raise DeviceError("EINVAL", "#{name} takes no spec")
        return Chan(self, ROOT)

    def walk(self, chan, name, *, caller=None):
        return Chan(self, COUNT) if name == "count" else None

    def stat(self, chan, *, caller=None):
        if chan.qid.type & QTDIR:
            return Dir("{name}", ROOT, DMDIR | 0o555)
        return Dir("count", COUNT, 0o666, len(self._text()))

    def dirread(self, chan, *, caller=None):
        return [self.stat(Chan(self, COUNT))]

    def read(self, chan, count, offset, *, caller=None):
        return self._text()[offset : offset + count]

    def write(self, chan, data, offset, *, caller=None):
        self.written += len(data)
        return len(data)

    def _text(self):
        return f"{{self.written}}\\n".encode()


@hookimpl
def kernkit_register_devices():
    return [Device("{name}", Counter, "counts bytes written")]
''',
    "arch": '''"""{name}: an architecture; today the x86-64 machine under a new name, to change at will."""

from kernkit.api import Architecture, hookimpl

KERNKIT_CONTRACT = ">=2.0,<3"
EM_X86_64 = 62


def create_machine(kernel):
    """Build the machine from kernel.config["machine"]; for now, the x86_64 architecture's own."""
    return kernel.registries["architecture"]["x86_64"].record.create_machine(kernel)


@hookimpl
def kernkit_register_architectures():
    return [Architecture("{name}", {{"elf": EM_X86_64}}, create_machine, "x86-64 under another name")]
''',
}

TESTS = {
    "scheduler": """def test_hello_runs_under_{name}(kernel):
    run = kernel("hello", kernel__plugins=["kernkit_{name}"], sched__policy="{name}")
    assert run.status == 0
    assert run.out == "Hello from kernkit!\\n"
""",
    "syscalls": """def test_syscall_500_answers_42(kernel):
    # sysfuzz (a program packaged with kernkit) issues the calls it reads: "NR A0 ... A5" in hex
    run = kernel("sysfuzz", kernel__plugins=["kernkit_{name}"], stdin=b"1f4 0 0 0 0 0 0\\n27 0 0 0 0 0 0\\n")
    assert run.out.splitlines()[:2] == ["1f4 -> 42", "27 -> 1"]
""",
    "device": """def test_device_counts_what_is_written(kernel):
    # run (a program packaged with kernkit) runs each argument as a command; echo and cat too
    run = kernel("run", "echo kernkit > #{name}/count", "cat #{name}/count",
                 kernel__plugins=["kernkit_{name}"])
    assert run.status == 0, run.err
    assert run.out == "8\\n"
""",
    "arch": """def test_hello_boots_on_{name}(kernel):
    run = kernel("hello", kernel__plugins=["kernkit_{name}"], machine__arch="{name}")
    assert run.status == 0
    assert run.out == "Hello from kernkit!\\n"
""",
}

USAGE = {
    "scheduler": (
        '[kernel]\nplugins = ["kernkit_{name}"]   # not needed once installed\n\n[sched]\npolicy = "{name}"'
    ),
    "syscalls": "# nothing: once installed, it adds its call to the linux personality",
    "device": '[namespace]\nbinds = ["bind -a #cons /dev", "bind -a #{name} /dev", "bind -c #tmpfs /tmp"]',
    "arch": '[machine]\narch = "{name}"',
}

SUMMARIES = {
    "scheduler": "A first-come, first-served scheduler for kernkit",
    "syscalls": "A new system call for the Linux personality",
    "device": "A byte-counting device for kernkit",
    "arch": "An architecture for kernkit",
}


def new_plugin(name: str, kind: str, directory: Path) -> Path:
    """Write the package ``kernkit-NAME`` under ``directory``; returns its path."""
    if not _NAME.match(name):
        raise KernkitError(
            f"plugin name {name!r}: use lower-case letters, digits and _, starting with a letter"
        )
    if kind not in KINDS:
        raise KernkitError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    taken = _registered_names(kind)
    if name in taken:
        raise KernkitError(
            f"plugin name {name!r}: a {kind} of that name is already registered (by "
            f"{taken[name]}); pick another"
        )
    dashed = name.replace("_", "-")
    root = directory / f"kernkit-{dashed}"
    if root.exists():
        raise KernkitError(f"{root}: already exists")
    if not directory.is_dir():
        raise KernkitError(f"--dir {directory}: not a directory")
    fields = {"name": name, "dashed": dashed, "kind": kind, "summary": SUMMARIES[kind]}
    fields["usage"] = USAGE[kind].format(**fields)
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"kernkit_{name}/__init__.py": MODULES[kind],
        f"tests/test_{name}.py": TESTS[kind],
    }
    try:
        for relative, template in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**fields))
    except OSError as exc:
        raise KernkitError(f"{root}: cannot write: {exc.strerror}") from None
    return root


def _registered_names(kind: str) -> dict[str, str]:
    """Names already taken among the records the new plugin would register (name -> plugin)."""
    from kernkit.core.assemble import collect_registries
    from kernkit.core.plugins import PluginManager

    registry = {
        "scheduler": "scheduler",
        "syscalls": "syscall extension",
        "device": "device",
        "arch": "architecture",
    }[kind]
    return {name: reg.plugin for name, reg in collect_registries(PluginManager())[registry].items()}
