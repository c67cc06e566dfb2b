"""Map paths inside a YAML document (keys and list indexes) to their line numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

PathPart = str | int


class LineIndex:
    """Line numbers of the nodes of one composed YAML document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    @classmethod
    def from_text(cls, text: str) -> LineIndex:
        """Compose `text` (raises yaml.YAMLError on bad syntax) and index it."""
        return cls(yaml.compose(text, Loader=yaml.SafeLoader))

    @classmethod
    def parse(cls, text: str) -> tuple[Any, LineIndex]:
        """Parse `text` once into its data and its line index (raises yaml.YAMLError on bad syntax)."""
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
        return data, cls(root)

    def line(self, path: Sequence[PathPart]) -> int:
        """The 1-based line of the deepest node `path` reaches; parts that match nothing are passed over."""
        node = self._root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            found = _child(node, part)
            if found is None:
                continue
            node, line = found
        return line

    def duplicate_keys(self) -> list[tuple[int, str]]:
        """(line, key) of every mapping key written a second time in the same mapping."""
        found: list[tuple[int, str]] = []
        pending = [self._root] if self._root is not None else []
        while pending:
            node = pending.pop()
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in seen:
                            found.append((key.start_mark.line + 1, key.value))
                        seen.add(key.value)
                    pending.append(value)
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(node.value)
        return sorted(found)


def error_line(error: yaml.YAMLError) -> int:
    """The 1-based line a YAML syntax error points at (1 when it names none)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 if mark is not None else 1


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node, int] | None:
    """The child at `part` and the line to report for it (a key's own line for mapping entries)."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value, key.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item.start_mark.line + 1
    return None
