// The web chat in the browser: the incident list, a thread, the composer, live updates (server-sent events).
// No libraries and nothing from other hosts. Texts come from the page (#texts, handlers/text.py CATALOGUE).
"use strict";

const T = JSON.parse(document.getElementById("texts").textContent);
const APP = document.getElementById("app");
const OPEN = new Set(["triggered", "acknowledged", "mitigating"]);
const MY_REPLIES = 0;  // the thread of replies to commands sent outside any incident (adapter.NO_INCIDENT)
const state = { incidents: [], current: null, messages: new Map(), steps: new Map(),
                csrf: APP.dataset.csrf, signedIn: !!APP.dataset.signedIn, demo: !!APP.dataset.demo };
const $ = (s) => document.querySelector(s);
const wide = window.matchMedia("(min-width: 900px)");

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
function say(key, values) {
  let text = T[key] || key;
  for (const [k, v] of Object.entries(values || {})) text = text.split(`{${k}}`).join(v);
  return text;
}
function picked() { const sel = $("#who"); return sel ? sel.value : null; }
function who() { return state.signedIn ? {} : { user: picked() }; }
function viewerQuery() { return state.signedIn || !picked() ? "" : `?user=${encodeURIComponent(picked())}`; }

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const res = await fetch(path, body ? { method: "POST", headers, body: JSON.stringify(body) } : {});
  if (res.status === 401 && !state.demo) {
    location.href = "/signin?expired=1&next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error(say("web_signed_out"));
  }
  if (!res.ok) throw new Error(await detailOf(res));
  return res.json();
}
async function detailOf(res) {
  let detail = await res.text();
  try { const parsed = JSON.parse(detail).detail; detail = typeof parsed === "string" ? parsed : JSON.stringify(parsed); }
  catch (e) { /* not JSON: the text as it is */ }
  return detail || `HTTP ${res.status}`;
}

// ---- text with links and tables ----------------------------------------------------------------------

