"""Free gaps of an address space, indexed so that the lowest fitting one is found in O(log n).

An AVL tree keyed by the gap's start; every node also knows the largest gap in its subtree, so
"the first gap at or after X that holds L bytes" skips whole subtrees of smaller gaps (Linux
keeps the same augmentation in its tree of mappings). Deterministic, with no worst case a
guest can steer: the tree stays balanced whatever the order of its mappings.
"""

from __future__ import annotations


class _Node:
    __slots__ = ("start", "size", "best", "height", "left", "right")

    def __init__(self, start: int, size: int) -> None:
        self.start = start
        self.size = size
        self.best = size
        self.height = 1
        self.left: _Node | None = None
        self.right: _Node | None = None


def _height(node: _Node | None) -> int:
    return node.height if node is not None else 0


def _update(node: _Node) -> None:
    left, right = node.left, node.right
    best = node.size
    height = 1
    if left is not None:
        best = max(best, left.best)
        height = left.height + 1
    if right is not None:
        best = max(best, right.best)
        height = max(height, right.height + 1)
    node.best = best
    node.height = height


def _rotate_right(node: _Node) -> _Node:
    top = node.left
    node.left = top.right
    top.right = node
    _update(node)
    _update(top)
    return top


def _rotate_left(node: _Node) -> _Node:
    top = node.right
    node.right = top.left
    top.left = node
    _update(node)
    _update(top)
    return top


def _balance(node: _Node) -> _Node:
    _update(node)
    tilt = _height(node.left) - _height(node.right)
    if tilt > 1:
        if _height(node.left.left) < _height(node.left.right):
            node.left = _rotate_left(node.left)
        return _rotate_right(node)
    if tilt < -1:
        if _height(node.right.right) < _height(node.right.left):
            node.right = _rotate_right(node.right)
        return _rotate_left(node)
    return node


def _insert(node: _Node | None, start: int, size: int) -> _Node:
    if node is None:
        return _Node(start, size)
    if start < node.start:
        node.left = _insert(node.left, start, size)
    elif start > node.start:
        node.right = _insert(node.right, start, size)
    else:
        node.size = size
    return _balance(node)


def _pop_min(node: _Node) -> tuple[_Node | None, _Node]:
    if node.left is None:
        return node.right, node
    node.left, smallest = _pop_min(node.left)
    return _balance(node), smallest


def _delete(node: _Node | None, start: int) -> _Node | None:
    if node is None:
        return None
    if start < node.start:
        node.left = _delete(node.left, start)
    elif start > node.start:
        node.right = _delete(node.right, start)
    else:
        if node.left is None:
            return node.right
        if node.right is None:
            return node.left
        node.right, successor = _pop_min(node.right)
        successor.left, successor.right = node.left, node.right
        node = successor
    return _balance(node)


class GapIndex:
    """Gaps (start -> size) with the query :meth:`first_fit`."""

    def __init__(self) -> None:
        self._root: _Node | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, start: int, size: int) -> None:
        self._count += 1
        self._root = _insert(self._root, start, size)

    def remove(self, start: int) -> None:
        self._count -= 1
        self._root = _delete(self._root, start)

    def first_fit(self, at_least: int, size: int) -> int | None:
        """The start of the lowest gap that starts at or after ``at_least`` and holds ``size``."""
        return _first_fit(self._root, at_least, size)


def _first_fit(node: _Node | None, at_least: int, size: int) -> int | None:
    # keys below at_least only send the search right; a subtree whose keys all qualify is
    # searched by one descent (its ``best`` says which side holds the lowest fit)
    while node is not None and node.best >= size:
        if node.start < at_least:
            node = node.right
            continue
        found = _first_fit(node.left, at_least, size)
        if found is not None:
            return found
        if node.size >= size:
            return node.start
        node = node.right
    return None
