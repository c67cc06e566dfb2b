"""Watches the audit trail: verifies it against the signed checkpoints at start-up and on every
interval, writes a new checkpoint when it holds, and raises a SEV1 system incident "audit trail
altered" when it does not (as temperature-monitoring systems raise a tamper alarm that someone must
acknowledge, e.g. Vaisala viewLinc's event-log alarm)."""

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from handlers.incident_flow import IncidentFlow
from handlers.text import CATALOGUE
from incidents import checkpoints
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind

log = logging.getLogger(__name__)
RULE = "audit-trail-altered"


@dataclass
class AuditWatch:
    flow: IncidentFlow
    key: Ed25519PrivateKey
    checkpoint_file: Path
    _raised: tuple[str, ...] = ()

    def check(self, *, full: bool) -> checkpoints.Verdict:
        """Verify the chain against the checkpoint file; on failure raise (or keep open) the system incident."""
        read = checkpoints.read(self.checkpoint_file)
        with self.flow.ctx.db.reader() as session:
            verdict = checkpoints.verify(session, checkpoints=read.checkpoints, public=self.key.public_key(), full=full)
        problems = verdict.problems + tuple(read.unreadable)
        if problems:
            log.error("AUDIT TRAIL ALTERED: %s", "; ".join(problems))
            if problems != self._raised:  # once per distinct finding; the open incident holds it until handled
                self._raise(problems)
                self._raised = problems
            return checkpoints.Verdict(verdict.checked, problems, verdict.latest)
        self._raised = ()
        return verdict

    def checkpoint(self) -> checkpoints.Checkpoint:
        """Sign the chain's head now: into the database and appended to the file."""
        with self.flow.ctx.db.unit_of_work() as session:
            made = checkpoints.make(session, key=self.key, now=self.flow.ctx.now())
        checkpoints.append(self.checkpoint_file, made)
        return made

    def tick(self, *, full: bool = False) -> checkpoints.Verdict:
        """Check, then sign a new checkpoint only if the chain holds (never bless a tampered chain)."""
        verdict = self.check(full=full)
        if verdict.ok:
            self.checkpoint()
        return verdict

    def _raise(self, problems: tuple[str, ...]) -> None:
        zh, en = CATALOGUE["audit_altered_title"]
        signal = AlertSignal(kind=SignalKind.FIRING, rule_id=RULE, fingerprint=f"system:{RULE}",
                             severity=Severity.SEV1, title_zh=zh, title_en=en, at=self.flow.ctx.now(),
                             source="system", labels={"problems": " | ".join(problems)[:2000]})
        self.flow.on_signal(signal)
