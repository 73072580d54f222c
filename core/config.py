"""Loading kernel configs: TOML files with ``extends``, validated against the plugins' schemas."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.errors import ConfigError
from kernkit.core.options import format_size
from kernkit.core.records import ConfigSection

COMMAND_LINE = "<command line>"


@attrs.frozen
class RawConfig:
    """A config file after ``extends`` was merged, before validation."""

    path: Path | None
    data: dict[str, Any]
    #: dotted key -> the file (or "<command line>") its value came from.
    sources: dict[str, str]

    def source_of(self, dotted: str) -> str:
        while dotted:
            if dotted in self.sources:
                return self.sources[dotted]
            dotted = dotted.rpartition(".")[0]
        return str(self.path) if self.path else COMMAND_LINE

    def plugin_modules(self, key: str = "plugins") -> list[str]:
        """The ``[kernel] plugins`` (or ``optional_plugins``, or ``builtins``) list, needed before
        the full schema is known."""
        kernel = self.data.get("kernel", {})
        modules = kernel.get(key, []) if isinstance(kernel, dict) else []
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            raise ConfigError(
                f"{self.source_of('kernel.' + key)}: kernel.{key}: expected a list of module names"
            )
        return modules

    def names_builtins(self) -> bool:
        """Whether the config chooses its built-in plugins (``[kernel] builtins``)."""
        kernel = self.data.get("kernel", {})
        return isinstance(kernel, dict) and "builtins" in kernel


@attrs.frozen
class Config:
    """A validated config: one options object per declared section."""

    raw: RawConfig
    sections: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.sections[name]

    @property
    def path(self) -> Path | None:
        return self.raw.path

    @property
    def base_dir(self) -> Path:
        return self.raw.path.parent if self.raw.path else Path.cwd()

    def as_dict(self) -> dict[str, Any]:
        """Every section's options; a repeated section (``[[name]]``) is a list of them."""
        return {
            name: [attrs.asdict(o) for o in opts] if isinstance(opts, list) else attrs.asdict(opts)
            for name, opts in sorted(self.sections.items())
        }


_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


#: Limits on what a config may be: its files are read whole, and every table is walked.
MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_EXTENDS = 64


def read_toml(path: Path, kind: str = "config") -> dict[str, Any]:
    """A config (or other ``kind`` of TOML) file's tables. Only a regular file of at most
    MAX_CONFIG_BYTES is read (a FIFO, a device or /dev/zero is refused, not waited on), and no
    table nests deeper than MAX_DEPTH."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {kind} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            what = "a directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "not a regular file"
            raise ConfigError(f"{path}: {what}; a {kind} is a TOML file")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: too large (more than {format_size(MAX_CONFIG_BYTES)}) for a {kind}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match:
            raise ConfigError(
                f"{path}:{match['line']}:{match['col']}: malformed TOML: {match['msg']}"
            ) from None
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: tables or arrays nested too deeply (at most {MAX_DEPTH})") from None
    except ValueError:  # an integer of more digits than Python converts
        raise ConfigError(f"{path}: malformed TOML: a number with too many digits") from None
    _check_depth(parsed, str(path))
    return parsed


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters for a one-line message."""
    return text if len(text) <= limit else text[: limit - 20] + "..."


def _check_depth(data: Any, where: str) -> None:
    """Tables and arrays nest at most MAX_DEPTH levels (every later step walks them)."""
    level = [data] if isinstance(data, dict | list) else []
    for _depth in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise ConfigError(f"{where}: tables or arrays nested too deeply (at most {MAX_DEPTH})")


