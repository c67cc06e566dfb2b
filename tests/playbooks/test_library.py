"""Each default playbook: lint is clean and a scripted run takes the expected path, branch and timeout included."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from playbooks.lint import lint_paths
from playbooks.loader import ANSWERS_SUFFIX, load_library
from playbooks.simulate import load_script, simulate

LIBRARY = Path(__file__).parents[2] / "playbooks" / "library"
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

EXPECTED_PATHS: dict[str, list[str]] = {
    "cold-chain-excursion": [
        "+0:00:00 verify: active",
        "+0:00:00 verify: action notify_role QA",
        "+0:00:00 verify: claimed by sl",
        "+0:04:00 verify: done by sl (answer: 9.6)",
        "+0:04:00 correct-cause: active",
        "+0:09:00 correct-cause: ack timer fired",
        "+0:09:00 correct-cause: action notify_role WM",
        "+0:10:00 correct-cause: done by mt (answer: 'compressor'), next check-recovery",
        "+0:10:00 replace-probe: skipped: branch not taken",
        "+0:10:00 check-recovery: active",
        "+0:40:00 check-recovery: overdue",
        "+0:40:00 check-recovery: action notify_role WM",
        "+0:41:00 check-recovery: done by sl (answer: False)",
        "+0:41:00 move-product: active",
        "+0:41:00 move-product: done by sl (answer: 'LG-0412, LG-0413')",
        "+0:41:00 quarantine: active",
        "+0:41:00 quarantine: done by sl (answer: ['q1.jpg'])",
        "+0:41:00 qa-assessment: active",
        "+0:41:00 quarantine: action notify_role QA",
        "+0:41:00 qa-assessment: done by qa (answer: 'release')",
        "+0:41:00 shipped-check: active",
        "+0:41:00 shipped-check: done by qa (answer: True)",
        "+0:41:00 trace-customers: active",
        "+0:41:00 trace-customers: done by cs",
        "+0:41:00 release-or-dispose: active",
        "+0:41:00 release-or-dispose: confirmed 1 of 2 by sl",
        "+0:41:00 release-or-dispose: done by sl, qa",
        "+0:41:00 capa-review: active",
        "+0:41:00 capa-review: done by wm",
        "+0:41:00 -: finished",
    ],
    "fire-evacuation": [
        "+0:00:00 evacuate: active",
        "+0:00:00 call-119: active",
        "+0:00:00 critical-shutdowns: active",
        "+0:00:00 stop-conveyors: active",
        "+0:00:00 stop-charging: active",
        "+0:00:00 close-fire-doors: active",
        "+0:00:00 warden-sweep: active",
        "+0:00:00 headcount: active",
        "+0:00:00 first-aid: active",
        "+0:00:00 evacuate: action notify_role FW",
        "+0:00:00 evacuate: done by sl",
        "+0:01:00 call-119: ack timer fired",
        "+0:01:00 call-119: action notify_role WM",
        "+0:02:00 call-119: overdue",
        "+0:02:00 call-119: action notify_role WM",
        "+0:02:00 critical-shutdowns: overdue",
        "+0:02:00 critical-shutdowns: action notify_role SO",
        "+0:02:00 call-119: done by sl (answer: 'wang 08:01')",
        "+0:02:00 stop-conveyors: done by mt (answer: 'done')",
        "+0:02:00 stop-charging: done by mt (answer: 'not_safe')",
        "+0:02:00 critical-shutdowns: done",
        "+0:02:00 close-fire-doors: done by so",
        "+0:02:00 warden-sweep: done by fw",
        "+0:02:00 first-aid: done by fw (answer: 'none')",
        "+0:10:00 headcount: overdue",
        "+0:10:00 headcount: action notify_role WM",
        "+0:11:00 headcount: done by fw (answer: 1), next report-missing",
        "+0:11:00 report-missing: active",
        "+0:11:00 report-missing: done by wm (answer: 'Li, cold room D1')",
        "+0:11:00 all-accounted: skipped: branch not taken",
        "+0:11:00 meet-fire-service: active",
        "+0:11:00 meet-fire-service: done by wm",
        "+0:11:00 no-re-entry: active",
        "+0:11:00 no-re-entry: confirmed 1 of 2 by wm",
        "+0:11:00 no-re-entry: done by wm, so (answer: '09:40, officer Zhang')",
        "+0:11:00 secure-site: active",
        "+0:11:00 secure-site: action notify_role OD",
        "+0:11:00 secure-site: action notify_role QA",
        "+0:11:00 secure-site: done by wm",
        "+0:11:00 review: active",
        "+0:11:00 review: done by so",
        "+0:11:00 -: finished",
    ],
    "power-loss-cold-chain": [
        "+0:00:00 people-safe: active",
        "+0:00:00 scope: active",
        "+0:00:00 people-safe: claimed by sl",
        "+0:00:00 people-safe: done by sl",
        "+0:00:00 hold-cold: active",
        "+0:00:00 doors-shut: active",
        "+0:00:00 reefers-running: active",
        "+0:00:00 doors-shut: action mqtt.publish wareroom/wms/zones/cold/block",
        "+0:00:00 scope: done by mt (answer: 'site_wide')",
        "+0:00:00 generator-check: active",
        "+0:00:00 generator-check: done by mt (answer: False)",
        "+0:00:00 start-generator: active",
        "+0:00:00 start-generator: action mqtt.publish wareroom/site/SH-01/generator/command",
        "+0:00:00 doors-shut: done by sl (answer: ['doors.jpg'])",
        "+0:00:00 hold-cold: done",
        "+0:00:00 reefers-running: done by tc",
        "+0:00:00 temp-log: active",
        "+0:00:00 start-generator: done by mt (answer: 40)",
        "+0:00:00 temp-log: done by sl (answer: 6.5)",
        "+0:00:00 transfer-decision: active",
        "+0:05:00 transfer-decision: ack timer fired",
        "+0:05:00 transfer-decision: action notify_role OD",
        "+0:15:00 temp-log: active (repeat 2)",
        "+0:15:00 transfer-decision: overdue",
        "+0:15:00 transfer-decision: action notify_role OD",
        "+0:25:00 temp-log: overdue",
        "+0:25:00 temp-log: action notify_role SL",
        "+0:25:00 temp-log: done by sl (answer: 7.6)",
        "+0:25:00 transfer-decision: done by wm (answer: 'transfer'), next transfer",
        "+0:25:00 transfer: active",
        "+0:25:00 transfer: done by sl (answer: 'LG-1, LG-2')",
        "+0:25:00 hold-and-monitor: skipped: branch not taken",
        "+0:25:00 restore: active",
        "+0:25:00 restore: done by mt (answer: True)",
        "+0:25:00 excursion-check: active",
        "+0:25:00 excursion-check: done by qa (answer: True)",
        "+0:25:00 start-excursion: active",
        "+0:25:00 start-excursion: action start_playbook cold-chain-excursion",
        "+0:25:00 start-excursion: done by qa",
        "+0:25:00 resume-ops: active",
        "+0:25:00 resume-ops: confirmed 1 of 2 by sl",
        "+0:25:00 resume-ops: done by sl, wm",
        "+0:25:00 review: active",
        "+0:25:00 resume-ops: action mqtt.publish wareroom/wms/zones/cold/block",
        "+0:25:00 review: done by wm",
        "+0:25:00 -: finished",
    ],
    "peak-surge": [
        "+0:00:00 declare-level: active",
        "+0:00:00 declare-level: done by wm (answer: 'l2')",
        "+0:00:00 raise-severity: active",
        "+0:00:00 backlog-report: active",
        "+0:00:00 prioritise: active",
        "+0:00:00 consumables: active",
        "+0:00:00 raise-severity: action set_severity SEV2",
        "+0:00:00 raise-severity: action notify_role OD",
        "+0:00:00 raise-severity: done by wm",
        "+0:00:00 backlog-report: done by sl (answer: 5200)",
        "+0:00:00 prioritise: done by wm",
        "+0:00:00 re-wave: active",
        "+0:00:00 carriers: active",
        "+0:00:00 consumables: done by sl (answer: True)",
        "+0:30:00 backlog-report: active (repeat 2)",
        "+0:30:00 re-wave: overdue",
        "+0:30:00 re-wave: action notify_role WM",
        "+0:30:00 re-wave: done by sl",
        "+0:30:00 reallocate-staff: active",
        "+0:30:00 backlog-report: done by sl (answer: 4100)",
        "+0:30:00 carriers: done by tc (answer: 'refused'), next delay-notices",
        "+0:30:00 delay-notices: active",
        "+0:30:00 delay-notices: done by cs",
        "+0:30:00 confirm-pickups: skipped: branch not taken",
        "+0:30:00 safety-labour: active",
        "+0:30:00 reallocate-staff: done by sl",
        "+0:30:00 safety-labour: done by so (answer: True)",
        "+0:30:00 stand-down: active",
        "+0:30:00 stand-down: done by wm (answer: True)",
        "+0:30:00 -: finished",
    ],
    "count-discrepancy": [
        "+0:00:00 freeze: active",
        "+0:00:00 freeze: action mqtt.publish wareroom/wms/locations/block",
        "+0:00:00 freeze: done by ic",
        "+0:00:00 pending-transactions: active",
        "+0:00:00 pending-transactions: done by ic (answer: False)",
        "+0:00:00 resnapshot: skipped: condition not met: answers.pending_found",
        "+0:00:00 blind-recount: active",
        "+0:30:00 blind-recount: ack timer fired",
        "+0:30:00 blind-recount: action notify_role WM",
        "+4:00:00 blind-recount: overdue",
        "+4:00:00 blind-recount: action notify_role WM",
        "+4:00:00 blind-recount: done by sl-zhou (answer: 37)",
        "+4:00:00 recount-result: active",
        "+4:00:00 recount-result: done by ic (answer: 'matches_first'), next search",
        "+4:00:00 close-count-error: skipped: branch not taken",
        "+4:00:00 search: active",
        "+4:00:00 search: done by ic",
        "+4:00:00 ledger: active",
        "+4:00:00 ledger: done by ic (answer: False)",
        "+4:00:00 lot-check: active",
        "+4:00:00 lot-check: done by ic",
        "+4:00:00 adjust: active",
        "+4:00:00 adjust: confirmed 1 of 2 by wm",
        "+4:00:00 adjust: done by wm, od (answer: 'SHRINK-02')",
        "+4:00:00 unfreeze: active",
        "+4:00:00 unfreeze: done by ic",
        "+4:00:00 security: skipped: condition not met: answers.theft_suspected",
        "+4:00:00 review: active",
        "+4:00:00 unfreeze: action mqtt.publish wareroom/wms/locations/block",
        "+4:00:00 unfreeze: action notify_role CS",
        "+4:00:00 review: done by wm",
        "+4:00:00 -: finished",
    ],
    "equipment-failure": [
        "+0:00:00 make-safe: active",
        "+0:00:00 make-safe: done by sl (answer: False)",
        "+0:00:00 injury-response: skipped: condition not met: answers.injured",
        "+0:00:00 tag-out: active",
        "+0:00:00 tag-out: done by sl (answer: ['tag.jpg'])",
        "+0:00:00 diagnose: active",
        "+0:15:00 diagnose: ack timer fired",
        "+0:15:00 diagnose: action notify_role WM",
        "+0:15:00 diagnose: claimed by mt",
        "+0:15:00 diagnose: done by mt (answer: 180)",
        "+0:15:00 workaround: active",
        "+0:15:00 long-outage: active",
        "+0:15:00 loto: active",
        "+0:15:00 long-outage: action notify_role OD",
        "+0:15:00 loto: done by mt (answer: 'L-07')",
        "+0:15:00 repair-result: active",
        "+0:15:00 workaround: done by sl",
        "+0:15:00 long-outage: done by wm",
        "+0:15:00 repair-result: done by mt (answer: 'not_fixed'), next extended-outage",
        "+0:15:00 return-to-service: skipped: branch not taken",
        "+0:15:00 extended-outage: active",
        "+0:15:00 extended-outage: action notify_role OD",
        "+0:15:00 extended-outage: done by wm",
        "+0:15:00 record-and-review: active",
        "+0:15:00 record-and-review: done by mt",
        "+0:15:00 -: finished",
    ],
    "mis-shipment": [
        "+0:00:00 first-response: active",
        "+0:00:00 scope: active",
        "+0:00:00 contain: active",
        "+0:00:00 scope: done by sl (answer: 'wave W-118, station P3, 09:00-10:30')",
        "+0:30:00 first-response: overdue",
        "+0:30:00 first-response: action notify_role WM",
        "+0:30:00 first-response: done",
        "+0:30:00 contain: done by sl (answer: ['held.jpg'])",
        "+0:30:00 shipped-out: active",
        "+0:30:00 shipped-out: done by tc (answer: True), next intercept",
        "+0:30:00 intercept: active",
        "+0:30:00 intercept: refused: a reason is required to skip a step",
        "+0:30:00 intercept: done by tc (answer: 'SF1234, SF1235')",
        "+0:30:00 relabel: skipped: branch not taken",
        "+0:30:00 customer-remedy: active",
        "+0:30:00 customer-remedy: done by cs",
        "+0:30:00 inventory-correction: active",
        "+0:30:00 inventory-correction: done by ic",
        "+0:30:00 root-cause: active",
        "+0:30:00 root-cause: done by sl (answer: 'label_swap')",
        "+0:30:00 gxp-review: skipped: condition not met: context.gxp",
        "+0:30:00 capa: active",
        "+0:30:00 capa: done by wm",
        "+0:30:00 -: finished",
    ],
    "staff-shortage": [
        "+0:00:00 quantify-gap: active",
        "+0:00:00 quantify-gap: done by sl (answer: 12)",
        "+0:00:00 call-standby: active",
        "+0:00:00 safety-roles: active",
        "+0:00:00 call-standby: done by sl",
        "+0:00:00 redeploy: active",
        "+0:30:00 redeploy: overdue",
        "+0:30:00 redeploy: action notify_role WM",
        "+0:31:00 redeploy: done by sl",
        "+0:31:00 gap-covered: active",
        "+0:31:00 gap-covered: done by sl (answer: False), next reprioritise",
        "+0:31:00 confirm-cover: skipped: branch not taken",
        "+0:31:00 reprioritise: active",
        "+0:31:00 safety-roles: done by so",
        "+0:31:00 reprioritise: done by wm",
        "+0:31:00 overtime: active",
        "+0:31:00 overtime: done by wm (answer: 2)",
        "+0:31:00 inform-carriers: active",
        "+0:31:00 inform-carriers: done by tc",
        "+0:31:00 review: active",
        "+0:31:00 review: done by wm",
        "+0:31:00 -: finished",
    ],
}


def test_the_default_library_lints_clean() -> None:
    assert lint_paths([LIBRARY]) == []


def test_the_library_has_the_eight_default_playbooks() -> None:
    assert sorted(load_library(LIBRARY)) == sorted(EXPECTED_PATHS)


@pytest.mark.parametrize(
    ("playbook_id", "alert", "command"),
    [
        ("cold-chain-excursion", "cold-room-high-temp", "cold"),
        ("fire-evacuation", "smoke-detected", "fire"),
        ("power-loss-cold-chain", "power-loss", "power"),
    ],
)
def test_triggers(playbook_id: str, alert: str, command: str) -> None:
    triggers = load_library(LIBRARY)[playbook_id].playbook.triggers

    assert alert in triggers.alerts
    assert command in triggers.commands


def test_cold_chain_excursion_starts_with_verify() -> None:
    steps = load_library(LIBRARY)["cold-chain-excursion"].playbook.steps

    assert [step.id for step in steps[:2]] == ["verify", "correct-cause"]


def test_fire_evacuation_shows_only_safety_steps_at_first() -> None:
    playbook = load_library(LIBRARY)["fire-evacuation"].playbook

    assert [step.id for step in playbook.steps if step.safety] == [
        "evacuate",
        "call-119",
        "critical-shutdowns",
        "warden-sweep",
        "headcount",
        "first-aid",
    ]


@pytest.mark.parametrize("playbook_id", sorted(EXPECTED_PATHS))
def test_scripted_run_takes_the_expected_path(playbook_id: str) -> None:
    loaded = load_library(LIBRARY)[playbook_id]
    script = load_script(LIBRARY / f"{playbook_id}{ANSWERS_SUFFIX}")

    result = simulate(loaded, script["events"], start=T0, context=script["context"])

    assert result.lines() == EXPECTED_PATHS[playbook_id]
    assert result.finished is True
    assert any("next " in line for line in result.lines())
    assert any("timer fired" in line or "overdue" in line for line in result.lines())
