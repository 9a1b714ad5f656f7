// The supervisor's live view: queues and operators redrawn from the server's
// event stream (at most twice a second). The polite live region changes only
// when the sentence does (callers waiting, operators available), so a screen
// reader is not read every tick. Everything else on the page works without
// JavaScript.
(() => {
  "use strict";
  const root = document.getElementById("supervisor");
  if (!root || !window.EventSource) return;
  const id = root.dataset.hotline;
  const summary = document.getElementById("live-summary");
  const queues = document.querySelector("#live-queues tbody");
  const operators = document.querySelector("#live-operators tbody");

  function cell(tag, text, attrs) {
    const el = document.createElement(tag);
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  }

  function render(live) {
    if (summary.textContent !== live.summary) summary.textContent = live.summary;
    queues.replaceChildren(...live.queues.map((q) => {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.queue;
      tr.append(
        cell("th", `${q.line} (${q.language})`, { scope: "row" }),
        cell("td", String(q.waiting), { "data-k": "waiting" }),
        cell("td", `${q.longest_wait_s} s`, { "data-k": "longest" }),
        cell("td", String(q.staffed), { "data-k": "staffed" }),
        cell("td", String(q.available), { "data-k": "available" }));
      return tr;
    }));
    const rows = live.operators.map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.operator = o.operator;
      tr.append(
        cell("th", o.name, { scope: "row" }),
        cell("td", o.presence_label),
        cell("td", `${o.since_s} s`),
        cell("td", o.call || ""),
        cell("td", String(o.answered)),
        cell("td", String(o.missed)));
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.append(cell("td", root.dataset.none, { colspan: "6" }));
      rows.push(tr);
    }
    operators.replaceChildren(...rows);
    root.dataset.running = String(live.running);
  }

  const source = new EventSource(`/api/hotlines/${id}/live/events`);
  source.addEventListener("live", (e) => {
    try { render(JSON.parse(e.data)); } catch (_) { /* keep the last view */ }
  });
  source.addEventListener("answers", () => {
    // Another supervisor changed the answers: say so, without moving focus.
    const note = document.getElementById("answers-changed");
    if (note) note.hidden = false;
  });
  source.addEventListener("closed", () => source.close());
})();
