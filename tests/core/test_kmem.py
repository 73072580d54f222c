"""The kernel's own memory is bounded by the machine's: #tmpfs inodes, pipe and socket buffers
(and 9P buffers, see tests/plugins/ninep/test_ninep_hostile.py) are charged to ``kernel.kmem``,
#tmpfs contents live in page frames, and when memory is full the guest gets ENOSPC/ENOMEM; the
host never grows past the config."""

from __future__ import annotations

import pytest
from support import run_kernel

from kernkit.core.assemble import assemble, boot
from kernkit.core.devices import OREAD, OWRITE, DeviceError
from kernkit.plugins.ns.api import devices


def test_tmpfs_cannot_hold_more_than_the_machine_has():
    """tmpfs_size allows 1T; a 32M machine's /tmp fills at about 32M, with ENOSPC."""
    run = run_kernel(
        "cp",
        "/dev/random",
        "/tmp/big",
        namespace__tmpfs_size="1T",
        machine__memory="32M",
        kernel__max_instructions=2_000_000_000,  # without the account, cp would fill the host
    )
    assert run.status == 1 and "cp: writing /tmp/big: No space left on device" in run.err, run.err
    # the contents are in the machine's page frames (#tmpfs keeps files in page caches)
    held = devices(run.kernel).driver("tmpfs").used
    assert 16 << 20 < held <= 32 << 20, held
    assert run.kernel.machine.memory.free_bytes() >= 0


def test_removing_files_gives_their_memory_back():
    run = run_kernel(
        "run", "cp /bin/hello /tmp/a", "cp /tmp/a /tmp/b", "rm /tmp/a", "rm /tmp/b", machine__memory="32M"
    )
    assert run.status == 0, run.err
    assert run.kernel.kmem.by_owner["tmpfs"] == 0


def _kernel(**overrides):
    settings = {key.replace("__", "."): value for key, value in overrides.items()}
    kernel = assemble(overrides=settings)
    boot(kernel, check=True)
    return kernel


def test_a_pipe_write_without_memory_is_enomem_and_reads_give_it_back():
    kernel = _kernel(machine__memory="4M")

    pipes = devices(kernel).driver("pipe")
    directory = pipes.attach("")
    reader = pipes.open(pipes.walk(directory, "data"), OREAD)
    writer = pipes.open(pipes.walk(directory, "data1"), OWRITE)
    assert pipes.write(writer, b"x" * 1000, 0) == 1000
    assert kernel.kmem.by_owner["pipe"] == 1000
    kernel.kmem.charge("test", kernel.kmem.available())  # the machine is full
    with pytest.raises(DeviceError) as info:
        pipes.write(writer, b"y" * 10, 0)
    assert info.value.code == "ENOMEM"
    assert pipes.read(reader, 4096, 0) == b"x" * 1000
    assert kernel.kmem.by_owner["pipe"] == 0
    kernel.shutdown()


def test_a_full_machine_refuses_frames_as_well_as_buffers():
    kernel = _kernel(machine__memory="4M")
    memory = kernel.machine.memory
    for reclaim in memory.reclaimers:  # init's program file has cached pages it could give up
        reclaim()
    assert kernel.kmem.charge("test", memory.free_bytes())
    assert not kernel.kmem.charge("test", 1)
    from kernkit.core.errors import OutOfMemory

    with pytest.raises(OutOfMemory):
        memory.alloc_frame()
    kernel.kmem.release("test", 4096)
    memory.alloc_frame()
    kernel.shutdown()


def test_socket_buffers_are_charged_and_given_back():
    run = run_kernel("nettest", "echo", "7000", "10", machine__memory="32M")
    assert run.status == 0, run.err
    assert run.kernel.kmem.by_owner["socket"] == 0  # everything sent was read or freed
