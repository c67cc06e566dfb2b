"""Incident severities (warehouse-domain §4.2)."""

from enum import StrEnum


class Severity(StrEnum):
    """SEV1 is the most severe; the ordering of the values is the ordering of urgency."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 for SEV1 … 4 for SEV4: lower is more urgent."""
        return int(self.value[-1])
