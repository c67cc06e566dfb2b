"""Pydantic models of the playbook.warehouse/v1 YAML format."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ROLES: dict[str, tuple[str, str]] = {
    "SL": ("班组长", "Shift lead"),
    "WM": ("仓库经理", "Warehouse manager"),
    "OD": ("运营总监", "Operations director"),
    "SO": ("安全主管", "Safety officer"),
    "FW": ("消防疏散引导员", "Fire warden"),
    "MT": ("设备/动力维修", "Maintenance technician"),
    "QA": ("质量负责人", "QA manager"),
    "IC": ("库存管理员", "Inventory controller"),
    "CS": ("客服", "Customer service"),
    "TC": ("运输调度", "Transport coordinator"),
    "IT": ("WMS/IT 管理员", "WMS/IT administrator"),
    "SEC": ("安保", "Security"),
}
ANYONE = "anyone"

Role: TypeAlias = Literal["SL", "WM", "OD", "SO", "FW", "MT", "QA", "IC", "CS", "TC", "IT", "SEC"]
Assignee: TypeAlias = Literal["SL", "WM", "OD", "SO", "FW", "MT", "QA", "IC", "CS", "TC", "IT", "SEC", "anyone"]
Severity: TypeAlias = Literal["SEV1", "SEV2", "SEV3", "SEV4"]

DURATION_PATTERN = r"^[0-9]+[smhd]$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
OPTION_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

Duration = Annotated[str, Field(pattern=DURATION_PATTERN, description="30s, 5m, 2h or 3d")]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="lowercase letters, digits and hyphens")]
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lowercase letters, digits and underscores")]
Expression = Annotated[str, Field(min_length=1, description="simpleeval expression over answers and context")]


class Model(BaseModel):
    """Base for every playbook model: unknown keys are errors and values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """A human-facing text in Chinese and English; both are required."""

    zh: str
    en: str

    @field_validator("zh", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class Option(Model):
    """One answer a choice input offers."""

    value: str = Field(pattern=OPTION_PATTERN, description="lowercase letters, digits, - and _")
    label: Text


class NumberInput(Model):
    """A number answer, such as a temperature or a quantity."""

    type: Literal["number"]
    id: Name
    label: Text
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    required: bool = True

    @model_validator(mode="after")
    def _range_is_ordered(self) -> NumberInput:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self


class ChoiceInput(Model):
    """One answer picked from a fixed list of options."""

    type: Literal["choice"]
    id: Name
    label: Text
    options: list[Option] = Field(min_length=2)
    required: bool = True

    @field_validator("options")
    @classmethod
    def _values_unique(cls, options: list[Option]) -> list[Option]:
        values = [option.value for option in options]
        for value in values:
            if values.count(value) > 1:
                raise ValueError(f'option "{value}" is listed twice')
        return options


class YesNoInput(Model):
    """A yes or no answer (true or false in expressions)."""

    type: Literal["yes_no"]
    id: Name
    label: Text
    required: bool = True


class TextInput(Model):
    """A free-text answer."""

    type: Literal["text"]
    id: Name
    label: Text
    required: bool = True


class PhotoInput(Model):
    """One or more photo references as evidence."""

    type: Literal["photo"]
    id: Name
    label: Text
    min_count: int = Field(default=1, ge=1)
    required: bool = True


Input = Annotated[NumberInput | ChoiceInput | YesNoInput | TextInput | PhotoInput, Field(discriminator="type")]


class NotifyRole(Model):
    """Send a message to everyone on duty in a role."""

    action: Literal["notify_role"]
    role: Role
    message: Text
    at: Literal["start", "done"] = "done"


class SignatureSpec(Model):
    """An electronic signature is needed (21 CFR 11.50): what signing means, e.g. QA release."""

    meaning: Text


class MqttPublish(Model):
    """Publish to an MQTT topic once a person in `confirm_by` has confirmed it."""

    action: Literal["mqtt.publish"]
    topic: str = Field(min_length=1)
    payload: dict[str, Any] | str
    confirm_by: Role
    at: Literal["start", "done"] = "done"
    signature: SignatureSpec | None = None


class Webhook(Model):
    """POST the run's context to a URL."""

    action: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    at: Literal["start", "done"] = "done"


class SetSeverity(Model):
    """Change the incident's severity, with the reason recorded."""

    action: Literal["set_severity"]
    severity: Severity
    reason: Text
    at: Literal["start", "done"] = "done"


class StartPlaybook(Model):
    """Start another playbook as a linked incident."""

    action: Literal["start_playbook"]
    playbook: Slug
    at: Literal["start", "done"] = "done"


Action = Annotated[NotifyRole | MqttPublish | Webhook | SetSeverity | StartPlaybook, Field(discriminator="action")]


class Timeouts(Model):
    """How long a step may wait to be claimed (ack) and to be done (complete)."""

    ack: Duration | None = None
    complete: Duration | None = None
    on_timeout: Literal["escalate", "remind"] = "remind"
    escalate_to: Role | None = None

    @model_validator(mode="after")
    def _escalation_has_target(self) -> Timeouts:
        if self.ack is None and self.complete is None:
            raise ValueError('timeouts need "ack" or "complete"')
        if self.on_timeout == "escalate" and self.escalate_to is None:
            raise ValueError('on_timeout "escalate" needs "escalate_to": the role to escalate to')
        if self.on_timeout == "remind" and self.escalate_to is not None:
            raise ValueError('"escalate_to" is only used with on_timeout "escalate"')
        return self


class Repeat(Model):
    """Ask for the step again every `every`, at most `max` times or until `until` holds."""

    every: Duration
    max: int | None = Field(default=None, ge=2)
    until: Expression | None = None

    @model_validator(mode="after")
    def _has_a_stop(self) -> Repeat:
        if self.max is None and self.until is None:
            raise ValueError('repeat needs "max" or "until"')
        return self


class Branch(Model):
    """Where a decision step goes next: the first branch whose `when` holds wins."""

    when: Expression | None = None
    goto: Slug


class Source(Model):
    """A document a playbook or step follows: which one, which clause, and where to read it.

    Give a link (``url``) or an edition (``edition``), or both, so that a reader can find the text.
    """

    document: str = Field(min_length=1, description="e.g. OSHA 29 CFR 1910.38 or 药品经营质量管理规范")
    clause: str | None = Field(default=None, min_length=1, description="section or clause, e.g. (c)(4) or 第八十九条")
    url: str | None = Field(default=None, pattern=r"^https?://")
    edition: str | None = Field(default=None, min_length=1, description="e.g. 2016年修正 or 2002 (67 FR 67961)")

    @model_validator(mode="after")
    def _can_be_found(self) -> Source:
        if self.url is None and self.edition is None:
            raise ValueError(f'source "{self.document}" needs "url" or "edition" so that a reader can find it')
        return self

    def citation(self) -> str:
        """``OSHA 29 CFR 1910.38 (c)(4)``: the document and its clause, without the link."""
        return f"{self.document} {self.clause}" if self.clause else self.document


class Quorum(Model):
    """The step is done when ``need`` holders of its role have confirmed it: ``all`` of them (those on shift
    when the roster has shifts for the role), or a number ("2 of 3 shift leads")."""

    need: int | Literal["all"] = Field(default="all", description='"all", or how many holders of the role')

    @model_validator(mode="after")
    def _positive(self) -> Quorum:
        if isinstance(self.need, int) and self.need < 1:
            raise ValueError('"need" is "all" or a number of at least 1')
        return self


class StepFields(Model):
    """Fields shared by steps and the parts of a parallel group."""

    id: Slug
    title: Text
    instructions: Text | None = None
    role: Assignee | None = None
    fallback_roles: list[Role] = Field(default_factory=list)
    safety: bool = False
    when: Expression | None = None
    input: Input | None = None
    confirm: Literal["ack", "two_person"] = "ack"
    quorum: Quorum | None = Field(default=None, description="confirmations from all or N holders of the role")
    timeouts: Timeouts | None = None
    actions: list[Action] = Field(default_factory=list)
    required_for_closure: bool = Field(default=False, description="never overridden: done before resolving")
    signature: SignatureSpec | None = None
    sources: list[Source] = Field(default_factory=list, description="the documents this step follows")
    site_rule: bool = Field(default=False, description="true when the step is the site's own choice")


    @model_validator(mode="after")
    def _quorum_has_a_role(self) -> StepFields:
        if self.quorum is not None and (self.role in (None, ANYONE) or self.confirm != "ack"):
            raise ValueError('a "quorum" step needs a "role" other than anyone, and no "confirm: two_person"')
        return self


class GroupPart(StepFields):
    """A step inside a parallel group; it starts when the group starts."""

    @model_validator(mode="after")
    def _has_role(self) -> GroupPart:
        if self.role is None:
            raise ValueError('"role" is missing: who does this step?')
        return self


class Step(StepFields):
    """A playbook step: a task, a decision (with branches), or a parallel group."""

    needs: list[Slug] | None = None
    branches: list[Branch] | None = Field(default=None, min_length=1)
    parallel: list[GroupPart] | None = Field(default=None, min_length=2)
    repeat: Repeat | None = None

    @model_validator(mode="after")
    def _shape_is_consistent(self) -> Step:
        if self.parallel is None:
            if self.role is None:
                raise ValueError('"role" is missing: who does this step?')
            return self
        for key in ("role", "input", "branches", "repeat", "signature", "quorum"):
            if getattr(self, key) is not None:
                raise ValueError(f'a parallel group cannot have "{key}"; put it on its parts')
        if self.confirm != "ack":
            raise ValueError('a parallel group cannot have "confirm"; put it on its parts')
        return self

    @property
    def is_group(self) -> bool:
        """True when this step is a parallel group."""
        return self.parallel is not None


class Triggers(Model):
    """What starts the playbook: alert rule ids, metric kinds, and chat command aliases."""

    alerts: list[Slug] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)


