"""Request types shared by the HTTP routes: every id, limit and text bounded, so bad input is a 422 naming
the field, never a database error (ids are 32-bit integers on PostgreSQL; PostgreSQL text cannot hold NUL)."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import StringConstraints

ID_MAX = 2**31 - 1  # PostgreSQL ``integer``
NO_NUL = r"^[^\x00]*$"

IncidentId = Annotated[int, Path(ge=1, le=ID_MAX, description="an incident's id")]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many, 1-1000")]
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
