"""Typed slots for plugins' state on a kernel, a process or a thread.

Kernels, processes and threads carry a ``data`` dict for plugins. A plugin keeps its state there
under a :class:`Slot` it owns instead of a string: other plugins reach that state only through
the owner's public API (which uses the slot), and a type checker knows what comes out::

    STACK: Slot[Stack] = Slot("net.stack")

    def stack_of(kernel) -> Stack | None:
        return STACK.get(kernel)

A process's ``data`` is copied (shallowly, value by value) into a forked child.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class HasData(Protocol):
    data: dict[Any, Any]


class Slot(Generic[T]):
    """One plugin's place in the ``data`` of kernels, processes or threads; ``name`` is only
    for people (reprs, debugging): the slot object itself is the key."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, owner: HasData) -> T | None:
        """The state ``owner`` holds in this slot, or None."""
        return owner.data.get(self)

    def of(self, owner: HasData, make: Callable[[], T]) -> T:
        """The state in this slot, made with ``make()`` and kept on first use."""
        data = owner.data
        value = data.get(self)
        if value is None:
            value = data[self] = make()
        return value

    def set(self, owner: HasData, value: T) -> T:
        owner.data[self] = value
        return value

    def pop(self, owner: HasData) -> T | None:
        """Take the state out of the slot (None if there was none)."""
        return owner.data.pop(self, None)

    def __repr__(self) -> str:
        return f"<Slot {self.name}>"
