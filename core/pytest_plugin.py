"""The kernkit pytest plugin (entry point ``pytest11``): fixtures for plugin authors' tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kernkit.core.testing import BootResult, boot_kernel


@pytest.fixture
def kernel() -> Callable[..., BootResult]:
    """Boot a kernel and run it to the end: ``kernel("hello", machine__cores=2)``; see
    :func:`kernkit.core.testing.boot_kernel`."""
    return boot_kernel
