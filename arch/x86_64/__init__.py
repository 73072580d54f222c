"""The x86-64 architecture plugin: an emulated multi-core x86-64 machine on Unicorn."""

from __future__ import annotations

from kernkit.arch.x86_64.debug import DEBUG_TARGET
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Architecture

EM_X86_64 = 62


def _create_machine(kernel):  # noqa: ANN001, ANN202 - imported lazily: Unicorn is heavy
    from kernkit.arch.x86_64.unicornload import import_unicorn

    import_unicorn()
    from kernkit.arch.x86_64.machine import X86Machine

    return X86Machine(kernel)


def _guest_cpu(machine, aspace, translate, cpuid):  # noqa: ANN001, ANN202 - see Architecture.guest_cpu
    from kernkit.arch.x86_64.guest import GuestCpu

    guest = GuestCpu(machine.memory, translate, cpuid, machine.deterministic)
    machine.add_guest(aspace, guest)
    return guest


@hookimpl
def kernkit_register_architectures() -> list[Architecture]:
    return [
        Architecture(
            name="x86_64",
            machine_ids={"elf": EM_X86_64},
            create_machine=_create_machine,
            description="x86-64 cores in ring 3 on Unicorn, 4-level page tables, one host thread",
            debug=DEBUG_TARGET,
            guest_cpu=_guest_cpu,
        )
    ]
