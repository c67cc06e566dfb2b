"""YAML data built straight from the parser's events, without the node tree PyYAML composes first.

``yaml.safe_load`` composes the whole document into nodes (each scalar a node with two marks) before it
builds any data: 17 MB of short-lived objects for a registry of 5,000 devices with libyaml, 28 MB with the
pure-Python parser, and the small-object arenas they leave behind stay resident. Building from events keeps
one event alive at a time. The values are those of ``yaml.safe_load`` (the same resolver and SafeConstructor
turn each scalar into its value; later duplicate keys win); documents that use what only the full loader
handles (explicit tags on collections, merge keys ``<<``, unknown tags, several documents, a syntax error)
return ``None`` so the caller loads them the usual way.
"""

from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML was built with it
_PLAIN_TAGS = (None, "!")
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


class _NeedsFullLoader(Exception):
    """The document uses something only the full loader handles."""


def load(text: str) -> tuple[Any, list[tuple[int, str]]] | None:
    """(data, duplicate keys as sorted (1-based line, key)) of a single YAML document, or None when the full
    loader must read it (see the module's docstring)."""
    loader = _Loader(text)
    try:
        return _Builder(loader).document()
    except (_NeedsFullLoader, yaml.YAMLError):
        return None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._anchors: dict[str, Any] = {}
        self._duplicates: list[tuple[int, str]] = []

    def document(self) -> tuple[Any, list[tuple[int, str]]]:
        loader = self._loader
        loader.get_event()  # StreamStartEvent
        data = None
        if not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStartEvent
            data = self._node()
            loader.get_event()  # DocumentEndEvent
        if not isinstance(loader.get_event(), yaml.StreamEndEvent):
            raise _NeedsFullLoader("several documents")
        return data, sorted(self._duplicates)

    def _node(self) -> Any:
        event = self._loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self._anchors:
                raise _NeedsFullLoader("unknown alias")
            return self._anchors[event.anchor]
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            value = self._collection(event, _SEQ, [])
        elif isinstance(event, yaml.MappingStartEvent):
            value = self._collection(event, _MAP, {})
        else:
            raise _NeedsFullLoader(f"unexpected {event}")
        return value

    def _scalar(self, event: Any) -> Any:
        loader, tag = self._loader, event.tag
        if tag in _PLAIN_TAGS:
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        construct = loader.yaml_constructors.get(tag)
        if construct is None or tag == "tag:yaml.org,2002:merge":
            raise _NeedsFullLoader(f"tag {tag}")
        value = construct(loader, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style))
        if event.anchor is not None:
            self._anchors[event.anchor] = value
        return value

    def _collection(self, event: Any, kind: str, value: Any) -> Any:
        if event.tag not in _PLAIN_TAGS and event.tag != kind:
            raise _NeedsFullLoader(f"tag {event.tag}")
        if event.anchor is not None:
            self._anchors[event.anchor] = value
        loader = self._loader
        end = yaml.SequenceEndEvent if kind == _SEQ else yaml.MappingEndEvent
        seen: set[str] = set()
        while not loader.check_event(end):
            if kind == _SEQ:
                value.append(self._node())
                continue
            key_event = loader.peek_event()
            key = self._node()
            if isinstance(key_event, yaml.ScalarEvent):
                if key_event.value in seen:
                    mark = key_event.start_mark
                    self._duplicates.append((mark.line + 1 if mark is not None else 1, key_event.value))
                seen.add(key_event.value)
            try:
                value[key] = self._node()
            except TypeError:  # an unhashable key: the full loader names it
                raise _NeedsFullLoader("unhashable key") from None
        loader.get_event()
        return value
