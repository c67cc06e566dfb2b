// The admin person page's "send a test notification" buttons: each posts to the contact admin API
// (POST /api/v1/people/{id}/test-notification, integrations/contact_routes.py) with the session's CSRF token,
// and shows the answer beside the button: "Sent" and the address, or the API's bilingual refusal.
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.test-notify");
  if (!button) return;
  const out = button.parentElement.querySelector("output");
  const csrf = document.querySelector("input[name=csrf]").value;
  button.disabled = true;
  out.textContent = "…";
  try {
    const answer = await fetch(button.dataset.url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({channel: button.dataset.channel})});
    const body = await answer.json().catch(() => ({}));
    out.textContent = answer.ok ? `✔ ${button.dataset.sent} ${body.address}`
                                : `✘ ${typeof body.detail === "string" ? body.detail : answer.status}`;
  } catch (error) {
    out.textContent = `✘ ${error}`;
  } finally {
    button.disabled = false;
  }
});
