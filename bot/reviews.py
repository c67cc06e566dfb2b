"""Review export wired from settings: the MKT settings, the device registry and the PDF seal."""

from pathlib import Path
from typing import TYPE_CHECKING

from bot.evidence import evidence_store
from bot.settings import Settings
from handlers.review import ReviewSetup
from incidents.database import Database
from incidents.evidence.store import EvidenceStore
from incidents.rules.config import DeviceRegistry
from integrations.export.routes import ReviewExporter

if TYPE_CHECKING:
    from integrations.export.seal import Seal
from playbooks.durations import parse_duration
from playbooks.loader import LoadedPlaybook


def review_setup(settings: Settings, library: dict[str, LoadedPlaybook],
                 registry: DeviceRegistry | None) -> ReviewSetup:
    """What every review of this site is built with."""
    return ReviewSetup(library=library, timezone=settings.site_timezone, registry=registry,
                       activation_energy_kj=settings.review_mkt_activation_energy,
                       mkt_period=parse_duration(settings.review_mkt_period))


def site_seal(settings: Settings, site: str) -> "Seal":
    """The configured PKCS#12 seal, or the self-signed one kept under the var directory."""
    from integrations.export.seal import load_seal  # pyHanko loads with the first sealed review

    password = settings.review_seal_password.get_secret_value() if settings.review_seal_password else None
    return load_seal(p12=settings.review_seal_p12, password=password, var_dir=Path(settings.var_dir), site=site)


def review_exporter(settings: Settings, db: Database, library: dict[str, LoadedPlaybook],
                    registry: DeviceRegistry | None, store: EvidenceStore | None = None) -> ReviewExporter:
    """Reviews of this site, sealed with the site's certificate, with the pictures of ``store`` (default: the
    configured evidence store)."""
    sites = sorted({zone.site for zone in registry.zones.values()}) if registry else []
    site = sites[0] if len(sites) == 1 else "WareRoom"
    return ReviewExporter(db, review_setup(settings, library, registry), lambda: site_seal(settings, site),
                          store if store is not None else evidence_store(settings))
