"""Class names for the formats that number classes without naming them: `classes.txt` (one name per line, the
line number is the class id) and the `names:` of a YOLO `data.yaml`/`dataset.yaml`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from authentic.annotations.model import Category
from authentic.errors import InvalidInput

NAMES_FILES = ("data.yaml", "dataset.yaml", "classes.txt")


def read_names(root: Path) -> list[str] | None:
    """Class names from `data.yaml`/`dataset.yaml` or `classes.txt` at the folder's top; None when none.
    Raises `InvalidInput` when a file cannot be read or two files disagree."""
    found: dict[str, list[str]] = {}
    for name in NAMES_FILES:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8-sig")
        try:
            names = _classes_txt(text) if name.endswith(".txt") else parse_yaml_names(text)
        except ValueError as exc:
            raise InvalidInput(f"{name}: {exc}") from exc
        if names is not None:
            found[name] = names
    if not found:
        return None
    (first, names), *others = found.items()
    for other, other_names in others:
        if other_names != names:
            raise InvalidInput(f"{first} and {other} name the classes differently: {names} and {other_names}")
    if len(set(names)) != len(names):
        raise InvalidInput(f"{first} repeats a class name: {names}")
    return names


def _classes_txt(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ValueError(f"line {number} is empty (the line number is the class id)")
    if not lines:
        raise ValueError("names no class")
    return lines


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return token[1:-1].replace("''", "'")
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return str(json.loads(token))
    return token


def _split_flow(body: str) -> list[str]:
    """Split `a, 'b, c', "d"` on the commas outside quotes."""
    tokens = re.findall(r"""\s*('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,]+)\s*(?:,|$)""", body)
    return [token for token in tokens if token.strip()]


def _names_from_pairs(pairs: list[tuple[str, str]]) -> list[str]:
    by_id: dict[int, str] = {}
    for key, value in pairs:
        if not key.strip().isdecimal():
            raise ValueError(f"'names' keys must be class ids, got {key.strip()!r}")
        if int(key) in by_id:
            raise ValueError(f"'names' lists class id {int(key)} twice")
        by_id[int(key)] = _unquote(value)
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"'names' class ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}")
    return [by_id[index] for index in range(len(by_id))]


def _names_flow(value: str) -> list[str]:
    if value.startswith("[") and value.endswith("]"):
        return [_unquote(token) for token in _split_flow(value[1:-1])]
    if value.startswith("{") and value.endswith("}"):
        pairs = [token.partition(":") for token in _split_flow(value[1:-1])]
        return _names_from_pairs([(key, name) for key, _, name in pairs])
    raise ValueError(f"cannot read 'names: {value}'; write it as a list or as 'id: name' lines")


def _names_block(lines: Iterable[str]) -> list[str]:
    items: list[str] = []
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if not line[0].isspace() and not line.startswith("-"):
            break  # the next top-level key
        entry = line.strip()
        if entry.startswith("-"):
            items.append(_unquote(entry[1:]))
        else:
            key, colon, name = entry.partition(":")
            if not colon:
                raise ValueError(f"cannot read the 'names' entry {entry!r}")
            pairs.append((key, name))
    if items and pairs:
        raise ValueError("'names' mixes '- name' and 'id: name' entries")
    return items or _names_from_pairs(pairs)


def parse_yaml_names(text: str) -> list[str] | None:
    """The top-level `names:` of a YOLO dataset YAML, without a YAML library (PyYAML is not a runtime
    dependency): a block list (`- ace`), a block mapping (`0: ace`), or a flow list or mapping. None when
    the file has no `names`."""
    lines = text.splitlines()
    for number, raw in enumerate(lines):
        match = re.match(r"^(['\"]?)names\1\s*:(.*)$", raw)
        if not match:
            continue
        value = _strip_comment(match.group(2)).strip()
        names = _names_flow(value) if value else _names_block(lines[number + 1 :])
        if not names or not all(names):
            raise ValueError("'names' lists no class, or an empty name")
        return names
    return None


def require_names(root: Path) -> tuple[Category, ...]:
    names = read_names(root)
    if names is None:
        raise InvalidInput(f"no class names in {root}: add classes.txt (one name per line) or data.yaml 'names'")
    return tuple(Category(index, name) for index, name in enumerate(names))
