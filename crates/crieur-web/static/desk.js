// The operator desk: fetches the desk's state from the staff API and draws it
// again on every event of the desk's stream. The server decides everything
// (who may act, on which call); this file only shows and sends.
(() => {
  "use strict";
  const root = document.getElementById("desk");
  if (!root) return;
  const d = root.dataset;
  const base = `/api/hotlines/${d.id}/desk`;
  const $ = (id) => document.getElementById(id);
  const error = $("desk-error");
  const status = $("desk-status");

  let current = null;        // the last desk state
  let clockOffset = 0;       // server clock minus ours, in ms
  let formCall = null;       // the call the form is for
  let announcedCall = null;  // the call last announced
  let answers = [];

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  async function api(method, path, body) {
    // Reading again in the background must not hide a refusal not read yet.
    if (method !== "GET") showError("");
    let r;
    try {
      r = await fetch(base + path, {
        method,
        headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (_) {
      showError(d.failed);
      return null;
    }
    let json = null;
    try { json = await r.json(); } catch (_) { json = null; }
    if (!r.ok) {
      const problems = json && json.problems && json.problems.map((p) => p.message).join(" ");
      showError(problems || (json && json.message) || d.failed);
      return null;
    }
    return json === null ? {} : json;
  }

  function text(id, value) { $(id).textContent = value || ""; }

  function element(tag, content, cls) {
    const e = document.createElement(tag);
    if (content !== undefined) e.textContent = content;
    if (cls) e.className = cls;
    return e;
  }

  // ---- the desk ----

  async function refresh() {
    const s = await api("GET", "");
    if (!s) return;
    current = s;
    clockOffset = s.now_ms - Date.now();
    $("sign-in").hidden = s.signed_in || !s.active;
    $("signed-in").hidden = !s.signed_in;
    $("elsewhere").hidden = !s.elsewhere;
    if (!s.active) status.textContent = "";
    if (!s.signed_in) { drawCall(null); return; }
    const p = $("presence");
    p.textContent = s.presence_label;
    p.dataset.presence = s.presence;
    text("desk-who", `${s.desk.name} · ${s.desk.extension} · ${s.desk.native.join(", ")}`);
    $("break").disabled = s.presence === "break";
    $("ready").disabled = s.presence === "available";
    drawCall(s.call, s.presence);
  }

  function drawCall(call, presence) {
    $("call").hidden = !call;
    $("no-call").hidden = !!call;
    if (!call) {
      if ($("inquiry-panel")) $("inquiry-panel").hidden = true;
      text("call-announce", "");
      announcedCall = null;
      return;
    }
    text("call-line", call.line_label);
    $("call-line").dataset.line = call.line;
    text("call-language", call.language_name);
    $("call-language").dataset.language = call.language;
    text("call-caller", call.caller);
    text("call-ivr", call.ivr_path);
    text("call-from", call.transferred_from || "—");
    $("take").hidden = !call.offer;
    $("transfer-button").disabled = presence !== "on_call";
    tick();
    const connected = presence === "on_call";
    const said = `${connected ? d.connected : d.incoming}: ${call.line_label}, ${call.language_name}`;
    if (announcedCall !== call.call_id + presence) {
      text("call-announce", said);
      announcedCall = call.call_id + presence;
    }
    const earlier = $("earlier");
    earlier.replaceChildren(...call.earlier.map((c) => {
      const li = element("li");
      li.append(element("strong", c.when), ` · ${c.line} · ${c.ending}`);
      if (c.topics.length) li.append(` · ${c.topics.join(", ")}`);
      if (c.question) li.append(element("div", c.question));
      return li;
    }));
    $("no-earlier").hidden = call.earlier.length > 0;
    if (connected && formCall !== call.call_id) startForm(call);
    const inquiryPanel = $("inquiry-panel");
    if (inquiryPanel) inquiryPanel.hidden = !(connected && call.line === "relatives");
  }

  function tick() {
    const call = current && current.call;
    if (!call) return;
    const s = Math.max(0, Math.floor((Date.now() + clockOffset - call.entered_at) / 1000));
    const m = Math.floor(s / 60);
    $("call-wait").textContent = m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
  }
  setInterval(tick, 1000);

  $("sign-in-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const checked = (name) => [...f.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const ok = await api("POST", "/sign-in", {
      extension: f.extension.value,
      native: checked("native"),
      spoken: checked("spoken"),
      psychosocial: f.psychosocial.checked,
    });
    if (ok) { await refresh(); loadAnswers(); loadCallbacks(); $("presence-title").focus(); }
  });
  $("sign-out").addEventListener("click", async () => {
    if (await api("POST", "/sign-out")) refresh();
  });
  $("break").addEventListener("click", async () => {
    if (await api("POST", "/presence", { available: false })) refresh();
  });
  $("ready").addEventListener("click", async () => {
    if (await api("POST", "/presence", { available: true })) refresh();
  });
  $("take").addEventListener("click", async () => {
    if (current && current.call && await api("POST", "/take", { call_id: current.call.call_id })) refresh();
  });
  $("transfer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!current || !current.call) return;
    const f = e.target;
    const ok = await api("POST", "/transfer", {
      call_id: current.call.call_id,
      to: f.to.value,
      kind: f.querySelector("input[name=kind]:checked").value,
    });
    if (ok) { status.textContent = d.transferred; refresh(); }
  });

  // ---- the call form ----

  const form = $("call-form");

  async function startForm(call) {
    formCall = call.call_id;
    form.reset();
    const inquiry = $("inquiry-form");
    if (inquiry) {
      inquiry.reset();
      inquiry.caller_language.value = call.language;
      text("inquiry-status", "");
    }
    $("form-fields").disabled = false;
    text("form-status", "");
    text("form-call", `${d.formFor} ${call.caller} · ${call.line_label}`);
    const saved = await api("GET", `/calls/${encodeURIComponent(call.call_id)}/form`);
    if (!saved || formCall !== call.call_id) return;
    for (const t of saved.topics || []) {
      const box = $(`topic-${t}`);
      if (box) box.checked = true;
    }
    form.tags.value = saved.tags || "";
    form.question.value = saved.question || "";
    form.municipality.value = saved.municipality || "";
    const worry = $(`worry-${saved.worry || "none"}`);
    if (worry) worry.checked = true;
    form.notes.value = saved.notes || "";
    form.outcome.value = saved.outcome || "";
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!formCall) return;
    const worry = form.querySelector("input[name=worry]:checked");
    const body = {
      topics: [...form.querySelectorAll("input[name=topic]:checked")].map((i) => i.value),
      tags: form.tags.value,
      question: form.question.value,
      municipality: form.municipality.value,
      worry: worry && worry.value ? parseInt(worry.value, 10) : null,
      notes: form.notes.value,
      outcome: form.outcome.value,
    };
    text("form-status", "");
    const ok = await api("PUT", `/calls/${encodeURIComponent(formCall)}/form`, body);
    if (ok) text("form-status", d.saved);
  });

  // ---- an inquiry about a missing person (relatives line only) ----

  const inquiryForm = $("inquiry-form");
  if (inquiryForm) inquiryForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!formCall) return;
    const body = {};
    for (const el of inquiryForm.elements) if (el.name) body[el.name] = el.value;
    text("inquiry-status", "");
    const saved = await api("POST", `/calls/${encodeURIComponent(formCall)}/inquiries`, body);
    if (!saved) return;
    const status = $("inquiry-status");
    const link = element("a", `${d.inquirySaved} #${saved.id}`);
    link.href = saved.url;
    link.id = "inquiry-link";
    status.replaceChildren(link);
    inquiryForm.reset();
  });

  // ---- approved answers ----

  async function loadAnswers() {
    const list = await api("GET", "/answers");
    if (!list) return;
    answers = list;
    filterAnswers();
  }

  function filterAnswers() {
    const words = $("answer-search").value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    const shown = answers.filter((a) => {
      const hay = `${a.title}\n${a.body}\n${a.topics.join(" ")}`.toLocaleLowerCase();
      return words.every((w) => hay.includes(w));
    });
    $("answers").replaceChildren(...shown.map((a) => {
      const li = element("li");
      li.dataset.key = a.key;
      li.lang = a.language;
      const h = element("h3", a.title);
      const meta = element("p", `${a.topics.join(", ")} · v${a.version} · ${a.published}`, "help");
      const body = element("p", a.body, "answer-body");
      li.append(h, meta, body);
      return li;
    }));
    text("answers-count", shown.length ? `${d.found}: ${shown.length}` : d.noAnswer);
  }
  $("answer-search").addEventListener("input", filterAnswers);

  // ---- callbacks ----

  async function loadCallbacks() {
    const list = await api("GET", "/callbacks");
    if (!list) return;
    $("no-callbacks").hidden = list.length > 0;
    $("callbacks").replaceChildren(...list.map((c) => {
      const li = element("li");
      li.dataset.id = c.id;
      li.append(element("strong", c.number), ` · ${c.line} · ${c.language} · ${c.state_label}`);
      li.append(element("div", `${d.reason}: ${c.reason} · ${c.created}`, "help"));
      if (c.note) li.append(element("div", c.note));
      const actions = element("div", undefined, "row-actions");
      if (c.state === "open") {
        const take = element("button", d.take);
        take.type = "button";
        take.className = "take-callback";
        take.addEventListener("click", async () => {
          if (await api("POST", `/callbacks/${c.id}/take`)) loadCallbacks();
        });
        actions.append(take);
      } else if (c.mine) {
        const id = `callback-note-${c.id}`;
        const label = element("label", d.note);
        label.htmlFor = id;
        const note = element("input");
        note.id = id;
        note.maxLength = 4000;
        const finish = (success) => async () => {
          if (await api("POST", `/callbacks/${c.id}/finish`, { success, note: note.value })) loadCallbacks();
        };
        const done = element("button", d.done);
        done.type = "button";
        done.className = "done-callback";
        done.addEventListener("click", finish(true));
        const failed = element("button", d.failedAttempt);
        failed.type = "button";
        failed.className = "failed-callback";
        failed.addEventListener("click", finish(false));
        actions.append(label, note, done, failed);
      } else if (c.taken) {
        actions.append(element("span", d.taken));
      }
      li.append(actions);
      return li;
    }));
  }

  // ---- live updates ----

  let pending = null;
  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); loadCallbacks(); }, 150);
  }

  function follow() {
    const source = new EventSource(`${base}/events`);
    source.onmessage = (e) => {
      let event = null;
      try { event = JSON.parse(e.data); } catch (_) { return; }
      if (event.type === "answers_changed") loadAnswers();
      else soon();
    };
    // The browser reconnects by itself; fetch what may have been missed.
    source.onopen = () => soon();
  }

  refresh().then(() => { loadAnswers(); loadCallbacks(); follow(); });
})();
