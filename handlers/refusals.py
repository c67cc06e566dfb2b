"""The domain's refusals (``incidents``), said in the reader's language.

The domain raises them with a bilingual message (``zh / en``) because it cannot reach the catalogues; the
use cases answer a person with ``refusal_text(exc)``, which says the same from the catalogues, so that an
English reader gets the English only and ``both`` keeps the one-line ``zh / en`` form.
"""

from handlers.i18n import Phrase
from incidents.lifecycle import STATUS_TEXT, InvalidTransition
from incidents.service import IncidentNotFound, ReasonRequired


class Refusal(Phrase):
    """A refusal on one line: ``中文 / English`` for ``both``."""

    joiner = " / "


def refusal_text(exc: Exception) -> str:
    """What to answer the person whose action ``exc`` refused; an exception not known here as it says."""
    if isinstance(exc, InvalidTransition):
        zh, en = STATUS_TEXT[exc.current]
        return Refusal("invalid_transition", {"status_zh": zh, "status_en": en.lower(),
                                              "action": exc.transition.value})
    if isinstance(exc, IncidentNotFound):
        return Refusal("incident_not_found", {"id": exc.incident_id})
    if isinstance(exc, ReasonRequired):
        return Refusal("reason_required", {"what_zh": exc.what_zh, "what_en": exc.what_en})
    return str(exc)
