"""The review names what a notification's one audit event (``alert.group``) joined and cleared."""

from datetime import UTC, datetime

from handlers.review_story import Narrator
from incidents import alert_audit
from incidents.tables import Alert, AuditEvent


def test_a_notification_event_reads_as_the_alerts_that_joined_and_cleared() -> None:
    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    alerts = [Alert(incident_id=1, fingerprint=f"fp-{n}", rule_id="disk", kind="firing", severity="SEV3",
                    title_zh="磁盘", title_en="Disk", sensor=f"host-{n}", at=at) for n in range(12)]
    listed = [{"fingerprint": f"fp-{n}", "status": "firing", "sha256": "0" * 64} for n in range(12)] + [
        {"fingerprint": "fp-0", "status": "resolved", "sha256": "1" * 64}]
    event = AuditEvent(at=at, incident_id=1, action=alert_audit.ACTION, actor_name="system", actor_roles=[],
                       object_type="incident", object_id="1", prev_hash="0" * 64, hash="0" * 64,
                       after={"joined": 12, "cleared": 1, "alerts": listed})
    sentence = Narrator(registry=None, playbook=None, alerts=alerts, timezone="UTC").sentence(event)
    assert "12" in sentence.en and "host-0, host-1" in sentence.en and "… +2" in sentence.en
    assert "Resolved alerts of this group (1): host-0" in sentence.en and "host-9" in sentence.zh
