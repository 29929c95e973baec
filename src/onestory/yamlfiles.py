"""Reading the YAML files people write (data-sharing agreements, Victims' Code rules) so that
every error names the file and the line.

``read_mapping`` parses a file twice over: once to data, once to the node tree that remembers
where each value came from, so a validation error found in the data can be traced back to its
line with ``line_of``. Keys given twice are an error, because ``safe_load`` would silently keep
the last one and a rule must never vanish so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_mapping(path: Path, error: type[Exception], what: str) -> tuple[dict[str, Any], yaml.Node]:
    """The file's top-level mapping and its node tree; ``error`` (with file and line) if the
    file cannot be read, is not YAML, is not a mapping, or gives a key twice. ``what`` names
    the kind of file in messages, e.g. "an agreement"."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise error(f"{path}:{line}: not valid YAML: {exc.problem}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read: {exc}") from exc
    if root is None or not isinstance(data, dict):
        raise error(f"{path}:1: {what} must be a mapping of fields")
    duplicate = duplicate_key(root)
    if duplicate is not None:
        raise error(f"{path}:{duplicate.start_mark.line + 1}: {duplicate.value}: given twice")
    return data, root


def duplicate_key(node: yaml.Node) -> yaml.Node | None:
    """The first key given twice in one mapping anywhere in the document, if any."""
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        key: yaml.Node
        for key, value in node.value:
            if key.value in keys:
                return key
            keys.add(key.value)
            children.append(value)
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        found = duplicate_key(child)
        if found is not None:
            return found
    return None


def dotted(loc: tuple[str | int, ...]) -> str:
    """A location as people read it: ``grants[0].roles``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(file)"


def line_of(root: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """The 1-based line of the node at ``loc``, or of the nearest parent that exists.

    A missing field has no node of its own, so its error points at the mapping that lacks it.
    """
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1
