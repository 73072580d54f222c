"""Plugins: listing, loading from configs and entry points, and every way a plugin can be wrong."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import attrs
import pytest
from support import ROOT, add_module, config_with_plugins, kernkit_cli, one_line_error, run_kernel

from kernkit.core.assemble import collect_registries, resolve_config
from kernkit.core.builtin_plugins import BUILTIN_PLUGINS, DISABLE_AUTOLOAD_ENV
from kernkit.core.errors import PluginError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.plugins import PluginManager
from kernkit.core.records import (
    Architecture,
    BinaryFormat,
    BootStep,
    ConfigSection,
    Device,
    ProcFile,
    Scheduler,
    Syscall,
    SyscallTable,
)

KERNKIT_VERSION = importlib.metadata.version("kernkit")

#: A scheduler that runs threads first come, first served (never preempts).
FIFO_SOURCE = """
from collections import deque

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Scheduler


class Fifo:
    def __init__(self, kernel):
        self.kernel = kernel
        self.queue = deque()
        self.picks = 0

    def thread_runnable(self, thread):
        if thread not in self.queue:
            self.queue.append(thread)

    def thread_blocked(self, thread):
        if thread in self.queue:
            self.queue.remove(thread)

    def thread_exited(self, thread):
        self.thread_blocked(thread)

    def pick_next(self, core):
        if not self.queue:
            return None
        self.picks += 1
        return self.queue.popleft()

    def tick(self, core, current):
        return False


@hookimpl
def kernkit_register_schedulers():
    return [Scheduler("{name}", Fifo, "first come, first served")]
"""

DUPLICATE_RR = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Scheduler


@hookimpl
def kernkit_register_schedulers():
    return [Scheduler("rr", lambda kernel: None, "an impostor")]
"""


# --- kernkit plugins ------------------------------------------------------------------------


def test_plugins_lists_builtins_with_version_source_hooks_and_registries():
    proc = kernkit_cli("plugins", env={DISABLE_AUTOLOAD_ENV: "1"})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    lines = proc.stdout.decode().splitlines()
    hooks = {
        "kernkit.core.coreplugin": "boot_steps, config_sections, register_monitor_commands, register_trace_styles",
        "kernkit.arch.x86_64": "register_architectures",
        "kernkit.plugins.elf": "declare_plugin, register_binary_formats",
        "kernkit.plugins.script": "declare_plugin, register_binary_formats",
        "kernkit.plugins.linux_abi": "config_sections, declare_plugin, process_created, process_exited, "
        "register_syscall_tables",
        "kernkit.plugins.console": "boot_steps, config_sections, declare_plugin, poll, register_devices, shutdown",
        "kernkit.plugins.ns": "boot_steps, config_sections, process_created, register_devices, "
        "register_proc_files",
        "kernkit.plugins.linuxproc": "declare_plugin, process_created, register_devices",
        "kernkit.plugins.akaros_abi": "declare_plugin, register_monitor_commands, register_proc_files, "
        "register_syscall_tables, register_trace_styles",
        "kernkit.plugins.rr": "config_sections, register_schedulers",
        "kernkit.plugins.mcp": "config_sections, register_schedulers, register_trace_styles",
        "kernkit.plugins.ninep": "boot_steps, config_sections, declare_plugin, register_devices, shutdown",
        "kernkit.plugins.vmm": "config_sections, declare_plugin, finalize_context, process_exited, register_proc_files, "
        "register_syscall_extensions",
        "kernkit.plugins.strace": "process_exited, register_proc_files",
        "kernkit.plugins.net": "boot_steps, config_sections, declare_plugin, register_devices, "
        "register_syscall_extensions, shutdown",
        "kernkit.plugins.ether": "boot_steps, config_sections, declare_plugin, register_devices, shutdown",
        "kernkit.plugins.gdb": "boot_steps, config_sections",
        "kernkit.plugins.costs": "config_sections, declare_plugin, kernel_costs",
    }
    assert set(hooks) == set(BUILTIN_PLUGINS.values())
    for name in BUILTIN_PLUGINS.values():
        at = lines.index(f"{name} {KERNKIT_VERSION} [builtin]")
        assert lines[at + 1] == f"    hooks: {hooks[name]}"
    for registry in [
        "architectures: x86_64 (x86_64)",
        "syscall tables: linux (linux_abi), akaros (akaros_abi)",
        "schedulers: rr (rr), mcp (mcp)",
        "devices: proc (ns), srv (ns), pipe (ns), root (ns), tmpfs (ns), random (ns), version (ns), "
        "cons (console), linuxproc (linuxproc), linuxdev (linuxproc), mnt (ninep), ip (net), unix (net), netlink (net), ether (ether)",
        "proc files: args (ns), ctl (ns), fd (ns), ns (ns), status (ns), mcp (akaros_abi), vmexits (vmm), "
        "strace (strace)",
        "syscall extensions: vmm (vmm), sockets (net)",
        "binary formats: elf64 (elf), script (script)",
        "monitor commands: ps (coreplugin), bt (coreplugin), regs (coreplugin), mem (coreplugin), "
        "cores (coreplugin), kmsgs (coreplugin), trace (coreplugin), vcores (akaros_abi)",
        "boot steps: init (coreplugin), namespace (ns), console (console), mount9p (ninep), export9p (ninep), "
        "net (net), ether (ether), gdb (gdb)",
    ]:
        assert registry in lines


