"""YAML built from the parser's events gives what ``yaml.safe_load`` gives, or hands the document back."""

from pathlib import Path

import pytest
import yaml

from bench.common import write_site
from bot.settings import PROJECT_ROOT
from incidents.rules import yaml_stream
from playbooks.yaml_lines import LineIndex

SHIPPED = sorted((PROJECT_ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_load_as_safe_load_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml_stream.load(text) == (yaml.safe_load(text), [])


def test_a_generated_registry_loads_as_safe_load_does(tmp_path: Path) -> None:
    text = write_site(tmp_path, probes=200, zones=10, sites=("SH-01", "SH-02")).read_text(encoding="utf-8")
    assert yaml_stream.load(text) == (yaml.safe_load(text), [])


def test_scalars_anchors_and_duplicate_keys() -> None:
    text = ("a: 1\nb: [2.5, .inf, ~, yes, '3', 2026-11-30]\nc: &shared {x: 1}\nd: *shared\n"
            "e:\n  x: 1\n  x: 2\na: 3\n")
    data, duplicates = yaml_stream.load(text) or (None, None)
    assert data == yaml.safe_load(text)
    assert duplicates == [(7, "x"), (8, "a")] == LineIndex.from_text(text).duplicate_keys()
    assert yaml_stream.load("") == (None, [])


@pytest.mark.parametrize("text", ["<<: {a: 1}\nb: 2\n", "!!set {a, b}\n", "a: !!python/name:os.system\n",
                                  "a: [1, 2\n", "---\na: 1\n---\nb: 2\n", "{[1]: 2}\n", "a: *missing\n"])
def test_what_only_the_full_loader_handles_is_handed_back(text: str) -> None:
    assert yaml_stream.load(text) is None
