"""Every module that defines tables, imported so that SQLModel.metadata knows them all."""

import incidents.alarms
import incidents.checkpoints
import incidents.contacts.tables
import incidents.evidence.records
import incidents.identity.tables
import incidents.inventory.tables
import incidents.leases
import incidents.milestones
import incidents.retention
import incidents.shelving
import incidents.signatures
import incidents.silences
import incidents.staffing
import incidents.tables
import integrations.webchat.store
import integrations.wecom.store

__all__ = ["incidents", "integrations"]