def test_plugins_with_config_shows_config_plugins(tmp_path, plugin_dir):
    name = add_module(plugin_dir, FIFO_SOURCE.replace("{name}", "fifo_cfg"))
    config = config_with_plugins(tmp_path / "c.toml", [name])
    proc = kernkit_cli("plugins", "--config", str(config), env={"PYTHONPATH": str(plugin_dir)})
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    at = lines.index(f"{name} unknown [config]")
    assert lines[at + 1] == "    hooks: register_schedulers"
    schedulers = next(line for line in lines if line.startswith("schedulers: "))
    assert f"fifo_cfg ({name})" in schedulers and "rr (rr)" in schedulers


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_scheduler_names_both_plugins(tmp_path, plugin_dir):
    name = add_module(plugin_dir, DUPLICATE_RR)
    config = config_with_plugins(tmp_path / "c.toml", [name])
    config_obj, plugins = resolve_config(config)
    with pytest.raises(PluginError) as info:
        collect_registries(plugins)
    message = str(info.value)
    assert message.startswith("scheduler 'rr' is registered by both ")
    assert "'kernkit.plugins.rr'" in message and f"'{name}'" in message


def test_duplicate_scheduler_through_the_cli(tmp_path, plugin_dir):
    name = add_module(plugin_dir, DUPLICATE_RR)
    config = config_with_plugins(tmp_path / "c.toml", [name])
    for command in (["check", str(config)], ["boot", str(config)], ["plugins", "--config", str(config)]):
        message = one_line_error(kernkit_cli(*command, env={"PYTHONPATH": str(plugin_dir)}))
        assert message.startswith("scheduler 'rr' is registered by both ")
        assert "'kernkit.plugins.rr'" in message and f"'{name}'" in message


def test_registrations_are_collected_in_registration_order(tmp_path, plugin_dir):
    device = """
    from kernkit.core.hookspecs import hookimpl
    from kernkit.core.records import Device

    @hookimpl
    def kernkit_register_devices():
        return [Device("{dev}", lambda kernel: None)]
    """
    first = add_module(plugin_dir, device.replace("{dev}", "first"))
    second = add_module(plugin_dir, device.replace("{dev}", "second"))
    _, plugins = resolve_config(config_with_plugins(tmp_path / "c.toml", [first, second]))
    devices = list(collect_registries(plugins)["device"])
    assert devices[0] == "proc" and devices[-2:] == ["first", "second"]
    # ... and so the first registration is the one a duplicate error calls "previous"
    dup = add_module(plugin_dir, DUPLICATE_RR)
    _, plugins = resolve_config(config_with_plugins(tmp_path / "d.toml", [dup]))
    with pytest.raises(PluginError, match=rf"both 'kernkit.plugins.rr' and '{dup}'"):
        collect_registries(plugins)


