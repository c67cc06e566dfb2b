"""Escalation policies: who is paged first, and who next when nobody acknowledges in time."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from incidents.severity import Severity


class EscalationLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_seconds: int = Field(gt=0, description="seconds after the incident opened")
    role: str
    qualification: str | None = Field(default=None, description="page only holders of the role with this "
                                                                "qualification valid (incidents.staffing)")


class SeverityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: list[str] = Field(min_length=1, description="roles notified when the incident opens")
    levels: list[EscalationLevel] = Field(default_factory=list)
    remind_every_seconds: int | None = Field(
        default=None, gt=0, description="repeat the acknowledge request this often while nobody acknowledges")
    status_update_seconds: int | None = Field(
        default=None, gt=0, description="ask the incident commander for a status update this often until resolved")


class EscalationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policies: dict[Severity, SeverityPolicy]

    def for_severity(self, severity: Severity) -> SeverityPolicy:
        """The policy for ``severity``, or the next milder one that is configured."""
        for candidate in sorted(Severity, key=lambda s: s.rank):
            if candidate.rank >= severity.rank and candidate in self.policies:
                return self.policies[candidate]
        return SeverityPolicy(first=["SL"])


def load_escalation(path: Path) -> EscalationConfig:
    """Read ``escalation.yaml``; a broken file raises with the file name in the message."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return EscalationConfig.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: cannot load the escalation policy: {exc}") from exc


@dataclass(frozen=True, slots=True)
class EscalationStep:
    level: int
    role: str
    due_at: datetime
    qualification: str | None = None


def policy_snapshot(policy: SeverityPolicy) -> list[dict[str, Any]]:
    """The levels as JSON, copied onto the incident so later edits do not change it."""
    return [level.model_dump(exclude_none=True) for level in policy.levels]


def next_step(snapshot: list[dict[str, Any]], *, opened_at: datetime, level: int) -> EscalationStep | None:
    """The escalation after ``level`` (0 = nobody escalated yet), or None at the end of the chain."""
    if level >= len(snapshot):
        return None
    entry = EscalationLevel.model_validate(snapshot[level])
    return EscalationStep(level + 1, entry.role, opened_at + timedelta(seconds=entry.after_seconds),
                          entry.qualification)
