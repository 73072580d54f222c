"""Declaring config options: attrs fields that carry a one-line help text and are type-checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

_SIZE = re.compile(r"^\s*([0-9]{1,20})\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE | re.ASCII)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def option(
    default: Any,
    help: str,  # noqa: A002 - the natural name for a help text
    *,
    validator: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
    converter: Callable[[Any], Any] | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """An option field: ``default``, a one-line ``help``, optional validators and choices."""
    validators = list(validator) if isinstance(validator, list | tuple) else [validator] if validator else []
    if choices is not None:
        validators.append(attrs.validators.in_(tuple(choices)))
    combined = attrs.validators.and_(*validators) if validators else None
    metadata = {"help": help, "choices": tuple(choices) if choices is not None else None}
    if isinstance(default, list | dict):
        factory = type(default)
        initial = default.copy()
        return attrs.field(
            factory=lambda: factory(initial), validator=combined, converter=converter, metadata=metadata
        )
    return attrs.field(default=default, validator=combined, converter=converter, metadata=metadata)


def parse_size(value: int | str) -> int:
    """``"64M"``, ``"1G"``, ``"512KiB"`` or a plain integer of bytes."""
    if isinstance(value, bool):
        raise TypeError(f"expected a size such as 64M or 1G, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(match.group(1)) * _UNITS[match.group(2).upper()]
    raise ValueError(f"expected a size such as 64M or 1G, got {value!r}")


def format_size(value: int) -> str:
    """``16G`` for 17179869184: the largest unit that divides ``value`` exactly, else bytes."""
    for suffix in "TGMK":
        unit = _UNITS[suffix]
        if value and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


def at_most_size(limit: int) -> Callable[..., None]:
    """``at_most`` for a size option: the limit and the value are printed like ``16G``."""

    def check(instance: Any, attribute: attrs.Attribute, value: int) -> None:
        if value > limit:
            raise ValueError(f"must be at most {format_size(limit)}, got {format_size(value)}")

    return check


def at_least_size(limit: int) -> Callable[..., None]:
    def check(instance: Any, attribute: attrs.Attribute, value: int) -> None:
        if value < limit:
            raise ValueError(f"must be at least {format_size(limit)}, got {format_size(value)}")

    return check


def page_multiple(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value % 4096:
        raise ValueError(f"must be a multiple of the 4K page size, got {value}")


def positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")


def non_negative(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 0:
        raise ValueError(f"must be zero or positive, got {value}")


def at_most(limit: int) -> Callable[..., None]:
    def check(instance: Any, attribute: attrs.Attribute, value: int) -> None:
        if value > limit:
            raise ValueError(f"must be at most {limit}, got {value}")

    return check


def option_help(options_class: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) for every option of an options class, in declaration order."""
    rows = []
    for field in attrs.fields(attrs.resolve_types(options_class)):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        rows.append((field.name, type_name(field.type), default, field.metadata.get("help", "")))
    return rows


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
