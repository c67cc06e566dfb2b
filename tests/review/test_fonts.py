"""Chinese in charts survives a matplotlib font cache written before the Chinese font was installed."""

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import ROOT

PROBE = """
import matplotlib.font_manager as fm
stale = not any("CJK" in f.name for f in fm.fontManager.ttflist)
from integrations.export.chart import ensure_cjk_font
print(stale, ensure_cjk_font(), "NotoSansCJK" in fm.findfont(fm.FontProperties(family="Noto Sans CJK SC")))
"""


def test_a_stale_font_cache_is_mended_from_fontconfig(tmp_path: Path) -> None:
    def run(config: Path) -> str:
        return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT,
                              env={"MPLCONFIGDIR": str(config), "PATH": "/usr/bin:/bin"}).stdout.strip()

    fresh = tmp_path / "fresh"
    assert run(fresh) == "False True True"  # a cache built now knows the font
    listed = next(fresh.glob("fontlist-*.json"))
    cache = json.loads(listed.read_text(encoding="utf-8"))
    cache["ttflist"] = [font for font in cache["ttflist"] if "CJK" not in font["name"]]
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / listed.name).write_text(json.dumps(cache), encoding="utf-8")
    assert run(stale) == "True True True"  # the cache lacked it; the chart module found it all the same
