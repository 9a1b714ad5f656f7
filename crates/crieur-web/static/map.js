// The offline map of Belgium: drawn in SVG from Crieur's own geometry, no tiles,
// no third-party library. Pan by dragging or with the arrow keys, zoom with the
// wheel, the buttons or +/-; click or press Enter on a territory to see it.
(() => {
  "use strict";
  const box = document.getElementById("map");
  if (!box) return;
  const d = box.dataset;
  const lang = d.lang;
  const statusEl = document.getElementById("map-status");
  const infoEl = document.getElementById("map-info-body");
  const NS = "http://www.w3.org/2000/svg";
  const K = Math.cos(50.5 * Math.PI / 180); // equirectangular around Belgium's latitude
  const project = (lon, lat) => [lon * K, -lat];
  const home = { x: 2.45 * K, y: -51.6, w: (6.5 - 2.45) * K, h: 51.6 - 49.4 };
  let view = { ...home };

  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("role", "group");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const layers = {};
  for (const level of ["province", "municipality"]) {
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", level);
    layers[level] = { g, loaded: null, byNis: new Map() };
  }
  svg.append(layers.province.g, layers.municipality.g);
  box.prepend(svg);

  const setStatus = (text) => { statusEl.textContent = text; };
  const applyView = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  applyView();

  function ringPath(ring) {
    let s = "";
    ring.forEach(([lon, lat], i) => {
      const [x, y] = project(lon, lat);
      s += (i ? "L" : "M") + x.toFixed(5) + " " + y.toFixed(5);
    });
    return s + "Z";
  }
  function geometryPath(geom) {
    const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.coordinates;
    return polys.map((p) => p.map(ringPath).join("")).join("");
  }
  function bboxOf(geom) {
    const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.coordinates;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const p of polys) for (const [lon, lat] of p[0]) {
      const [x, y] = project(lon, lat);
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  function load(level) {
    const layer = layers[level];
    if (layer.loaded) return layer.loaded;
    setStatus(d.loading);
    layer.loaded = fetch(`/api/territories.geojson?level=${level}&lang=${encodeURIComponent(lang)}`)
      .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then((fc) => {
        const frag = document.createDocumentFragment();
        for (const f of fc.features) {
          const p = document.createElementNS(NS, "path");
          p.setAttribute("d", geometryPath(f.geometry));
          p.dataset.nis = f.properties.nis;
          p.dataset.level = level;
          // Provinces are few enough to be keyboard stops; municipalities are
          // reached through the search box.
          if (level === "province") p.setAttribute("tabindex", "0");
          p.setAttribute("role", "button");
          p.setAttribute("aria-label", `${f.properties.name} (${f.properties.nis})`);
          const title = document.createElementNS(NS, "title");
          title.textContent = f.properties.name;
          p.append(title);
          frag.append(p);
          layer.byNis.set(f.properties.nis, { feature: f, path: p });
        }
        layer.g.append(frag);
        setStatus("");
        box.dataset.loaded = (box.dataset.loaded || "") + level + " ";
      })
      .catch(() => { layer.loaded = null; setStatus(d.failed); });
    return layer.loaded;
  }

  let selected = null;
  function select(entry) {
    if (selected) selected.path.classList.remove("selected");
    selected = entry;
    entry.path.classList.add("selected");
    const p = entry.feature.properties;
    const levelLabel = p.level === "province" ? d.labelProvince : d.labelMunicipality;
    infoEl.textContent = "";
    const name = document.createElement("strong");
    name.textContent = p.name;
    name.id = "map-selected-name";
    const lines = [name, document.createElement("br"),
      document.createTextNode(`${levelLabel} · ${d.labelCode} ${p.nis}`)];
    if (p.parent_name) lines.push(document.createElement("br"), document.createTextNode(`${d.labelIn} ${p.parent_name}`));
    const badge = document.createElement("span");
    badge.className = p.approximate ? "badge" : "badge official";
    badge.textContent = p.approximate ? d.labelApproximate : d.labelOfficial;
    lines.push(document.createElement("br"), badge);
    infoEl.append(...lines);
  }

  function entryFor(target) {
    const path = target.closest && target.closest("path[data-nis]");
    if (!path) return null;
    return layers[path.dataset.level].byNis.get(path.dataset.nis) || null;
  }

  // Dragging pans; a click without movement selects.
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, view: { ...view }, moved: false };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
    if (!drag.moved) return;
    svg.classList.add("dragging");
    const scale = Math.max(view.w / svg.clientWidth, view.h / svg.clientHeight);
    view.x = drag.view.x - dx * scale;
    view.y = drag.view.y - dy * scale;
    applyView();
  });
  svg.addEventListener("pointerup", (e) => {
    const wasDrag = drag && drag.moved;
    drag = null;
    svg.classList.remove("dragging");
    if (wasDrag) return;
    const hit = document.elementFromPoint(e.clientX, e.clientY);
    const entry = hit && entryFor(hit);
    if (entry) select(entry);
  });

  function zoom(factor, cx, cy) {
    const nw = Math.min(Math.max(view.w * factor, home.w / 64), home.w * 2);
    const f = nw / view.w;
    cx = cx ?? view.x + view.w / 2;
    cy = cy ?? view.y + view.h / 2;
    view = { x: cx - (cx - view.x) * f, y: cy - (cy - view.y) * f, w: view.w * f, h: view.h * f };
    applyView();
  }
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const scale = Math.max(view.w / r.width, view.h / r.height);
    const cx = view.x + view.w / 2 + (e.clientX - r.left - r.width / 2) * scale;
    const cy = view.y + view.h / 2 + (e.clientY - r.top - r.height / 2) * scale;
    zoom(e.deltaY < 0 ? 0.8 : 1.25, cx, cy);
  }, { passive: false });

  document.getElementById("zoom-in").addEventListener("click", () => zoom(0.7));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(1 / 0.7));
  document.getElementById("zoom-reset").addEventListener("click", () => { view = { ...home }; applyView(); });

  box.addEventListener("keydown", (e) => {
    const step = 0.1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) {
      view.x += moves[e.key][0] * view.w; view.y += moves[e.key][1] * view.h; applyView();
    } else if (e.key === "+" || e.key === "=") zoom(0.7);
    else if (e.key === "-") zoom(1 / 0.7);
    else if (e.key === "Enter" || e.key === " ") {
      const entry = entryFor(e.target);
      if (!entry) return;
      select(entry);
    } else return;
    e.preventDefault();
  });

  function showLayer(level) {
    box.classList.toggle("show-municipalities", level === "municipality");
    layers.municipality.g.style.display = level === "municipality" ? "" : "none";
    if (level === "municipality") load("municipality");
  }
  for (const radio of document.querySelectorAll("input[name=layer]")) {
    radio.addEventListener("change", () => showLayer(radio.value));
  }

  function zoomTo(entry) {
    const b = bboxOf(entry.feature.geometry);
    const pad = Math.max(b.w, b.h) * 0.4;
    view = { x: b.x - pad, y: b.y - pad, w: b.w + 2 * pad, h: b.h + 2 * pad };
    applyView();
  }

  const results = document.getElementById("map-results");
  document.getElementById("map-search").addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = document.getElementById("map-q").value.trim();
    if (!q) return;
    results.textContent = "";
    const r = await fetch(`/api/territories?q=${encodeURIComponent(q)}&lang=${encodeURIComponent(lang)}`);
    if (!r.ok) { setStatus(d.failed); return; }
    const units = (await r.json()).filter((u) => u.level === "province" || u.level === "municipality").slice(0, 20);
    for (const u of units) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `${u.name} (${u.nis})`;
      b.addEventListener("click", async () => {
        if (u.level === "municipality") {
          document.querySelector("input[name=layer][value=municipality]").checked = true;
          showLayer("municipality");
        }
        await load(u.level);
        const entry = layers[u.level].byNis.get(u.nis);
        if (entry) { select(entry); zoomTo(entry); }
      });
      li.append(b);
      results.append(li);
    }
    if (!units.length) {
      const li = document.createElement("li");
      li.textContent = "—";
      results.append(li);
    }
  });

  showLayer("province");
  load("province");
})();
