// Places an address with a pin when the registry does not know it: a small
// offline map (Crieur's own municipality shapes, no tiles) inside each
// "place it on the map" section. Clicking or tapping the map fills the latitude
// and longitude fields, which stay the keyboard and screen-reader way to do it.
(() => {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const K = Math.cos(50.5 * Math.PI / 180);
  const project = (lon, lat) => [lon * K, -lat];
  const belgium = { x: 2.45 * K, y: -51.6, w: (6.5 - 2.45) * K, h: 51.6 - 49.4 };
  let shapes = null;

  function municipalities(lang) {
    if (!shapes) {
      shapes = fetch(`/api/territories.geojson?level=municipality&lang=${encodeURIComponent(lang)}`)
        .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
        .catch((e) => { shapes = null; throw e; });
    }
    return shapes;
  }
  const polygonsOf = (g) => (g.type === "Polygon" ? [g.coordinates] : g.coordinates);
  function pathOf(g) {
    return polygonsOf(g).map((p) => p.map((ring) => ring.map(([lon, lat], i) => {
      const [x, y] = project(lon, lat);
      return (i ? "L" : "M") + x.toFixed(5) + " " + y.toFixed(5);
    }).join("") + "Z").join("")).join("");
  }
  function boxOf(features) {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const f of features) for (const p of polygonsOf(f.geometry)) for (const [lon, lat] of p[0]) {
      const [x, y] = project(lon, lat);
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    const pad = Math.max(x1 - x0, y1 - y0) * 0.15;
    return { x: x0 - pad, y: y0 - pad, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad };
  }

  function attach(details) {
    const lat = details.querySelector("input[name$=_lat]");
    const lon = details.querySelector("input[name$=_lon]");
    const postcode = details.closest("fieldset").querySelector("input[name$=_postcode]");
    if (!lat || !lon) return;
    const lang = document.documentElement.lang || "fr";
    const box = document.createElement("div");
    box.className = "pin-map";
    const bar = document.createElement("div");
    bar.className = "map-toolbar";
    const button = (text, label) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      bar.append(b);
      return b;
    };
    const d = details.dataset;
    const zin = button("+", d.zoomIn), zout = button("−", d.zoomOut);
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const g = document.createElementNS(NS, "g");
    const pin = document.createElementNS(NS, "circle");
    pin.setAttribute("class", "pin-mark");
    pin.setAttribute("r", "0");
    svg.append(g, pin);
    box.append(bar, svg);
    details.append(box);
    let view = { ...belgium };
    const apply = () => {
      svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
      pin.setAttribute("r", (view.w / 90).toFixed(5));
      pin.setAttribute("stroke-width", (view.w / 400).toFixed(5));
    };
    const showPin = () => {
      const la = parseFloat(lat.value.replace(",", ".")), lo = parseFloat(lon.value.replace(",", "."));
      if (!Number.isFinite(la) || !Number.isFinite(lo)) { pin.style.display = "none"; return; }
      const [x, y] = project(lo, la);
      pin.setAttribute("cx", x); pin.setAttribute("cy", y);
      pin.style.display = "";
    };
    const zoom = (f, cx, cy) => {
      cx = cx ?? view.x + view.w / 2; cy = cy ?? view.y + view.h / 2;
      const nw = Math.min(Math.max(view.w * f, belgium.w / 400), belgium.w * 1.5);
      f = nw / view.w;
      view = { x: cx - (cx - view.x) * f, y: cy - (cy - view.y) * f, w: view.w * f, h: view.h * f };
      apply();
    };
    zin.addEventListener("click", () => zoom(0.5));
    zout.addEventListener("click", () => zoom(2));
    const toMap = (e) => new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
    svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const p = toMap(e);
      zoom(e.deltaY < 0 ? 0.7 : 1 / 0.7, p.x, p.y);
    }, { passive: false });
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
      const s = view.w / svg.getBoundingClientRect().width;
      view.x = drag.view.x - dx * s; view.y = drag.view.y - dy * s;
      apply();
    });
    svg.addEventListener("pointerup", (e) => {
      const moved = drag && drag.moved;
      drag = null;
      if (moved) return;
      const p = toMap(e);
      lat.value = (-p.y).toFixed(6);
      lon.value = (p.x / K).toFixed(6);
      showPin();
    });
    lat.addEventListener("input", showPin);
    lon.addEventListener("input", showPin);
    apply();
    municipalities(lang).then(async (fc) => {
      const frag = document.createDocumentFragment();
      for (const f of fc.features) {
        const p = document.createElementNS(NS, "path");
        p.setAttribute("d", pathOf(f.geometry));
        p.dataset.nis = f.properties.nis;
        frag.append(p);
      }
      g.append(frag);
      let focus = [];
      const code = postcode && postcode.value.trim();
      if (code && /^\d{4}$/.test(code)) {
        const r = await fetch(`/api/postal-codes/${code}`);
        if (r.ok) {
          const served = new Set((await r.json()).municipalities.map((m) => m.nis));
          focus = fc.features.filter((f) => served.has(f.properties.nis));
          for (const p of g.querySelectorAll("path")) p.classList.toggle("served", served.has(p.dataset.nis));
        }
      }
      if (focus.length) { view = boxOf(focus); apply(); }
      showPin();
      box.dataset.loaded = "true";
    }).catch(() => { box.dataset.failed = "true"; });
  }

  for (const details of document.querySelectorAll("details.pin")) {
    let done = false;
    const start = () => { if (!done && details.open) { done = true; attach(details); } };
    details.addEventListener("toggle", start);
    start();
  }
})();
