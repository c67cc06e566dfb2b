"""Who may do what: the one written table of permissions by role (21 CFR 11.10(d), (g); Annex 11 §12).

Roles are the playbook role codes (``playbooks.schema.ROLES``). Administration is not a role: it is
the ``admin`` flag of a person, which grants ``ADMIN_PERMISSIONS``. ``handlers.authz.authorize`` is
the single check that every command, button and API call goes through.
"""

from collections.abc import Iterable
from enum import StrEnum

from incidents.actors import Actor


class Permission(StrEnum):
    READ = "read"  # see incidents, /status, /stock, the link to a review
    ACKNOWLEDGE = "acknowledge"
    MITIGATE = "mitigate"
    DECLARE = "declare"  # start an incident by hand (/incident fire D1): anyone may raise an alarm
    STEP = "step"  # do or claim a step; the step's own role is checked as well
    SKIP_STEP = "skip_step"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    OVERRIDE = "override"  # resolve with unfinished steps, giving a reason
    CONFIRM_ACTUATION = "confirm_actuation"  # and the action's ``confirm_by`` role; never one's own request
    SILENCE = "silence"  # set a silence or shelve an alarm
    CHANGE_SEVERITY = "change_severity"
    EXPORT_REVIEW = "export_review"
    MANAGE_PEOPLE = "manage_people"  # directory, chat links, API tokens, sessions: the admin pages
    ASSIGN_COMMANDER = "assign_commander"  # /assign the incident commander (the commander may /handover)
    EDIT_MILESTONES = "edit_milestones"  # correct an incident's milestone times, with a reason


P = Permission
_ALL_HANDS = frozenset({P.READ, P.ACKNOWLEDGE, P.DECLARE, P.STEP})
_LEAD = _ALL_HANDS | {P.MITIGATE, P.SKIP_STEP, P.RESOLVE, P.REOPEN, P.CONFIRM_ACTUATION, P.SILENCE,
                      P.CHANGE_SEVERITY, P.ASSIGN_COMMANDER}
_MANAGER = _LEAD | {P.CLOSE, P.OVERRIDE, P.EXPORT_REVIEW, P.EDIT_MILESTONES}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "SL": _LEAD,
    "WM": _MANAGER,
    "OD": _MANAGER,
    "QA": _ALL_HANDS | {P.SKIP_STEP, P.RESOLVE, P.CLOSE, P.REOPEN, P.OVERRIDE, P.CHANGE_SEVERITY, P.EXPORT_REVIEW,
                        P.EDIT_MILESTONES},
    "SO": _LEAD - {P.SILENCE},
    "MT": _ALL_HANDS | {P.MITIGATE, P.SKIP_STEP, P.CONFIRM_ACTUATION, P.SILENCE},
    "FW": _ALL_HANDS,
    "IC": _ALL_HANDS,
    "TC": _ALL_HANDS,
    "IT": _ALL_HANDS | {P.MITIGATE},
    "SEC": _ALL_HANDS,
    "CS": _ALL_HANDS - {P.ACKNOWLEDGE},
}
"""Role code → what people holding it may do."""

ADMIN_PERMISSIONS: frozenset[Permission] = frozenset({P.READ, P.MANAGE_PEOPLE, P.EXPORT_REVIEW})
"""What the ``admin`` flag grants, on top of a person's roles (an admin without roles acts on no incident)."""


def permissions_of(roles: Iterable[str], *, admin: bool = False) -> frozenset[Permission]:
    """Everything a person with ``roles`` (and the admin flag) may do; unknown codes grant nothing."""
    granted: set[Permission] = set(ADMIN_PERMISSIONS) if admin else set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def may(actor: Actor, permission: Permission) -> bool:
    """True when ``actor`` holds ``permission`` through a role or the admin flag."""
    return permission in permissions_of(actor.roles, admin=actor.admin)


def roles_with(permission: Permission) -> list[str]:
    """The role codes that grant ``permission``, in table order (for refusals: "ask WM, QA")."""
    return [role for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def table() -> list[tuple[Permission, list[str], bool]]:
    """The table as rows (permission, roles, granted by admin), for the admin page and the docs."""
    return [(permission, roles_with(permission), permission in ADMIN_PERMISSIONS) for permission in Permission]