# --- broken plugins -------------------------------------------------------------------------


def test_missing_plugin_module(tmp_path):
    config = config_with_plugins(tmp_path / "c.toml", ["kk_no_such_plugin_module"])
    message = one_line_error(kernkit_cli("check", str(config)))
    assert message == "plugin module 'kk_no_such_plugin_module' not found"


def test_plugin_that_raises_on_import(tmp_path, plugin_dir):
    name = add_module(plugin_dir, "raise RuntimeError('the plugin is broken')\n")
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin '{name}' failed to import: RuntimeError: the plugin is broken"


def test_plugin_with_missing_dependency_names_the_dependency(tmp_path, plugin_dir):
    name = add_module(plugin_dir, "import kk_dep_abc\n", prefix="kk_dep_abc")  # kk_dep_abc_<hex>
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message.startswith(f"plugin '{name}' failed to import")
    assert "kk_dep_abc" in message


def test_plugin_with_missing_unrelated_dependency(tmp_path, plugin_dir):
    name = add_module(plugin_dir, "import kk_totally_missing_dependency\n")
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin '{name}' failed to import: No module named 'kk_totally_missing_dependency'"


def test_plugin_whose_hook_raises(tmp_path, plugin_dir):
    name = add_module(
        plugin_dir,
        """
        from kernkit.core.hookspecs import hookimpl

        @hookimpl
        def kernkit_register_schedulers():
            raise KeyError("no such queue")
        """,
    )
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin '{name}' failed in kernkit_register_schedulers: KeyError: 'no such queue'"


def test_plugin_record_with_bad_name_names_plugin_and_hook(tmp_path, plugin_dir):
    name = add_module(
        plugin_dir,
        """
        from kernkit.core.hookspecs import hookimpl
        from kernkit.core.records import Device

        @hookimpl
        def kernkit_register_devices():
            return [Device("bad name!", lambda kernel, process, spec: None)]
        """,
    )
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message.startswith(f"plugin '{name}' failed in kernkit_register_devices: ValueError: ")
    assert "'bad name!'" in message


def test_hook_returning_a_record_instead_of_a_list(tmp_path, plugin_dir):
    name = add_module(
        plugin_dir,
        """
        from kernkit.core.hookspecs import hookimpl
        from kernkit.core.records import Scheduler

        @hookimpl
        def kernkit_register_schedulers():
            return Scheduler("single", lambda kernel: None)
        """,
    )
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert name in message and "kernkit_register_schedulers" in message


class NoSuchHook:
    @hookimpl
    def kernkit_no_such_hook(self):
        return []


class MisspelledHook:
    @hookimpl
    def kernkit_register_scheduler(self):  # missing the final "s"
        return [Scheduler("never", lambda kernel: None)]


@pytest.mark.parametrize(
    ("plugin", "hook"), [(NoSuchHook, "kernkit_no_such_hook"), (MisspelledHook, "kernkit_register_scheduler")]
)
def test_unknown_hook_is_a_plugin_error(plugin, hook):
    manager = PluginManager(autoload=False)
    with pytest.raises(PluginError, match=hook):
        manager.register(plugin(), "unknown-hook-plugin")


class WrongArguments:
    @hookimpl
    def kernkit_process_created(self, kernel, proc):
        pass


def test_hookimpl_with_wrong_arguments_breaks_the_contract():
    manager = PluginManager(autoload=False)
    with pytest.raises(PluginError) as info:
        manager.register(WrongArguments(), "wrong-args")
    message = str(info.value)
    assert message.startswith("plugin 'wrong-args' breaks the hook contract: ")
    assert "kernkit_process_created" in message and "proc" in message
    assert "wrong-args" not in [p.name for p in manager.plugins]


