"""What the message catalogues cost: reading them at start, and one sentence per reader.

Run: ``.venv/bin/python -m bench.i18n_messages``. Prints, in milliseconds, the first read of the shipped
catalogues from their ``.mo`` files and from their ``.po`` files compiled in memory (a fresh checkout
before ``pybabel compile``), then, in microseconds per sentence, ``say`` in the shared ``both``, the
same sentence given again to an English reader (``for_reader``), and the same-run baseline of what
``say`` did before the catalogues: a ``(zh, en)`` tuple from a dict, each formatted and joined.
"""

import shutil
import tempfile
import time
from pathlib import Path

from bench.common import report
from handlers import i18n
from handlers.i18n_catalogue import compile_all
from handlers.text import say

ROUNDS = 20_000
TUPLES = {"acked_msg": ("{who} 已确认事件。", "{who} acknowledged the incident.")}


def _first_read(folder: Path) -> float:
    """Milliseconds to read zh, en and vi from ``folder`` with nothing cached."""
    i18n.configure(extra_dirs=[folder])
    i18n.reload()
    start = time.perf_counter()
    for language in ("zh", "en", "vi"):
        i18n.template("status", language)
    return (time.perf_counter() - start) * 1000


def _per_call(action: "object") -> float:
    assert callable(action)
    start = time.perf_counter()
    for _ in range(ROUNDS):
        action()
    return (time.perf_counter() - start) / ROUNDS * 1e6


def _old_say() -> str:
    zh, en = TUPLES["acked_msg"]
    return f"{zh.format(who='Wang')}\n{en.format(who='Wang')}"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "locale"
        shutil.copytree(i18n.LOCALE_DIR, folder, ignore=shutil.ignore_patterns("*.mo"))
        report("catalogues_first_read_from_po_ms", f"{_first_read(folder):.1f}")
        compile_all(folder)
        report("catalogues_first_read_from_mo_ms", f"{_first_read(folder):.1f}")
    i18n.configure()
    i18n.reload()
    said = say("acked_msg", who="Wang")
    report("say_both_us", f"{_per_call(lambda: say('acked_msg', who='Wang')):.2f}")
    report("for_reader_en_us", f"{_per_call(lambda: i18n.for_reader(said, 'en')):.2f}")
    report("baseline_tuple_format_us", f"{_per_call(_old_say):.2f}")


if __name__ == "__main__":
    main()
