"""Every module that defines tables, imported so that SQLModel.metadata knows them all."""

import incidents.tables  # noqa: F401
import integrations.webchat.store  # noqa: F401
