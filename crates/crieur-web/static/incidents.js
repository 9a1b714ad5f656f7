// Decisions on the incidents page, through the staff API; the server decides
// who may do what, and the page reloads to show the new state.
(() => {
  "use strict";
  const root = document.getElementById("incidents");
  if (!root) return;
  const d = root.dataset;
  const status = document.getElementById("incidents-status");
  async function api(method, path, body) {
    const r = await fetch(path, {
      method,
      headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let json = null;
    try { json = await r.json(); } catch (_) { json = null; }
    return { ok: r.ok, json };
  }
  function fail(reply) {
    const j = reply.json || {};
    const details = (j.problems || []).map((p) => p.message).join("; ");
    status.textContent = [j.message || d.failed, details].filter(Boolean).join(" — ");
  }
  root.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const id = button.dataset.id;
    const comment = () => (document.getElementById(`comment-${id}`) || {}).value || "";
    let reply;
    switch (button.dataset.action) {
      case "release": reply = await api("POST", `/api/alerts/${id}/release`, {}); break;
      case "submit": reply = await api("POST", `/api/alerts/${id}/submit`, {}); break;
      case "approve": reply = await api("POST", `/api/alerts/${id}/release`, { comment: comment() }); break;
      case "reject":
        if (!comment().trim()) { status.textContent = d.reason; return; }
        reply = await api("POST", `/api/alerts/${id}/reject`, { comment: comment() });
        break;
      case "all-clear": {
        // An Update from the all-clear template, in the original's languages,
        // for the same area.
        const original = await api("GET", `/api/alerts/${id}`);
        const library = await api("GET", "/api/templates");
        if (!original.ok || !library.ok) { fail(original.ok ? library : original); return; }
        const t = library.json.find((x) => x.id === "all-clear");
        const place = button.closest("section.incident").dataset.place;
        const fill = (s) => s.replaceAll("{place}", place).replaceAll("{authority}", place)
          .replaceAll("{web}", `${window.location.origin}/alerts`);
        const texts = {};
        for (const lang of Object.keys(original.json.composition.texts)) {
          texts[lang] = Object.fromEntries(Object.entries(t.texts[lang]).map(([k, v]) => [k, fill(v)]));
        }
        const made = await api("POST", `/api/alerts/${id}/follow-up`, {
          msg_type: "Update", status: original.json.status, area: original.json.area,
          composition: { template: "all-clear", category: t.category, urgency: t.urgency,
            severity: t.severity, certainty: t.certainty, texts },
        });
        if (!made.ok) { fail(made); return; }
        reply = await api("POST", `/api/alerts/${made.json.id}/release`, { confirm_repeat: true });
        break;
      }
      case "close": reply = await api("POST", `/api/incidents/${id}/close`, {}); break;
      default: return;
    }
    if (!reply.ok) { fail(reply); return; }
    window.location.reload();
  });
})();