const LINK = /(https?:\/\/[^\s<>"'，。）]+|(?:^|(?<=[\s:：(（]))\/(?:api|sign|signin|dashboard|account)\/[^\s<>"'，。）]*)/g;

function linked(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(LINK)) {
    frag.append(text.slice(last, m.index));
    const a = el("a", null, m[0]); a.href = m[0];
    if (/review\.|^https?:/.test(m[0])) { a.target = "_blank"; a.rel = "noopener"; }
    frag.append(a); last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

const cellsOf = (line) => line.trim().split(/\s{2,}/);
const NUMERIC = /^[-+]?[\d,.]+(\s*\(.*\))?(\s*\S{0,4})?$/;

// Lines with three or more columns separated by two spaces or more (the /stock lots) become a table: aligned
// columns on a desk, one labelled card per row on a phone; everything else stays text with links.
function richText(text, cls) {
  const box = el("div", cls);
  const lines = text.split("\n");
  let run = [];
  const flushText = (chunk) => { if (chunk.length) box.append(linked(chunk.join("\n") + "\n")); };
  let pending = [];
  const flushRun = () => {
    if (run.length >= 2) {
      flushText(pending); pending = [];
      const wrap = el("div", "table-wrap"); const table = el("table");
      const names = cellsOf(run[0]);
      const head = el("tr"); for (const c of names) head.append(el("th", null, c));
      const thead = el("thead"); thead.append(head); table.append(thead);
      const body = el("tbody");
      for (const line of run.slice(1)) {
        const tr = el("tr");
        cellsOf(line).forEach((c, n) => {  // the column's name goes with each cell: a phone shows rows as cards
          const td = el("td", NUMERIC.test(c) ? "num" : null, c); td.dataset.label = names[n] || ""; tr.append(td);
        });
        body.append(tr);
      }
      table.append(body); wrap.append(table); box.append(wrap);
    } else pending.push(...run);
    run = [];
  };
  for (const line of lines) {
    if (cellsOf(line).length >= 3) { run.push(line); continue; }
    flushRun(); pending.push(line);
  }
  flushRun(); flushText(pending);
  if (box.lastChild && box.lastChild.nodeType === Node.TEXT_NODE) box.lastChild.textContent = box.lastChild.textContent.replace(/\n$/, "");
  return box;
}

// ---- the list --------------------------------------------------------------------------------------

async function loadIncidents() {
  state.incidents = await api("/api/v1/incidents?limit=200");
  renderList();
  renderThreadBar();
}

function isOpen(id) {
  const incident = state.incidents.find((i) => i.id === id);
  return !incident || OPEN.has(incident.status);
}

function renderList() {
  const box = $("#incidents"); box.innerHTML = "";
  const openOnly = $("#open-only").checked;
  const shown = state.incidents.filter((i) => !openOnly || OPEN.has(i.status) || i.alarms_returned_unacknowledged);
  const mine = el("button", "inc mine" + (state.current === MY_REPLIES ? " active" : ""));
  mine.type = "button"; mine.dataset.id = MY_REPLIES;
  mine.append(el("span", "t", "💬 " + say("web_my_replies")));
  mine.onclick = () => select(MY_REPLIES, true);
  if (!shown.length) box.append(el("div", "empty", say("web_no_incidents")));
  for (const i of shown) {
    const row = el("button", "inc" + (i.id === state.current ? " active" : ""));
    row.type = "button"; row.dataset.id = i.id;
    const t = el("span", "t"); t.append(el("span", "badge " + i.severity, i.severity), `#${i.id} ${i.title_zh}`);
    const m = el("span", "m"); m.append(el("span", "st " + i.status, T.status[i.status] || i.status), ` ${i.title_en}`);
    if (i.alarms_returned_unacknowledged) {  // ISA-18.2: in view until someone acknowledges, even when resolved
      m.append(el("span", "st triggered", say("web_alarms_returned", { count: i.alarms_returned_unacknowledged })));
    }
    row.append(t, m); row.onclick = () => select(i.id, true); box.append(row);
  }
  box.append(mine);
}

// ---- a thread --------------------------------------------------------------------------------------

function showView(view) {
  document.body.classList.toggle("view-thread", view === "thread");
  document.body.classList.toggle("view-list", view !== "thread");
}

async function select(id, push) {
  state.current = id;
  if (push) history.pushState({ incident: id }, "", `?incident=${id}`);
  showView("thread"); renderList(); renderThreadBar();
  const path = id === MY_REPLIES ? "/webchat/replies" : `/webchat/incidents/${id}/messages`;
  const [messages, steps] = await Promise.all([
    api(path + viewerQuery()), id === MY_REPLIES ? [] : api(`/webchat/incidents/${id}/steps`)]);
  if (state.current !== id) return;
  state.messages = new Map(messages.map((m) => [m.id, m]));
  state.steps = new Map(steps.map((s) => [s.step_id, s]));
  renderThread(true);
}

async function refreshSteps() {
  if (!state.current) return;
  const id = state.current;
  const steps = await api(`/webchat/incidents/${id}/steps`);
  if (state.current !== id) return;
  state.steps = new Map(steps.map((s) => [s.step_id, s])); renderThread(false);
}

function renderThreadBar() {
  const box = $("#thread-title"); box.innerHTML = "";
  const readonly = $("#readonly");
  if (state.current === MY_REPLIES) { box.append(el("span", "name", say("web_my_replies"))); readonly.hidden = true; return; }
  const i = state.incidents.find((x) => x.id === state.current);
  if (!i) { readonly.hidden = true; return; }
  const name = el("span", "name"); name.append(el("span", "badge " + i.severity, i.severity), `#${i.id} ${i.title_zh}`);
  const sub = el("span", "m"); sub.append(el("span", "st " + i.status, T.status[i.status] || i.status), ` ${i.title_en}`);
  box.append(name, sub);
  readonly.hidden = OPEN.has(i.status);
}

function recordedText(facts) {
  if (!facts || facts.answer === null || facts.answer === undefined || !facts.input) return null;
  if (facts.input.type === "photo") return null;  // shown as thumbnails
  const answer = Array.isArray(facts.answer) ? facts.answer.join(", ") : String(facts.answer);
  return facts.input.unit ? `${answer} ${facts.input.unit}` : answer;
}

function photoBox(m, facts, live) {
  const box = el("div", "photo");
  for (const sha of facts.evidence || []) {
    const a = el("a"); a.href = `/api/v1/evidence/${sha}`; a.target = "_blank"; a.rel = "noopener";
    const img = el("img"); img.src = `/api/v1/evidence/${sha}?size=thumb`; img.alt = sha.slice(0, 12); img.loading = "lazy";
    a.append(img); box.append(a);
  }
  if (!live) return box;
  const label = el("label", "button"); const input = el("input");
  input.type = "file"; input.accept = "image/*"; input.setAttribute("capture", "environment");
  input.setAttribute("aria-label", say("web_photo_add"));
  label.append("📷 " + say("web_photo_add"), input);
  const status = el("span", "status"); status.setAttribute("role", "status");
  input.onchange = () => { if (input.files.length) uploadPhoto(m.incident_id, m.step_id, input.files[0], status, box); };
  box.append(label, status);
  return box;
}

async function uploadPhoto(incidentId, stepId, file, status, box) {
  status.className = "status"; status.textContent = say("web_photo_sending");
  const form = new FormData(); form.append("file", file);
  const headers = {}; if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  try {
    const res = await fetch(`/api/v1/incidents/${incidentId}/steps/${encodeURIComponent(stepId)}/photo`,
                            { method: "POST", headers, body: form });
    if (res.status === 404) {
      const detail = await detailOf(res);
      throw new Error(detail === "Not Found" ? say("web_photo_unavailable") : say("web_photo_failed", { detail }));
    }
    if (!res.ok) throw new Error(say("web_photo_failed", { detail: await detailOf(res) }));
    status.textContent = say("web_photo_sent");
    refreshSteps().catch(() => {});
  } catch (e) {
    status.className = "status bad"; status.textContent = e.message;
  }
}

function renderMessage(m) {
  const live = isOpen(m.incident_id);
  if (m.reply) return renderReply(m);
  const box = el("article", `msg ${m.tone || "info"}${m.header ? " header" : ""}`);
  box.dataset.id = m.id; if (m.step_id) box.dataset.step = m.step_id;
  box.append(el("span", "time", new Date(m.at).toLocaleTimeString()), richText(m.title, "title"));
  if (m.body) box.append(richText(m.body, "body"));
  if (m.fields && m.fields.length) {
    const dl = el("dl", "fields");
    for (const [k, v] of m.fields) { const dd = el("dd"); dd.append(linked(v)); dl.append(el("dt", null, k), dd); }
    box.append(dl);
  }
  const facts = m.step_id ? state.steps.get(m.step_id) : null;
  const recorded = recordedText(facts);
  if (recorded !== null) {
    const r = el("div", "recorded"); r.append(`${say("web_recorded")}: `, el("strong", null, recorded)); box.append(r);
  }
  const hasButtons = m.buttons && m.buttons.length;
  if (facts && facts.input && facts.input.type === "photo" && (hasButtons || (facts.evidence || []).length)) {
    box.append(photoBox(m, facts, live && !!hasButtons));
  }
  if (hasButtons) {
    const bar = el("div", "buttons");
    const camera = facts && facts.input && facts.input.type === "photo";
    for (const b of m.buttons) {
      if (camera && b.token && b.token.split(":")[1] === "photo") continue;  // the camera above takes the photo
      if (b.url) {
        const a = el("a", "button " + (b.style || "") + (live ? "" : " disabled"), b.label);
        if (live) a.href = b.url; else a.setAttribute("aria-disabled", "true");
        bar.append(a); continue;
      }
      const btn = el("button", b.style, b.label); btn.type = "button"; btn.dataset.token = b.token;
      btn.disabled = !live; btn.onclick = () => click(btn, b, m.incident_id);
      bar.append(btn);
    }
    box.append(bar);
  }
  return box;
}

function renderReply(m) {
  const box = el("article", "msg reply" + (m.ok ? "" : " bad")); box.dataset.id = m.id;
  box.append(el("span", "time", new Date(m.at).toLocaleTimeString()));
  if (m.command) box.append(el("div", "asked", `${say("web_you")}: ${m.command}`));
  box.append(richText(m.title, "title"));
  if (m.body) box.append(richText(m.body, "body"));
  box.append(el("span", "only", "🔒 " + say("web_only_you")));
  return box;
}

function renderThread(toBottom) {
  const box = $("#messages");
  const atBottom = toBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  box.innerHTML = "";
  const all = [...state.messages.values()].sort((a, b) => a.id - b.id);
  if (!all.length) box.append(el("div", "placeholder", say(state.current === MY_REPLIES ? "web_my_replies" : "web_pick_incident")));
  // a reply that says what the core also posted for everyone (a change of state) is shown once, as posted
  const posted = new Set(all.filter((x) => !x.reply).map((x) => `${x.title}\n${x.body || ""}`));
  const shown = all.filter((x) => !(x.reply && x.ok && posted.has(`${x.title}\n${x.body || ""}`)));
  for (const m of shown.filter((x) => x.header)) box.append(renderMessage(m));
  for (const m of shown.filter((x) => !x.header)) box.append(renderMessage(m));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function keep(reply) {
  if (!reply.message) return;
  const target = reply.message.incident_id;
  if (target === MY_REPLIES && state.current !== MY_REPLIES) { select(MY_REPLIES, true); return; }
  if (target === state.current) { state.messages.set(reply.message.id, reply.message); renderThread(true); }
}

async function click(btn, b, incidentId) {
  btn.disabled = true;
  try { keep(await api("/webchat/click", { ...who(), token: b.token, label: b.label, incident_id: incidentId,
                                          event_id: crypto.randomUUID() })); }
  catch (e) { problem(say("web_send_failed", { detail: e.message })); }
  finally { btn.disabled = !isOpen(incidentId); }
}

function problem(text) {
  let bar = $("#problem");
  if (!bar) { bar = el("div", "banner-error"); bar.id = "problem"; bar.setAttribute("role", "alert"); $("#cmd").before(bar); }
  bar.textContent = text; bar.hidden = !text;
}

$("#cmd").onsubmit = async (ev) => {
  ev.preventDefault();
  const input = $("#cmdtext"); const text = input.value.trim();
  if (!text) return;
  const incidentId = state.current && document.body.classList.contains("view-thread") || wide.matches ? state.current : null;
  try {
    const reply = await api("/webchat/command", { ...who(), text, incident_id: incidentId || null, event_id: crypto.randomUUID() });
    input.value = ""; problem("");
    keep(reply);
  } catch (e) { problem(say("web_send_failed", { detail: e.message })); }
};

// ---- live updates ----------------------------------------------------------------------------------

function listen() {
  const es = new EventSource("/webchat/events");
  es.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    if (e.type === "incident") loadIncidents().then(() => { if (e.incident_id === state.current) refreshSteps(); }).catch(() => {});
    if (e.type === "message" && e.message.incident_id === state.current) {
      state.messages.set(e.message.id, e.message);
      if (e.message.step_id) refreshSteps().catch(() => {}); else renderThread(false);
    }
  };
  es.onerror = () => problem(say("web_offline"));
  es.onopen = () => {  // after a reconnect, fetch what was missed
    problem("");
    if (state.connected) { loadIncidents().catch(() => {}); if (state.current !== null) select(state.current, false); }
    state.connected = true;
  };
}

window.addEventListener("popstate", (ev) => {
  const id = ev.state && ev.state.incident;
  if (id === undefined || id === null) { showView("list"); return; }
  select(id, false);
});
$("#back").onclick = () => { if (history.state && history.state.incident !== undefined) history.back(); else showView("list"); };
$("#open-only").onchange = renderList;
const who_ = $("#who");
if (who_) {
  const saved = localStorage.getItem("wareroom.who");
  if (saved) who_.value = saved;
  who_.onchange = () => { localStorage.setItem("wareroom.who", who_.value); if (state.current !== null) select(state.current, false); };
}
for (const banner of document.querySelectorAll("#notice, body > .demo")) {  // on a phone: two lines until tapped
  banner.onclick = () => banner.classList.toggle("open");
}

loadIncidents().then(() => {
  const asked = new URLSearchParams(location.search).get("incident");
  if (asked !== null && (Number(asked) === MY_REPLIES || state.incidents.some((i) => i.id === Number(asked)))) {
    history.replaceState({ incident: Number(asked) }, "", location.search);
    select(Number(asked), false);
  } else if (wide.matches && state.incidents.length) select(state.incidents[0].id, false);
  listen();
}).catch((e) => problem(e.message));
