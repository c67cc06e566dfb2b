// The dashboard keeps itself current: the board is fetched again when an incident changes (server-sent
// events) and every 15 s for the sensors' values and ages. No libraries, nothing from other hosts.
"use strict";

const board = document.getElementById("board");
let due = null;

async function refresh() {
  due = null;
  const res = await fetch("/dashboard?part=true");
  if (res.status === 401 || res.redirected) { location.reload(); return; }
  if (res.ok) board.innerHTML = await res.text();
}
function soon(ms) { if (due === null) due = setTimeout(() => refresh().catch(() => {}), ms); }

const events = new EventSource("/webchat/events");
events.onmessage = (ev) => { if (JSON.parse(ev.data).type === "incident") soon(300); };
setInterval(() => soon(0), 15000);
