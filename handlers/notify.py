"""Turns domain changes into outbox rows for every enabled platform, in the caller's transaction (kept and
inserted together with its other rows: ``outbox.append``)."""

import uuid
from collections.abc import Sequence

from sqlmodel import Session

from handlers.drill_mark import mark
from handlers.ports import OutboundMessage
from incidents import outbox
from incidents.tables import Incident


def _marked(session: Session, incident_id: int, message: OutboundMessage) -> OutboundMessage:
    """A drill's messages say so in their title, on every platform."""
    incident = session.get(Incident, incident_id)
    return mark(message) if incident is not None and incident.drill else message


class Notifier:
    """Mirrors one incident to every platform: one thread each, kept in step."""

    def __init__(self, platforms: Sequence[str]) -> None:
        self.platforms = tuple(platforms)

    @staticmethod
    def key(incident_id: int, platform: str, suffix: str) -> str:
        return f"i{incident_id}:{platform}:{suffix}"

    def open_threads(self, session: Session, incident_id: int, header: OutboundMessage) -> None:
        """Open the incident's thread on every platform with its header message."""
        header = _marked(session, incident_id, header)
        for platform in self.platforms:
            outbox.append(session, incident_id=incident_id, platform=platform, op=outbox.OP_OPEN_THREAD,
                           payload={"message": header.to_json()}, key=self.key(incident_id, platform, "open"))

    def update_header(self, session: Session, incident_id: int, header: OutboundMessage) -> None:
        """Edit the root message everywhere."""
        header = _marked(session, incident_id, header)
        suffix = f"header:{uuid.uuid4().hex}"
        for platform in self.platforms:
            outbox.append(session, incident_id=incident_id, platform=platform, op=outbox.OP_UPDATE_HEADER,
                           payload={"message": header.to_json()}, key=self.key(incident_id, platform, suffix))

    def post(self, session: Session, incident_id: int, message: OutboundMessage, *, suffix: str | None = None) -> None:
        """Post into the thread everywhere; a stable ``suffix`` lets the message be edited later."""
        message = _marked(session, incident_id, message)
        suffix = suffix or f"{outbox.ONE_OFF_POST}{uuid.uuid4().hex}"
        for platform in self.platforms:
            outbox.append(session, incident_id=incident_id, platform=platform, op=outbox.OP_POST,
                           payload={"message": message.to_json()}, key=self.key(incident_id, platform, suffix))

    def edit(self, session: Session, incident_id: int, message: OutboundMessage, *, suffix: str) -> None:
        """Edit a message posted earlier with ``suffix``."""
        message = _marked(session, incident_id, message)
        edit_suffix = f"edit:{uuid.uuid4().hex}"
        for platform in self.platforms:
            outbox.append(session, incident_id=incident_id, platform=platform, op=outbox.OP_EDIT,
                           payload={"message": message.to_json(), "ref_key": self.key(incident_id, platform, suffix)},
                           key=self.key(incident_id, platform, edit_suffix))