class Playbook(Model):
    """One playbook file."""

    apiVersion: Literal["playbook.warehouse/v1"]  # noqa: N815 - the YAML key
    id: Slug
    version: int = Field(ge=1)
    title: Text
    summary: Text | None = None
    severity: Severity
    owner: Role | None = None
    triggers: Triggers
    roles: list[Role] = Field(min_length=1)
    qualifications: dict[Role, str] = Field(default_factory=dict, description="role → qualification its holders "
                                            "need to do this playbook's steps (e.g. FW: fire-warden)")
    life_safety: bool = Field(default=False, description="true when every step protects people: lint asks each "
                              "step for a source or site_rule")
    sources: list[Source] = Field(default_factory=list, description="the documents the playbook as a whole follows")
    steps: list[Step] = Field(min_length=1)

    def all_steps(self) -> list[Step | GroupPart]:
        """Every step in document order, parts of groups right after their group."""
        found: list[Step | GroupPart] = []
        for step in self.steps:
            found.append(step)
            found.extend(step.parallel or [])
        return found

    def step(self, step_id: str) -> Step | GroupPart:
        """The step with this id (KeyError if none)."""
        for step in self.all_steps():
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def schema_json() -> str:
    """The JSON Schema of a playbook file, for editor completion."""
    schema = Playbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "WareRoom playbook (playbook.warehouse/v1)"
    return json.dumps(schema, ensure_ascii=False, indent=2)
