"""Which language a rendered review shows: Chinese, English, or both (Chinese first)."""

from typing import Literal, get_args

from handlers.review_model import Bi

Lang = Literal["zh", "en", "both"]
LANGS: tuple[Lang, ...] = get_args(Lang)


def pick(text: Bi, lang: Lang) -> str:
    """The text in ``lang``; both languages as ``中文 English`` (one of them when they read the same)."""
    if lang == "zh":
        return text.zh
    if lang == "en":
        return text.en
    return text.zh if text.zh == text.en else f"{text.zh} {text.en}"
