"""Symbol lookup in an ELF file's .symtab, read on first use (fault reports, backtraces)."""

from __future__ import annotations

import bisect
import io
from collections.abc import Callable

from kernkit.core.errors import KernkitError


class Symbolizer:
    """``symbolizer(address)`` -> ``"main+0x1a"``, or None when no function covers it."""

    def __init__(self, data: bytes | Callable[[], bytes], base: int) -> None:
        #: The file's bytes, or how to read them again when first needed (a program file of
        #: megabytes is not kept for the life of the process for a report it may never have).
        self._data = data
        self._base = base
        self._starts: list[int] | None = None
        self._entries: list[tuple[int, int, str]] = []

    def _load(self) -> None:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        self._starts = []
        try:
            data = self._data if isinstance(self._data, bytes) else self._data()
            table = ELFFile(io.BytesIO(data)).get_section_by_name(".symtab")
            symbols = list(table.iter_symbols()) if table is not None else []
        except (ELFError, ValueError, KeyError, OSError, KernkitError):
            symbols = []
        for symbol in symbols:
            if symbol["st_info"]["type"] == "STT_FUNC" and symbol.name:
                start = symbol["st_value"] + self._base
                self._entries.append((start, symbol["st_size"], symbol.name))
        self._entries.sort()
        self._starts = [start for start, _, _ in self._entries]
        self._data = b""

    def __call__(self, address: int) -> str | None:
        if self._starts is None:
            self._load()
        index = bisect.bisect_right(self._starts, address) - 1
        if index < 0:
            return None
        start, size, name = self._entries[index]
        if size and address >= start + size:
            return None
        return f"{name}+{address - start:#x}"