def load_raw(path: str | Path) -> RawConfig:
    """Read ``path`` and the files it ``extends`` (relative to itself); later files win."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    path = Path(path)
    while True:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:
            raise ConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        if resolved in seen:
            cycle = " -> ".join(str(p) for p in (*seen, resolved))
            raise ConfigError(f"{chain[-1][0]}: extends: cycle: {cycle}")
        if len(chain) == MAX_EXTENDS:
            raise ConfigError(f"{chain[0][0]}: extends: a chain of more than {MAX_EXTENDS} files")
        seen.append(resolved)
        data = read_toml(path)
        parent_name = data.pop("extends", None)
        chain.append((path, data))
        if parent_name is None:
            break
        if not isinstance(parent_name, str):
            raise ConfigError(f"{path}: extends: expected a file name (string), got {parent_name!r}")
        parent_path = path.parent / parent_name
        try:
            exists = parent_path.exists()
        except OSError as exc:
            raise ConfigError(f"{path}: extends: {shorten(parent_name)!r}: {exc.strerror}") from None
        if not exists:
            raise ConfigError(f"{path}: extends: no such file {parent_path}")
        path = parent_path
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for file, data in reversed(chain):
        merged = _merge(merged, data)
        sources.update({key: str(file) for key in _dotted_keys(data)})
    return RawConfig(path=chain[0][0], data=merged, sources=sources)


def apply_overrides(raw: RawConfig, overrides: Mapping[str, Any], origin: str = COMMAND_LINE) -> RawConfig:
    """Set dotted keys (``machine.cores = 2``) on top of a raw config."""
    data = _merge(raw.data, {})
    sources = dict(raw.sources)
    for dotted, value in overrides.items():
        *tables, key = dotted.split(".")
        if not tables or not all(part.strip() for part in (*tables, key)):
            raise ConfigError(f"{origin}: {dotted}: expected a dotted key such as machine.cores")
        node = data
        for name in tables:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{origin}: {dotted}: {name} is not a table")
        node[key] = value
        sources[dotted] = origin
    return RawConfig(path=raw.path, data=data, sources=sources)


def merge_env(base: list[str] | tuple[str, ...], changes: list[str] | tuple[str, ...]) -> list[str]:
    """``base`` with each NAME=VALUE of ``changes`` replacing the same NAME (or appended)."""
    merged = {entry.partition("=")[0]: entry for entry in base}
    for pair in changes:
        if "=" not in pair or pair.startswith("="):
            raise ConfigError(f"--env {pair!r}: expected NAME=VALUE")
        merged[pair.partition("=")[0]] = pair
    return list(merged.values())


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as TOML, else taken as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{COMMAND_LINE}: {text!r}: expected KEY=VALUE such as machine.cores=2")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    except (ValueError, RecursionError):  # more digits than Python converts; nested too deeply
        raise ConfigError(f"{COMMAND_LINE}: {key.strip()}: a value too large or nested too deeply") from None
    _check_depth(parsed, f"{COMMAND_LINE}: {key.strip()}")
    return key.strip(), parsed


def validate(raw: RawConfig, sections: Iterable[ConfigSection]) -> Config:
    """Check every table and key of ``raw`` against the declared sections; fill in defaults."""
    schema = {section.name: section for section in sections}
    values: dict[str, dict[str, Any]] = {name: {} for name in schema if not schema[name].multiple}
    repeated = {name: section for name, section in schema.items() if section.multiple}
    data = {key: value for key, value in raw.data.items() if key not in repeated}
    _walk(raw, data, "", schema, values)
    built: dict[str, Any] = {}
    for name, section in schema.items():
        if section.multiple:
            built[name] = _repeated(raw, section, raw.data.get(name, []))
            continue
        try:
            built[name] = section.options(**values[name])
        except (TypeError, ValueError) as exc:  # a cross-field check in __attrs_post_init__
            raise ConfigError(f"{_section_source(raw, name)}: [{name}]: {exc}") from None
    return Config(raw=raw, sections=built)


def _section_source(raw: RawConfig, name: str) -> str:
    """Where a section's values came from: the command line if it set any (a cross-field check
    fails because of the last change), else the file."""
    prefix = name + "."
    if any(key.startswith(prefix) and origin == COMMAND_LINE for key, origin in raw.sources.items()):
        return COMMAND_LINE
    return raw.source_of(name)


def _repeated(raw: RawConfig, section: ConfigSection, tables: Any) -> list[Any]:
    """The options objects of an array of tables (``[[name]]``), each checked like a table."""
    name = section.name
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(
            f"{raw.source_of(name)}: {name}: expected tables written [[{name}]], "
            f"got {_describe_value(tables)}"
        )
    fields = {f.name: f for f in attrs.fields(attrs.resolve_types(section.options))}
    built = []
    for index, table in enumerate(tables):
        where = f"{name}[{index}]"
        values = {}
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(
                    f"{raw.source_of(name)}: {where}.{key}: unknown option{_suggest(key, fields)}; "
                    f"[[{name}]] has: {', '.join(fields)}"
                )
            values[key] = _check_field(raw, f"{where}.{key}", fields[key], value, raw.source_of(name))
        try:
            built.append(section.options(**values))
        except (TypeError, ValueError) as exc:  # a missing option or a cross-field check
            raise ConfigError(f"{raw.source_of(name)}: [[{name}]] #{index + 1}: {exc}") from None
    return built


def _walk(
    raw: RawConfig,
    table: Mapping[str, Any],
    prefix: str,
    schema: Mapping[str, ConfigSection],
    values: dict[str, dict[str, Any]],
) -> None:
    section = schema.get(prefix.rstrip("."))
    fields = {f.name: f for f in attrs.fields(attrs.resolve_types(section.options))} if section else {}
    for key, value in table.items():
        dotted = prefix + key
        if key in fields:
            values[section.name][key] = _check_field(raw, dotted, fields[key], value)
        elif isinstance(value, dict):
            if dotted in schema or any(name.startswith(dotted + ".") for name in schema):
                _walk(raw, value, dotted + ".", schema, values)
            else:
                raise ConfigError(
                    f"{raw.source_of(dotted)}: [{dotted}]: unknown section"
                    f"{_suggest(dotted, schema)}; known sections: {', '.join(sorted(schema))}"
                )
        elif section is None:
            if dotted in schema:
                raise ConfigError(
                    f"{raw.source_of(dotted)}: {dotted}: expected a table [{dotted}], "
                    f"got {_describe_value(value)}"
                )
            where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
            raise ConfigError(
                f"{raw.source_of(dotted)}: {dotted}: unexpected key at {where}; "
                f"options belong in a table such as [kernel] or [machine]"
            )
        else:
            raise ConfigError(
                f"{raw.source_of(dotted)}: {dotted}: unknown option{_suggest(key, fields)}; "
                f"[{section.name}] has: {', '.join(fields)}"
            )


def _check_field(
    raw: RawConfig, dotted: str, field: attrs.Attribute, value: Any, source: str | None = None
) -> Any:
    where = f"{source or raw.source_of(dotted)}: {dotted}"
    if field.converter is not None:
        try:
            value = field.converter(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    problem = _type_problem(value, field.type)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    if field.validator is not None:
        try:
            field.validator(None, field, value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {_validator_message(exc, field)}") from None
    return value


def _validator_message(exc: Exception, field: attrs.Attribute) -> str:
    choices = field.metadata.get("choices")
    if choices:
        got = exc.args[-1] if exc.args else "?"
        return f"expected one of {', '.join(map(repr, choices))}, got {got!r}"
    return str(exc)


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _type_problem(value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not fit ``annotation``, or None when it does."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return None
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if any(_type_problem(value, opt) is None for opt in options):
            return None
        return f"expected {' or '.join(_describe(o) for o in options)}, got {_describe_value(value)}"
    if origin is list:
        if not isinstance(value, list):
            return f"expected a list, got {_describe_value(value)}"
        (item,) = typing.get_args(annotation) or (Any,)
        for index, element in enumerate(value):
            problem = _type_problem(element, item)
            if problem:
                return f"item {index}: {problem}"
        return None
    if origin is dict:
        if not isinstance(value, dict):
            return f"expected a table, got {_describe_value(value)}"
        _, item = typing.get_args(annotation) or (str, Any)
        for key, element in value.items():
            problem = _type_problem(element, item)
            if problem:
                return f"key {key!r}: {problem}"
        return None
    if annotation is type(None):
        return None if value is None else f"expected nothing, got {_describe_value(value)}"
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return None if abs(value) < 1 << 64 else f"expected a number, got one of {value.bit_length()} bits"
    if annotation is float and isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    if annotation is int and isinstance(value, bool):
        return f"expected an integer, got {_describe_value(value)}"
    if annotation is int and isinstance(value, int) and not -(1 << 63) <= value < 1 << 64:
        return f"expected an integer of at most 64 bits, got one of {value.bit_length()} bits"
    if isinstance(annotation, type) and not isinstance(value, annotation):
        return f"expected {_describe(annotation)}, got {_describe_value(value)}"
    return None


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) is list:
        return "a list"
    if typing.get_origin(annotation) is dict:
        return "a table"
    return _TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _describe_value(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
    if isinstance(value, int) and value.bit_length() > 64:
        return f"{kind} of {value.bit_length()} bits"
    return f"{kind} ({shorten(repr(value))})"


def _suggest(word: str, candidates: Iterable[str]) -> str:
    import difflib  # only for a misspelt name: a boot of a valid config does without it

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in base.items():
        merged[key] = _merge(value, {}) if isinstance(value, dict) else value
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = _merge(value, {}) if isinstance(value, dict) else value
    return merged


def _dotted_keys(data: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in data.items():
        dotted = prefix + key
        yield dotted
        if isinstance(value, dict):
            yield from _dotted_keys(value, dotted + ".")


def to_toml(data: Mapping[str, Any]) -> str:
    """Render a resolved config (tables of scalars, lists and inline tables; lists of tables as
    arrays of tables) as TOML."""
    lines: list[str] = []

    for section, table in data.items():
        for entry in table if isinstance(table, list) else [table]:
            lines.append(f"[[{section}]]" if isinstance(table, list) else f"[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in entry.items())
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        return '""'
    return _toml_value(str(value))
