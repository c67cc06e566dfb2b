"""The one permission check of every command, button and API call, on every platform.

``authorize`` answers None when the actor may, else audits the refusal (``access.refused``) and
returns a polite bilingual Reply. New commands name their permission in ``COMMAND_PERMISSIONS``
(``handlers.commands``) and go through here; finer rules (a step's own role, overriding, one's own
actuation) call ``refuse`` for the same audit row and answer.
"""

import logging

from handlers.context import CoreContext
from handlers.ports import Reply
from handlers.text import CATALOGUE, say
from incidents import audit
from incidents.actors import Actor
from incidents.permissions import Permission, may, roles_with

log = logging.getLogger(__name__)


def permission_words(permission: Permission) -> tuple[str, str]:
    """What a permission lets one do, (zh, en): ``("关闭事件", "close incidents")``."""
    return CATALOGUE[f"perm_{permission.value}"]


def refuse(ctx: CoreContext, actor: Actor, *, reason: str, incident_id: int | None = None,
           object_type: str = "permission", object_id: str | None = None) -> None:
    """Audit a refused attempt in its own transaction: nothing else changes."""
    log.warning("refused %s (%s): %s", actor.name, actor.platform, reason)
    with ctx.db.unit_of_work() as session:
        audit.record(session, action="access.refused", actor=actor, incident_id=incident_id,
                     object_type=object_type, object_id=object_id, reason=reason, at=ctx.now())


def authorize(ctx: CoreContext, actor: Actor, permission: Permission, *, incident_id: int | None = None
              ) -> Reply | None:
    """None when ``actor`` holds ``permission`` (incidents.permissions); else the audited, polite refusal."""
    if may(actor, permission):
        return None
    refuse(ctx, actor, reason=f"missing permission {permission.value}", incident_id=incident_id,
           object_id=permission.value)
    return Reply(authorize_text(actor, permission), ok=False)


def authorize_text(actor: Actor, permission: Permission) -> str:
    """The polite, bilingual words of a refusal for want of ``permission`` (the caller audits it)."""
    zh, en = permission_words(permission)
    return say("not_permitted", roles=", ".join(actor.roles) or "-", what_zh=zh, what_en=en,
               allowed=", ".join(roles_with(permission)) or "admin")