def test_hookimpl_with_wrong_arguments_is_one_line_in_the_cli(tmp_path, plugin_dir):
    name = add_module(
        plugin_dir,
        """
        from kernkit.core.hookspecs import hookimpl

        @hookimpl
        def kernkit_process_exited(kernel, proc):
            pass
        """,
    )
    config = config_with_plugins(tmp_path / "c.toml", [name])
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message.startswith(f"plugin '{name}' breaks the hook contract")


def test_registering_the_same_name_twice():
    manager = PluginManager(autoload=False)
    with pytest.raises(PluginError, match="plugin 'kernkit.plugins.rr' is already registered"):
        manager.register(NoSuchHook(), "kernkit.plugins.rr")


def test_config_naming_a_builtin_plugin_is_harmless(tmp_path):
    config = config_with_plugins(tmp_path / "c.toml", ["kernkit.plugins.rr"])
    _, plugins = resolve_config(config)
    assert [p.name for p in plugins.plugins].count("kernkit.plugins.rr") == 1


# --- entry points ---------------------------------------------------------------------------


@attrs.frozen
class Distribution:
    site: Path
    module: str
    version: str = "1.2.3"


@pytest.fixture
def fifo2_dist(tmp_path, monkeypatch):
    """A tiny installed distribution (dist-info + module) whose entry point registers 'fifo2'."""
    site = tmp_path / "site"
    site.mkdir()
    module = f"kk_fifo2_{uuid.uuid4().hex[:10]}"
    (site / f"{module}.py").write_text(FIFO_SOURCE.replace("{name}", "fifo2"))
    info = site / "kernkit_fifo2-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kernkit-fifo2\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[kernkit.plugins]\nfifo2 = {module}\n")
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.syspath_prepend(str(site))
    yield Distribution(site, module)
    sys.modules.pop(module, None)


def test_entry_point_plugin_is_listed(fifo2_dist):
    proc = kernkit_cli("plugins", env={"PYTHONPATH": str(fifo2_dist.site)})
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("fifo2 "))
    assert re.fullmatch(r"fifo2 \S+ \[entry point\]", lines[at])
    assert lines[at + 1] == "    hooks: register_schedulers"
    schedulers = next(line for line in lines if line.startswith("schedulers: "))
    assert "fifo2 (fifo2)" in schedulers and "rr (rr)" in schedulers


def test_entry_point_plugin_shows_its_distribution_version(fifo2_dist):
    proc = kernkit_cli("plugins", env={"PYTHONPATH": str(fifo2_dist.site)})
    assert "fifo2 1.2.3 [entry point]" in proc.stdout.decode().splitlines()


def test_entry_point_autoload_can_be_disabled(fifo2_dist, tmp_path):
    env = {"PYTHONPATH": str(fifo2_dist.site), DISABLE_AUTOLOAD_ENV: "1"}
    proc = kernkit_cli("plugins", env=env)
    assert proc.returncode == 0
    assert "fifo2" not in proc.stdout.decode()
    config = tmp_path / "c.toml"
    config.write_text('[sched]\npolicy = "fifo2"\n')
    message = one_line_error(kernkit_cli("boot", str(config), env=env))
    assert message == f"{config}: sched.policy: unknown scheduler 'fifo2'; known: mcp, rr"
    # in-process, too
    assert "fifo2" not in [p.name for p in PluginManager(autoload=False).plugins]


