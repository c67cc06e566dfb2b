"""The thread becomes the timeline (issue 11, item 8).

``/note text`` (备注, 记录) on any platform adds a timeline entry (audit ``incident.note``) that the review
shows; on Slack and Telegram, pinning a thread message or reacting to it with an agreed emoji adds that
message to the timeline the same way: the adapters turn the pin or reaction into ``/note`` with a mark
(``PIN_MARK``, ``REACTION_MARK``) in front of the message's text, so the same identity, permission and
duplicate checks apply.
"""

from handlers import messages
from handlers.context import CoreContext
from handlers.ports import ChatEvent, Reply
from handlers.text import say
from incidents import audit
from incidents.actors import Actor

PIN_MARK = "📌"
REACTION_MARK = "✍"
SLACK_NOTE_REACTIONS = frozenset({"memo", "writing_hand", "pushpin"})
"""Slack reaction names (without colons) that put a message on the timeline: 📝 ✍️ 📌."""
TELEGRAM_NOTE_REACTIONS = frozenset({"✍", "✍️"})
"""Telegram reaction emoji that put a message on the timeline (✍ is one of Telegram's allowed reactions)."""
NOTE_MAX = 2000  # characters kept of a note: a long pinned message stays readable in the review


class NoteDesk:
    def __init__(self, ctx: CoreContext) -> None:
        self.ctx = ctx

    def note(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/note text``: a timeline entry of the thread's incident, audited and echoed in the thread."""
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        text = " ".join(args).strip()
        if not text:
            return Reply(say("note_usage"), ok=False)
        source = {PIN_MARK: "pin", REACTION_MARK: "reaction"}.get(args[0], "command")
        text = text[:NOTE_MAX]
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="incident.note", actor=actor, incident_id=event.incident_id,
                         at=self.ctx.now(), after={"text": text, "source": source})
            self.ctx.notifier.post(session, event.incident_id, messages.notice(
                event.incident_id, say("note_msg", who=actor.name, text=text)))
        self.ctx.wake_outbox()
        return Reply(say("note_added"))
