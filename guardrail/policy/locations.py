"""YAML text -> plain Python data plus a map from field path to (line, column).

ruamel.yaml's round-trip loader keeps the position of every key and item; we flatten that
into `{("rules", 0, "action"): (line, column)}` (1-based) so that pydantic errors, whose
`loc` is such a path, can name the line a person has to fix.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

Path_ = tuple[str | int, ...]
Locations = dict[Path_, tuple[int, int]]


def parse_yaml(text: str) -> tuple[Any, Locations]:
    """Parse YAML text; return plain data (dict/list/scalars) and the locations map."""
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    node = yaml.load(text)
    locations: Locations = {(): (1, 1)}
    return _plain(node, (), locations), locations


def _plain(node: Any, path: Path_, locations: Locations) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            line, col = node.lc.key(key)
            locations[(*path, str(key))] = (line + 1, col + 1)
            out[str(key) if not isinstance(key, str) else key] = _plain(
                value, (*path, str(key)), locations
            )
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            locations[(*path, index)] = (line + 1, col + 1)
            items.append(_plain(value, (*path, index), locations))
        return items
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar string subclasses
    return node


def locate(locations: Locations, path: Path_) -> tuple[int, int] | None:
    """Position of `path`, or of its nearest ancestor that exists in the file."""
    for end in range(len(path), -1, -1):
        found = locations.get(tuple(path[:end]))
        if found is not None:
            return found
    return None
