"""What the web chat shows on a playbook step's card beyond the card itself: what the step asks for (a
number and its unit, a photo…) and the answer recorded for it (the handheld reading of ``/done 7.9``, the
photos' SHA-256 digests)."""

import re
from typing import Any

from handlers.playbook_flow import PlaybookFlow
from incidents.tables import Incident
from playbooks.run_state import RunState

SHA256 = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def evidence_digests(answer: Any) -> list[str]:
    """The SHA-256 digests (64 lowercase hex digits) in a recorded answer: a digest (bare or as a photo step
    records it, ``sha256:<hex>``), a list of them, or mappings with a ``sha256`` key; other values give none."""
    items = answer if isinstance(answer, list) else [answer]
    found = [item.get("sha256") if isinstance(item, dict) else item for item in items]
    return [match.group(1) for digest in found if isinstance(digest, str) and (match := SHA256.match(digest))]


def step_facts(playbooks: PlaybookFlow, incident: Incident) -> list[dict[str, Any]]:
    """Each step of the incident's playbook run: ``{step_id, status, input: {type, id, unit} | None,
    answer, evidence: [sha256…]}``; empty for an incident without a playbook (or one no longer loaded)."""
    if incident.playbook_id is None or incident.playbook_state is None:
        return []
    loaded = playbooks.library.get(incident.playbook_id)
    if loaded is None:
        return []
    state = RunState.from_json(incident.playbook_state)
    facts = []
    for step in loaded.playbook.all_steps():
        spec = step.input
        answer = state.answers.get(spec.id) if spec is not None else None
        facts.append({
            "step_id": step.id, "status": state.steps[step.id].status if step.id in state.steps else "pending",
            "input": None if spec is None else {"type": spec.type, "id": spec.id,
                                                "unit": getattr(spec, "unit", None) or ""},
            "answer": answer, "evidence": evidence_digests(answer),
        })
    return facts
