"""A small playbook with every kind of life-safety step: safety, mqtt.publish, a safety group whose parts
inherit or cite, and one ordinary step."""

from pathlib import Path

OSHA_38 = "https://www.osha.gov/laws-regs/regulations/standardnumber/1910/1910.38"

GUARDED = """\
apiVersion: playbook.warehouse/v1
id: {id}
version: 1
title: {{zh: "叉车充电间", en: "Forklift charging room"}}
severity: SEV2
triggers: {{alerts: [{id}-alert]}}
roles: [SL, MT]
steps:
  - id: make-safe
    title: {{zh: "停机", en: "Stop"}}
    role: SL
    safety: true
  - id: cut-power
    title: {{zh: "断电", en: "Cut power"}}
    role: MT
    actions:
      - {{action: mqtt.publish, topic: site/charging/off, payload: {{state: "off"}}, confirm_by: MT}}
  - id: shutdowns
    title: {{zh: "关键停机", en: "Shutdowns"}}
    safety: true
    site_rule: true
    parallel:
      - {{id: stop-a, title: {{zh: "停A", en: "Stop A"}}, role: MT}}
      - id: stop-b
        title: {{zh: "停B", en: "Stop B"}}
        role: MT
        sources:
          - {{document: "OSHA 29 CFR 1910.38", clause: "(c)(3)", url: "{url}"}}
  - id: tidy-up
    title: {{zh: "整理", en: "Tidy up"}}
    role: SL
"""


def write_guarded(folder: Path, playbook_id: str) -> Path:
    """Write the guarded sample as <playbook_id>.yaml in `folder`: two life-safety steps cite nothing."""
    path = folder / f"{playbook_id}.yaml"
    path.write_text(GUARDED.format(id=playbook_id, url=OSHA_38), encoding="utf-8")
    return path
