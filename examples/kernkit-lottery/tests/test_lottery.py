import io

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import packaged_programs_dir


def test_threads_run_under_lottery(kernel):
    run = kernel(
        "procs",
        "threads",
        "8",
        kernel__plugins=["kernkit_lottery"],
        sched__policy="lottery",
        machine__cores=2,
    )
    assert run.out == "threads: 8 joined, counter 36000 (expected 36000)\n"


def test_cores_are_shared_in_proportion_to_tickets():
    """Two spinners, 300 and 100 tickets, one core: when the rich one is done, the poor one has
    done about a third of the same work."""
    k = assemble(
        None,
        overrides={
            "kernel.plugins": ["kernkit_lottery"],
            "sched.policy": "lottery",
            "sched.lottery.tickets": {"rich": 300, "poor": 100},
            "sched.lottery.timeslice_us": 1000,
            "init.program": "spin",
            "init.args": ["3000000"],
            "init.name": "rich",
        },
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
        stdin=io.BytesIO(),
    )
    boot(k)
    poor = k.spawn(packaged_programs_dir() / "spin", ["poor", "3000000"], [], parent=k.init)
    k.run()
    share = poor.threads[0].instructions / k.init.threads[0].instructions
    assert 0.2 < share < 0.5
