// The alert composer: drives the staff API. Every rule (lengths, jurisdiction,
// approval, limits) is the server's; this page only gathers, counts and shows.
(() => {
  "use strict";
  const form = document.getElementById("compose");
  if (!form) return;
  const d = form.dataset;
  const $ = (id) => document.getElementById(id);
  const result = $("compose-result"), problemsEl = $("compose-problems");
  let alertId = null;

  async function api(method, path, body) {
    const r = await fetch(path, {
      method,
      headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    return { ok: r.ok, status: r.status, json };
  }
  function show(text) { result.textContent = text; }
  function problems(reply) {
    problemsEl.textContent = "";
    const j = reply.json || {};
    const list = j.problems && j.problems.length ? j.problems : [{ message: j.message || d.failed }];
    for (const p of list) {
      const li = document.createElement("li");
      li.textContent = p.field ? `${p.field}: ${p.message}` : p.message;
      problemsEl.append(li);
    }
  }
  const clearProblems = () => { problemsEl.textContent = ""; };

  // GSM 03.38: the basic table, and the extension table (two septets each).
  const GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const GSM_EXT = "^{}\\[~]|€\f";
  function smsFigures(text) {
    let septets = 0, gsm = true;
    for (const c of text) {
      if (GSM.includes(c)) septets += 1;
      else if (GSM_EXT.includes(c)) septets += 2;
      else { gsm = false; break; }
    }
    if (gsm) return { enc: "GSM-7", n: septets, parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
    let units = 0;
    for (const c of text) units += c.codePointAt(0) > 0xffff ? 2 : 1;
    return { enc: "UCS-2", n: units, parts: units <= 70 ? 1 : Math.ceil(units / 67) };
  }
  // The count includes the word that marks an exercise or a test, as sent.
  const status = () => form.querySelector("input[name=status]:checked").value;
  for (const box of form.querySelectorAll("fieldset.language")) {
    const sms = box.querySelector("[data-field=sms]");
    const out = box.querySelector("output.counter");
    const update = () => {
      const mark = { Exercise: box.dataset.markExercise, Test: box.dataset.markTest }[status()];
      const f = smsFigures(mark ? `${mark} - ${sms.value}` : sms.value);
      out.textContent = `${f.n} · ${f.parts} ${d.segments} · ${f.enc}`;
    };
    sms.addEventListener("input", update);
    for (const radio of form.querySelectorAll("input[name=status]")) radio.addEventListener("change", update);
    update();
  }

  $("open-incident").addEventListener("click", async () => {
    const title = $("incident-title").value.trim();
    const reply = await api("POST", "/api/incidents", { title });
    if (!reply.ok) { problems(reply); return; }
    clearProblems();
    const option = new Option(`${reply.json.title} (#${reply.json.id})`, reply.json.id, true, true);
    $("incident").append(option);
    $("incident-title").value = "";
  });

  let templates = null;
  $("template").addEventListener("change", async (e) => {
    const id = e.target.value;
    if (!id) return;
    if (!templates) {
      const reply = await api("GET", "/api/templates");
      if (!reply.ok) { problems(reply); return; }
      templates = reply.json;
    }
    const t = templates.find((x) => x.id === id);
    if (!t) return;
    for (const f of ["category", "urgency", "severity", "certainty"]) $(f).value = t[f];
    const fill = (s) => s.replaceAll("{place}", d.territoryName)
      .replaceAll("{authority}", d.territoryName)
      .replaceAll("{web}", `${d.publicUrl}/alerts`);
    for (const box of form.querySelectorAll("fieldset.language")) {
      const texts = t.texts[box.dataset.language];
      for (const input of box.querySelectorAll("[data-field]")) {
        input.value = fill(texts[input.dataset.field] || "");
        input.dispatchEvent(new Event("input"));
      }
    }
  });

  // The map: municipalities drawn from Crieur's own geometry; in drawing mode
  // each click adds a corner of the polygon.
  const NS = "http://www.w3.org/2000/svg";
  const K = Math.cos(50.5 * Math.PI / 180);
  const mapBox = $("compose-map");
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", d.territoryName);
  const shapes = document.createElementNS(NS, "g");
  const drawn = document.createElementNS(NS, "polygon");
  drawn.setAttribute("class", "drawn");
  svg.append(shapes, drawn);
  mapBox.append(svg);
  const ring = document.createElementNS(NS, "ellipse");
  ring.setAttribute("class", "drawn");
  svg.append(ring);
  let vertices = [];
  let circle = null;
  let uploaded = null;
  let mode = null; // "polygon" or "circle" while drawing
  const redraw = () => {
    drawn.setAttribute("points", vertices.map(([lon, lat]) => `${lon * K},${-lat}`).join(" "));
    if (circle) {
      // Radius in degrees of latitude; the map is equirectangular around 50.5°N.
      const r = circle.radius_m / 111320;
      ring.setAttribute("cx", circle.lon * K); ring.setAttribute("cy", -circle.lat);
      ring.setAttribute("rx", r * K / Math.cos(circle.lat * Math.PI / 180)); ring.setAttribute("ry", r);
      ring.style.display = "";
    } else ring.style.display = "none";
  };
  function setMode(next) {
    mode = mode === next ? null : next;
    $("draw").setAttribute("aria-pressed", String(mode === "polygon"));
    $("draw-circle").setAttribute("aria-pressed", String(mode === "circle"));
    mapBox.classList.toggle("drawing", mode !== null);
  }
  $("draw").addEventListener("click", () => setMode("polygon"));
  $("draw-circle").addEventListener("click", () => setMode("circle"));
  $("clear-shape").addEventListener("click", () => {
    vertices = []; circle = null; uploaded = null; $("geojson").value = ""; redraw();
    delete mapBox.dataset.vertices;
  });
  $("radius").addEventListener("input", () => {
    if (circle) { circle.radius_m = Math.round(parseFloat($("radius").value || "0") * 1000); redraw(); }
  });
  svg.addEventListener("click", (e) => {
    if (!mode) return;
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const point = [+(p.x / K).toFixed(6), +(-p.y).toFixed(6)];
    if (mode === "polygon") {
      vertices.push(point);
      mapBox.dataset.vertices = String(vertices.length);
    } else {
      circle = { lon: point[0], lat: point[1], radius_m: Math.round(parseFloat($("radius").value || "0") * 1000) };
    }
    redraw();
  });
  $("geojson").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    uploaded = null;
    if (!file) return;
    try {
      uploaded = JSON.parse(await file.text());
      clearProblems();
    } catch (_) {
      problems({ json: { message: d.failed } });
    }
  });
  redraw();
  fetch(`/api/territories.geojson?level=municipality&lang=${encodeURIComponent(d.lang)}`)
    .then((r) => r.json())
    .then((fc) => {
      let box = null;
      for (const f of fc.features) {
        const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
        const path = document.createElementNS(NS, "path");
        path.setAttribute("d", polys.map((poly) => poly.map((ring) => ring.map(([lon, lat], i) =>
          `${i ? "L" : "M"}${(lon * K).toFixed(5)} ${(-lat).toFixed(5)}`).join("") + "Z").join("")).join(""));
        const mine = f.properties.nis === d.territory;
        if (mine) {
          path.setAttribute("class", "served");
          for (const poly of polys) for (const [lon, lat] of poly[0]) {
            const [x, y] = [lon * K, -lat];
            box = box || { x0: x, y0: y, x1: x, y1: y };
            box = { x0: Math.min(box.x0, x), y0: Math.min(box.y0, y), x1: Math.max(box.x1, x), y1: Math.max(box.y1, y) };
          }
        }
        shapes.append(path);
      }
      const v = box ? { x: box.x0, y: box.y0, w: box.x1 - box.x0, h: box.y1 - box.y0 }
        : { x: 2.45 * K, y: -51.6, w: 4.05 * K, h: 2.2 };
      const pad = Math.max(v.w, v.h) * 0.1;
      svg.setAttribute("viewBox", `${v.x - pad} ${v.y - pad} ${v.w + 2 * pad} ${v.h + 2 * pad}`);
      drawn.setAttribute("stroke-width", String(Math.max(v.w, v.h) / 300));
      mapBox.dataset.loaded = "true";
    })
    .catch(() => show(d.failed));

  function draft() {
    const texts = {};
    for (const box of form.querySelectorAll("fieldset.language")) {
      const t = {};
      for (const input of box.querySelectorAll("[data-field]")) t[input.dataset.field] = input.value.trim();
      if (t.sms || t.headline) texts[box.dataset.language] = t;
    }
    const area = $("codes").value.split(/[\s,;]+/).filter(Boolean).map((nis) => ({ kind: "territory", nis }));
    if (vertices.length >= 3) {
      const closed = [...vertices, vertices[0]];
      area.push({ kind: "polygon", geojson: { type: "Polygon", coordinates: [closed] } });
    }
    if (circle) area.push({ kind: "circle", ...circle });
    if (uploaded) area.push({ kind: "polygon", geojson: uploaded });
    return {
      status: form.querySelector("input[name=status]:checked").value,
      clip: $("clip").checked,
      test_group: $("test-group").checked,
      area,
      composition: {
        template: $("template").value || null,
        category: $("category").value, urgency: $("urgency").value,
        severity: $("severity").value, certainty: $("certainty").value,
        web: `${d.publicUrl}/alerts`,
        onset: $("onset").value.trim() || null,
        expires: $("expires").value.trim() || null,
        contact: $("contact").value.trim() || null,
        texts,
      },
    };
  }

  function describe(reckoning) {
    const lines = [`${d.persons}: ${reckoning.persons}`];
    for (const [channel, byLang] of Object.entries(reckoning.messages)) {
      lines.push(`${channel}: ` + Object.entries(byLang).map(([l, n]) => `${l} ${n}`).join(", "));
    }
    lines.push(`${d.cost}: € ${(reckoning.cost_cents / 100).toFixed(2)}`);
    if (reckoning.clipped) lines.push(d.clipped);
    return lines.join(" · ");
  }

  $("preview").addEventListener("click", async () => {
    const reply = await api("POST", "/api/alerts/preview", draft());
    if (!reply.ok) { problems(reply); return; }
    clearProblems();
    result.dataset.persons = reply.json.persons;
    show(describe(reply.json));
  });

  $("save").addEventListener("click", async () => {
    const incident = $("incident").value;
    const body = draft();
    const reply = alertId
      ? await api("PUT", `/api/alerts/${alertId}`, body)
      : await api("POST", `/api/incidents/${incident}/alerts`, body);
    if (!reply.ok) { problems(reply); return; }
    clearProblems();
    if (!alertId) alertId = reply.json.id;
    result.dataset.alert = alertId;
    show(`${d.saved} #${alertId}`);
    $("release").hidden = false;
    $("submit-approval").hidden = false;
  });

  $("release").addEventListener("click", async () => {
    const reply = await api("POST", `/api/alerts/${alertId}/release`, {});
    if (!reply.ok) { problems(reply); return; }
    clearProblems();
    result.textContent = "";
    const link = document.createElement("a");
    link.href = `/alerts/${alertId}`;
    link.id = "released-link";
    link.textContent = `${d.released} #${alertId}`;
    result.append(link, document.createTextNode(" · " + describe(reply.json)));
    $("release").hidden = true;
    $("submit-approval").hidden = true;
    follow(alertId);
  });

  // Live delivery progress per channel, from the server's event stream.
  function follow(id) {
    const out = $("progress");
    const source = new EventSource(`/api/alerts/${id}/progress`);
    const show = (e) => {
      const byChannel = {};
      for (const l of JSON.parse(e.data).lanes) {
        const c = byChannel[l.channel] || (byChannel[l.channel] = { done: 0, total: 0, failed: 0 });
        c.done += l.sent + l.delivered + l.confirmed;
        c.failed += l.failed;
        c.total += l.queued + l.sending + l.retrying + l.sent + l.delivered + l.confirmed + l.failed + l.cancelled;
      }
      out.textContent = Object.entries(byChannel).map(([channel, c]) =>
        `${channel}: ${c.done}/${c.total} ${d.sentWord}, ${c.failed} ${d.failedWord}`).join(" · ");
    };
    source.addEventListener("progress", show);
    source.addEventListener("done", (e) => { show(e); out.dataset.done = "true"; source.close(); });
  }

  $("submit-approval").addEventListener("click", async () => {
    const reply = await api("POST", `/api/alerts/${alertId}/submit`, {});
    if (!reply.ok) { problems(reply); return; }
    clearProblems();
    show(`${d.submitted} #${alertId}`);
    $("release").hidden = true;
    $("submit-approval").hidden = true;
  });

  // A draft started elsewhere (the hotline supervisor's trends):
  // ?incident=…&language=…&headline=…&instruction=… preselect and prefill.
  const start = new URLSearchParams(window.location.search);
  if (start.has("incident")) {
    const option = [...$("incident").options].find((o) => o.value === start.get("incident"));
    if (option) $("incident").value = option.value;
  }
  const box = form.querySelector(`fieldset.language[data-language="${start.get("language") || document.documentElement.lang}"]`)
    || form.querySelector("fieldset.language");
  for (const field of ["headline", "instruction"]) {
    const input = box && box.querySelector(`[data-field=${field}]`);
    if (input && start.get(field)) {
      input.value = start.get(field);
      input.dispatchEvent(new Event("input"));
    }
  }
})();
