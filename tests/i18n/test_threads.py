"""A site whose shared threads are in one language: step cards and labels in it, bilingual sources picked."""

import re

from handlers import i18n
from handlers.messages import StepView, step_message

HAN = re.compile(r"[\u4e00-\u9fff]")
VIEW = StepView(step_id="verify", number=1, total=9, title_zh="核实读数", title_en="Verify the reading",
                instructions_zh="用手持温度计测量。", instructions_en="Measure with the handheld thermometer.",
                role="SL", due="11-25 10:15 CST", safety=False)


def test_step_cards_follow_the_sites_thread_language(language_setup: None) -> None:
    both = step_message(7, VIEW)
    assert both.title == "步骤 Step 1/9 · 核实读数 / Verify the reading"
    assert both.body == "用手持温度计测量。\nMeasure with the handheld thermometer."
    i18n.configure(shared="en")
    english = step_message(7, VIEW)
    assert english.title == "Step 1/9 · Verify the reading"
    assert english.body == "Measure with the handheld thermometer."
    assert [b.label for b in english.buttons] == ["Done", "Claim", "Skip"]
    assert not HAN.search(" ".join(name for name, _ in english.fields))
    i18n.configure(shared="zh")
    chinese = step_message(7, VIEW)
    assert chinese.title == "步骤 1/9 · 核实读数" and chinese.body == "用手持温度计测量。"
