"""A config that names no built-ins loads those its contents need, chosen from a manifest."""

from kernkit.core.assemble import resolve_config
from kernkit.core.builtin_choice import BUILTIN_MANIFEST, DEFAULT_BUILTINS, builtins_for
from kernkit.tools.builtin_manifest import describe_builtins


def test_the_manifest_says_what_every_builtin_registers():
    assert describe_builtins() == BUILTIN_MANIFEST


def test_a_linux_config_skips_the_akaros_personality_and_the_unused_services():
    chosen = builtins_for({"kernel": {"personalities": ["linux"]}})
    assert set(DEFAULT_BUILTINS) <= set(chosen)
    assert {"x86_64", "linux_abi", "rr", "net"} <= set(chosen)
    assert not {"akaros_abi", "vmm", "mcp", "ether", "gdb", "costs"} & set(chosen)


def test_no_personalities_means_every_table_and_its_extensions():
    assert {"akaros_abi", "vmm", "linux_abi", "net"} <= set(builtins_for({}))


def test_sections_policies_devices_and_requirements_bring_their_plugins():
    data = {
        "kernel": {"personalities": ["linux"]},
        "sched": {"policy": "mcp"},
        "costs": {"preset": "linux-like"},
        "namespace": {"binds": ["#ether /net/ether0"]},
    }
    chosen = builtins_for(data)
    assert {"mcp", "costs", "ether", "net"} <= set(chosen)
    assert "akaros_abi" not in chosen


def test_an_unknown_choice_loads_every_builtin_of_its_kind_to_list_them():
    chosen = builtins_for({"kernel": {"personalities": ["plan9"]}, "sched": {"policy": "edf"}})
    assert {"akaros_abi", "linux_abi", "rr", "mcp"} <= set(chosen)


def test_a_config_loads_only_what_it_needs_and_still_validates(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[kernel]\npersonalities = ["linux"]\n[init]\nprogram = "hello"\n')
    _, plugins = resolve_config(path)
    shorts = {info.short for info in plugins.plugins}
    assert "akaros_abi" not in shorts and "linux_abi" in shorts
    path.write_text('[kernel]\npersonalities = ["linux"]\n[vmm]\n')
    _, plugins = resolve_config(path)
    assert {"vmm", "akaros_abi"} <= {info.short for info in plugins.plugins}
