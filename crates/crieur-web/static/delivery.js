// An alert's delivery, followed live from the server's event stream; the
// buttons call the staff API, which decides who may stop or retry.
(() => {
  "use strict";
  const root = document.getElementById("delivery");
  if (!root) return;
  const d = root.dataset;
  const body = root.querySelector("#lanes tbody");
  const pace = document.getElementById("pace");
  const status = document.getElementById("delivery-status");
  const columns = ["queued", "sending", "sent", "delivered", "confirmed", "failed",
    "retrying", "cancelled", "possible_duplicates", "reach"];
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function render(p) {
    body.replaceChildren(...p.lanes.map((l) => {
      const tr = document.createElement("tr");
      tr.dataset.channel = l.channel;
      tr.dataset.provider = l.provider || "";
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = l.channel;
      const provider = document.createElement("td");
      provider.textContent = l.provider || d.unassigned;
      tr.append(th, provider);
      for (const c of columns) {
        const td = document.createElement("td");
        td.dataset.count = c;
        td.textContent = number.format(l[c]);
        tr.append(td);
      }
      return tr;
    }));
    if (p.done) {
      pace.textContent = `${d.finished}: ${number.format(p.finished)}`;
      pace.dataset.done = "true";
    } else {
      const left = p.seconds_left == null ? "" : ` · ${d.left}: ${formatDuration(p.seconds_left)}`;
      pace.textContent = `${number.format(p.rate)} ${d.perSecond}${left}`;
      delete pace.dataset.done;
    }
  }

  function formatDuration(s) {
    const m = Math.floor(s / 60);
    return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
  }

  let source = null;
  function follow() {
    if (source) source.close();
    source = new EventSource(`/api/alerts/${d.id}/progress`);
    const show = (e) => render(JSON.parse(e.data));
    source.addEventListener("progress", show);
    source.addEventListener("done", (e) => { show(e); source.close(); source = null; });
  }

  async function post(path) {
    const r = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
      body: "{}",
      credentials: "same-origin",
    });
    let json = null;
    try { json = await r.json(); } catch (_) { json = null; }
    if (!r.ok) {
      status.textContent = (json && json.message) || d.failed;
      return null;
    }
    return json;
  }

  document.getElementById("stop").addEventListener("click", async () => {
    if (!window.confirm(d.confirmStop)) return;
    const j = await post(`/api/alerts/${d.id}/stop`);
    if (j) { status.textContent = `${d.stopped}: ${number.format(j.cancelled)}`; follow(); }
  });
  document.getElementById("retry").addEventListener("click", async () => {
    const j = await post(`/api/alerts/${d.id}/retry-failed`);
    if (j) { status.textContent = `${d.requeued}: ${number.format(j.queued)}`; follow(); }
  });
  follow();
})();
