"""kernkit's pytest plugin, driven through pytester as a plugin author would use it."""

from __future__ import annotations

from support import CONFIGS

MATRIX = f'''base = "{CONFIGS / "minimal.toml"}"
[axes]
"machine.cores" = [1, 2]
[[workload]]
name = "hello"
program = "hello"
expect_output = "Hello from kernkit!\\n"
[[workload]]
name = "exit3"
program = "exitcode"
'''

TESTS = """
import pytest

@pytest.mark.kernkit
def test_cell_passes(kernkit_result):
    assert kernkit_result["status"] == "PASS", kernkit_result["reason"]

def test_kernel_fixture(kernel):
    run = kernel("hello", machine__cores=2)
    assert run.status == 0 and run.out == "Hello from kernkit!\\n"
"""


def test_matrix_cells_become_test_parameters(pytester):
    pytester.makefile(".toml", matrix=MATRIX)
    pytester.makepyfile(test_cells=TESTS)
    result = pytester.runpytest("--kernkit-matrix", "matrix.toml", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_cell_passes?hello-cores1? PASSED*",
            "*test_cell_passes?exit3-cores2? FAILED*",
        ]
    )


def test_k_selects_cells_and_junit_carries_them(pytester):
    pytester.makefile(".toml", matrix=MATRIX)
    pytester.makepyfile(test_cells=TESTS)
    result = pytester.runpytest(
        "--kernkit-matrix", "matrix.toml", "-k", "hello", "--junitxml=out.xml", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2, deselected=3)
    junit = (pytester.path / "out.xml").read_text()
    assert (
        'name="test_cell_passes[hello-cores1]"' in junit and 'name="test_cell_passes[hello-cores2]"' in junit
    )


def test_without_a_matrix_cell_tests_skip_with_a_reason(pytester):
    pytester.makepyfile(test_cells=TESTS)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no --kernkit-matrix FILE given*"])
