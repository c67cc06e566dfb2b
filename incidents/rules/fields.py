"""Building blocks shared by the rule, registry and noise-control config models."""

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from incidents.severity import Severity
from playbooks.durations import duration_seconds


def as_list(value: object) -> object:
    """A single string as a one-item list, so ``zones: D1`` means ``zones: [D1]``."""
    return [value] if isinstance(value, str) else value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Seconds = Annotated[float, BeforeValidator(duration_seconds), Field(ge=0)]
StrList = Annotated[list[str], BeforeValidator(as_list)]
SeverityWord = Annotated[Severity, BeforeValidator(_upper)]


class ConfigModel(BaseModel):
    """Frozen, refuses unknown keys (so a typo is reported with a suggestion), accepts aliases."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BilingualText(ConfigModel):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RuleBase(ConfigModel):
    """What every rule has: an id, a bilingual title, a level, who hears of it and what it starts."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: BilingualText
    severity: SeverityWord
    playbook: str | None = None
    recipients: StrList = Field(default_factory=list)
    enabled: bool = True
    latching: bool = False  # ISA-18.2 latched alarm: stays until a person holding a ``reset_by`` role resets it
    reset_by: StrList = Field(default_factory=lambda: ["SL", "WM", "QA"])
    max_shelve: Seconds = Field(default=8 * 3600.0, gt=0)  # OPC UA MaxTimeShelved; default one shift
