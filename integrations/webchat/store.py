"""The web chat keeps its messages in the database, so the page shows whole threads after a restart."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from incidents.clock import utcnow


class WebChatMessage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    idempotency_key: str = Field(unique=True)
    is_header: bool = False
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
