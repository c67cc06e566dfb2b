"""Runs confirmed playbook actions after commit: MQTT publishes, webhooks, linked playbooks.

Each run is handed out once (``pending`` → ``running`` in one transaction), so a command such
as "start the standby generator" is published once even if the confirm button is pressed twice.
A run interrupted by a crash stays ``running`` for a person to check rather than firing again.
"""

import asyncio
import contextlib
import json
import logging

from handlers.actions import ActionFlow
from handlers.incident_flow import IncidentFlow
from incidents.actors import SYSTEM
from incidents.tables import ActionRun
from integrations.mqtt.publisher import ConfirmedPublisher

log = logging.getLogger(__name__)


class ActionExecutor:
    def __init__(self, actions: ActionFlow, flow: IncidentFlow, *, publisher: ConfirmedPublisher,
                 poll_seconds: float = 2.0) -> None:
        """``publisher``: the configured broker's (credentials, TLS); a publish counts only on its PUBACK."""
        self.actions = actions
        self.flow = flow
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Look for work now (callable from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def run(self) -> None:
        """Execute runs until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                for run in self.actions.claim_due():
                    await self._execute(run)
            except Exception:
                log.exception("action round failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=self.poll_seconds)
            self._event.clear()

    async def _execute(self, run: ActionRun) -> None:
        assert run.id is not None
        if self.actions.is_drill(run.incident_id):
            self.actions.finish(run_id=run.id, error=None, simulated=True)  # shown, never published
            return
        try:
            detail = await self._perform(run)
        except Exception as exc:
            log.warning("action %s (%s) failed: %s", run.id, run.kind, exc)
            self.actions.finish(run_id=run.id, error=f"{type(exc).__name__}: {exc}")
            return
        self.actions.finish(run_id=run.id, error=None, detail=detail)

    async def _perform(self, run: ActionRun) -> str:
        if run.kind == "mqtt.publish":
            payload = run.spec["payload"]
            text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            return await self.publisher.publish(run.spec["topic"], text)
        if run.kind == "webhook":
            import httpx  # with the first webhook action: httpx brings its CLI's rich and Pygments (~6 MB)

            body = {"incident_id": run.incident_id, "step": run.step_id, "action_key": run.key}
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(run.spec["url"], json=body, headers={"Idempotency-Key": run.key})
            answer.raise_for_status()
            return f"HTTP {answer.status_code}"
        if run.kind == "start_playbook":
            reply = self.flow.declare(playbook_id=run.spec["playbook"], zone=None,
                                      note=f"linked to #{run.incident_id}", actor=SYSTEM, dedupe_key=None)
            return reply.text.splitlines()[0]
        raise ValueError(f"unknown action kind {run.kind!r}")
