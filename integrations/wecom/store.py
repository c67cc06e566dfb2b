"""WeCom interactive cards: each card's task id, its incident chat and its current one-use response code."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from incidents.clock import utcnow


class WeComCard(SQLModel, table=True):
    """A template card sent to the incident's people; ``response_code`` is consumed by each update."""

    task_id: str = Field(primary_key=True, max_length=128)
    chat_id: str = Field(index=True, max_length=32)
    userids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    response_code: str | None = None
    shown: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the card as sent
    created_at: datetime = Field(default_factory=utcnow)