def test_entry_point_scheduler_boots_hello(fifo2_dist, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[sched]\npolicy = "fifo2"\n')
    proc = kernkit_cli("boot", str(config), env={"PYTHONPATH": str(fifo2_dist.site)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"Hello from kernkit!\n"


def test_entry_point_scheduler_is_the_one_used(fifo2_dist):
    run = run_kernel("hello", sched__policy="fifo2")
    assert run.status == 0 and run.out == "Hello from kernkit!\n"
    assert type(run.kernel.scheduler).__module__ == fifo2_dist.module
    assert run.kernel.scheduler.picks >= 1
    info = next(p for p in run.kernel.plugins.plugins if p.name == "fifo2")
    assert (info.source, info.module) == ("entry point", fifo2_dist.module)


def test_entry_point_plugin_also_named_in_config(fifo2_dist, tmp_path):
    config = config_with_plugins(tmp_path / "c.toml", [fifo2_dist.module], '[sched]\npolicy = "fifo2"\n')
    proc = kernkit_cli("boot", str(config), env={"PYTHONPATH": str(fifo2_dist.site)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"Hello from kernkit!\n"


# --- records --------------------------------------------------------------------------------


def _noop(*args):  # noqa: ANN002, ANN202
    return None


RECORD_MAKERS = {
    "Architecture": lambda name: Architecture(name, {"elf": 62}, _noop),
    "SyscallTable": lambda name: SyscallTable(name, (), _noop, errno_fault=14, errno_nosys=38),
    "Device": lambda name: Device(name, _noop),
    "ProcFile": lambda name: ProcFile(name, _noop),
    "Scheduler": lambda name: Scheduler(name, _noop),
    "BinaryFormat": lambda name: BinaryFormat(name, _noop, _noop),
    "ConfigSection": lambda name: ConfigSection(name, object),
    "BootStep": lambda name: BootStep(name, "services", _noop),
}


@pytest.mark.parametrize("kind", sorted(RECORD_MAKERS))
@pytest.mark.parametrize("bad", ["", "bad name!", "a/b", "x-y", 7, None])
def test_records_reject_bad_names(kind, bad):
    with pytest.raises(ValueError, match=rf"^{kind}\.name must be a non-empty identifier, got "):
        RECORD_MAKERS[kind](bad)


@pytest.mark.parametrize("kind", sorted(RECORD_MAKERS))
@pytest.mark.parametrize("good", ["rr", "x86_64", "sched.rr", "Fifo2"])
def test_records_accept_identifiers(kind, good):
    if kind in ("Device", "ProcFile") and "." in good:
        return  # see the next test
    assert RECORD_MAKERS[kind](good).name == good


@pytest.mark.parametrize("kind", ["Device", "ProcFile"])
def test_device_and_proc_file_names_have_no_dot(kind):
    # '.' separates a device's name from its spec in "#name.spec"
    with pytest.raises(ValueError, match=rf"^{kind}\.name must be a non-empty identifier, got 'tmp.fs'"):
        RECORD_MAKERS[kind]("tmp.fs")


def test_boot_step_phase_and_syscall_arity_are_checked():
    with pytest.raises(ValueError, match="phase"):
        BootStep("x", "late", _noop)
    with pytest.raises(ValueError, match="nargs"):
        Syscall(1, "write", _noop, 7)


def test_plugin_module_next_to_its_config_is_found(tmp_path):
    (tmp_path / "kk_local_fifo.py").write_text(
        "from kernkit.core.hookspecs import hookimpl\n"
        "from kernkit.core.records import Scheduler\n"
        "from kernkit.plugins.rr import RoundRobin\n\n"
        "@hookimpl\n"
        "def kernkit_register_schedulers():\n"
        "    return [Scheduler('localrr', RoundRobin, 'rr under another name')]\n"
    )
    config = tmp_path / "kernel.toml"
    config.write_text('[kernel]\nplugins = ["kk_local_fifo"]\n[sched]\npolicy = "localrr"\n')
    result = kernkit_cli("boot", str(config), cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, b"Hello from kernkit!\n"), result.stderr


def test_optional_plugins_that_fail_are_warnings_and_the_kernel_boots(tmp_path):
    (tmp_path / "kk_opt_broken.py").write_text("raise RuntimeError('no luck')\n")
    (tmp_path / "kk_opt_hook.py").write_text(
        "from kernkit.core.hookspecs import hookimpl\n\n"
        "@hookimpl\n"
        "def kernkit_process_created(kernel, process):\n"
        "    raise ValueError('bad day')\n"
    )
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\noptional_plugins = ["kk_opt_broken", "kk_opt_hook", "kk_opt_missing"]\n')
    result = kernkit_cli("boot", str(config))
    assert (result.returncode, result.stdout) == (0, b"Hello from kernkit!\n")
    assert result.stderr.decode().splitlines() == [
        "kernkit: warning: plugin 'kk_opt_broken' failed to import: RuntimeError: no luck; continuing without it",
        "kernkit: warning: plugin module 'kk_opt_missing' not found; continuing without it",
        "kernkit: warning: plugin 'kk_opt_hook' failed in kernkit_process_created: ValueError: bad day; "
        "continuing without it",
    ]


def test_required_plugins_that_fail_stop_the_boot(tmp_path):
    (tmp_path / "kk_req_broken.py").write_text("raise RuntimeError('no luck')\n")
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\nplugins = ["kk_req_broken"]\n')
    result = kernkit_cli("boot", str(config))
    assert result.returncode == 2
    assert (
        result.stderr.decode()
        == "kernkit: error: plugin 'kk_req_broken' failed to import: RuntimeError: no luck\n"
    )


def test_a_dropped_optional_plugin_takes_its_records_with_it(tmp_path):
    (tmp_path / "kk_opt_half.py").write_text(
        "from kernkit.core.hookspecs import hookimpl\n"
        "from kernkit.core.records import Scheduler\n"
        "from kernkit.plugins.rr import RoundRobin\n\n"
        "@hookimpl\n"
        "def kernkit_register_schedulers():\n"
        "    return [Scheduler('half', RoundRobin)]\n\n"
        "@hookimpl\n"
        "def kernkit_register_devices():\n"
        "    raise OSError('no device today')\n"
    )
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\noptional_plugins = ["kk_opt_half"]\n[sched]\npolicy = "half"\n')
    result = kernkit_cli("check", str(config))
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert lines[0] == (
        "kernkit: warning: plugin 'kk_opt_half' failed in kernkit_register_devices: "
        "OSError: no device today; continuing without it"
    )
    assert lines[1].endswith("sched.policy: unknown scheduler 'half'; known: mcp, rr")


def test_a_broken_installed_plugin_is_a_warning_not_a_stop(tmp_path):
    (tmp_path / "kk_badplug.py").write_text("raise ImportError('half-installed')\n")
    info = tmp_path / "kk_badplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kk-badplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[kernkit.plugins]\nbadplug = kk_badplug\n")
    result = kernkit_cli("boot", env={"PYTHONPATH": str(tmp_path)})
    assert (result.returncode, result.stdout) == (0, b"Hello from kernkit!\n")
    assert result.stderr.decode() == (
        "kernkit: warning: installed plugin 'badplug' (entry point kk_badplug) failed to load: "
        "ImportError: half-installed; continuing without it\n"
    )


# --- what a kernel is made of: [kernel] builtins and plugins' requirements ------------------

MINIMAL_BUILTINS = '["x86_64", "elf", "ns", "linux_abi", "console", "rr"]'


def test_a_kernel_of_only_the_minimal_plugins_boots_hello_without_importing_the_others(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text(f"[kernel]\nbuiltins = {MINIMAL_BUILTINS}\n")
    script = (
        "import sys\n"
        "from kernkit.core.assemble import assemble, boot\n"
        f"kernel = assemble({str(config)!r}); boot(kernel); status = kernel.run()\n"
        "loaded = sorted({m.split('.')[2] for m in sys.modules if m.startswith('kernkit.plugins.')})\n"
        "print(status, ' '.join(loaded))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, DISABLE_AUTOLOAD_ENV: "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["Hello from kernkit!", "0 console elf linux_abi ns rr"]


def test_a_builtin_whose_requirement_is_left_out_is_a_one_line_error_naming_both(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\nbuiltins = ["x86_64", "linux_abi", "console", "rr"]\n')
    message = one_line_error(kernkit_cli("check", str(config)))
    assert message == f"{config}: kernel.builtins: plugin 'linux_abi' requires 'ns', which is not loaded"
    message = one_line_error(kernkit_cli("boot", "--set", 'kernel.builtins=["x86_64", "nosuch"]'))
    assert message.startswith("<command line>: kernel.builtins: no built-in plugin 'nosuch'; built-ins: x86_64, ")


def test_kernkit_plugins_shows_what_each_plugin_requires():
    out = kernkit_cli("plugins").stdout.decode()
    blocks = {b.split()[0]: b for b in re.split(r"\n(?=\S)", out)}
    assert "requires: ns, linux_abi" in blocks["kernkit.plugins.akaros_abi"]
    assert "requires: ns, net" in blocks["kernkit.plugins.ether"]
    assert "requires:" not in blocks["kernkit.plugins.rr"]


# --- hooks are called the pluggy way ---------------------------------------------------------

PLUGGY_WAYS = """
from kernkit.core.hookspecs import hookimpl
from kernkit.plugins.ns.api import view_of

SEEN = []


@hookimpl(tryfirst=True)
def kernkit_process_created(kernel, process):
    SEEN.append(("tryfirst", view_of(process) is not None))


@hookimpl(trylast=True)
def kernkit_shutdown(kernel):
    SEEN.append(("trylast", "shutdown"))


@hookimpl(hookwrapper=True)
def kernkit_register_devices():
    outcome = yield
    # a wrapper may rewrite what the others registered: hide #version
    outcome.force_result([[d for d in records if d.name != "version"] for records in outcome.get_result()])
"""


def test_third_party_tryfirst_trylast_and_hookwrapper_are_honoured(tmp_path, plugin_dir):
    module = add_module(plugin_dir, PLUGGY_WAYS)
    config = config_with_plugins(tmp_path / "k.toml", [module])
    run = run_kernel(config=config)
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    # tryfirst: before ns made the new process's namespace; trylast: after every other plugin
    assert sys.modules[module].SEEN == [("tryfirst", False), ("trylast", "shutdown")]
    assert "version" not in run.kernel.registries["device"] and "proc" in run.kernel.registries["device"]
    order = run.kernel.plugins.hook_order()
    assert order["kernkit_register_devices"][0] == f"{module} (wrapper)"
    assert order["kernkit_process_created"][0] == module


def test_a_failing_hook_names_its_plugin_even_when_called_through_pluggy(tmp_path, plugin_dir):
    module = add_module(plugin_dir, """
        from kernkit.core.hookspecs import hookimpl

        @hookimpl
        def kernkit_process_created(kernel, process):
            raise RuntimeError("boom")
    """)
    config = config_with_plugins(tmp_path / "k.toml", [module])
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin {module!r} failed in kernkit_process_created: RuntimeError: boom"


def test_entry_points_are_read_once_and_read_again_when_the_environment_changes(fifo2_dist, tmp_path):
    cache = tmp_path / "cache"
    env = {"PYTHONPATH": str(fifo2_dist.site), "KERNKIT_CACHE_DIR": str(cache)}
    assert "fifo2 1.2.3 [entry point]" in kernkit_cli("plugins", env=env).stdout.decode()
    [kept] = cache.glob("entry-points-*.json")
    assert "fifo2" in kept.read_text()
    # a second run takes the cache as it is (here doctored: it must not scan again)
    kept.write_text(kept.read_text().replace('"1.2.3"', '"9.9.9"'))
    assert "fifo2 9.9.9 [entry point]" in kernkit_cli("plugins", env=env).stdout.decode()
    # installing another package changes the directory: the cache no longer applies
    info = fifo2_dist.site / "kernkit_other-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kernkit-other\nVersion: 0.1\n")
    assert "fifo2 1.2.3 [entry point]" in kernkit_cli("plugins", env=env).stdout.decode()
