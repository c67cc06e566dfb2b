"""The re-planning rules of incidents/escalation_plan.py, level by level."""

from datetime import UTC, datetime, timedelta

from incidents.escalation import EscalationLevel, SeverityPolicy
from incidents.escalation_plan import next_reminder, replan, restart

OLD = [{"after_seconds": 300, "role": "WM"}]  # a policy that paged the manager sooner than the new one
NEW = SeverityPolicy(first=["SL"], levels=[EscalationLevel(after_seconds=600, role="WM"),
                                           EscalationLevel(after_seconds=1800, role="OD")])


def test_a_raise_is_never_later_than_the_old_plan_and_gains_the_new_levels() -> None:
    assert replan(OLD, NEW, raised=True) == [{"after_seconds": 300, "role": "WM"},
                                              {"after_seconds": 1800, "role": "OD"}]


def test_a_lowering_takes_the_milder_policy_as_it_is() -> None:
    assert replan(OLD, NEW, raised=False) == [{"after_seconds": 600, "role": "WM"},
                                               {"after_seconds": 1800, "role": "OD"}]


def test_a_restart_counts_from_now() -> None:
    opened = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert restart(NEW, opened_at=opened, now=opened + timedelta(minutes=20)) == [
        {"after_seconds": 1800, "role": "WM"}, {"after_seconds": 3000, "role": "OD"}]
    assert restart(NEW, opened_at=opened, now=opened - timedelta(seconds=5))[0]["after_seconds"] == 600


def test_no_reminder_without_an_interval() -> None:
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert next_reminder(None, now=now) is None
    assert next_reminder(45, now=now) == now + timedelta(seconds=45)
