// The list upload on the relatives page: sends the chosen file as the request
// body (a list can be larger than a form post may be), with the CSRF token in a
// header. The server checks the whole file and refuses it whole.
(() => {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const d = form.dataset;
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = form.file.files[0];
    if (!file) return;
    const q = new URLSearchParams({
      kind: form.kind.value,
      source: form.source.value,
      drawn_up: form.drawn_up.value,
      format: file.name,
    });
    status.textContent = "";
    status.classList.remove("error");
    form.querySelector("button").disabled = true;
    let r = null;
    try {
      r = await fetch(`/api/incidents/${d.incident}/relatives/lists?${q}`, {
        method: "POST",
        headers: { "x-csrf-token": d.csrf, "content-type": "application/octet-stream" },
        body: file,
        credentials: "same-origin",
      });
    } catch (_) { r = null; }
    form.querySelector("button").disabled = false;
    let json = null;
    try { json = r && await r.json(); } catch (_) { json = null; }
    if (!r || !r.ok) {
      status.classList.add("error");
      status.textContent = (json && json.message) || d.failed;
      return;
    }
    status.textContent = d.done.replace("{entries}", json.added);
    window.location.assign(`${window.location.pathname}?done=list#lists-title`);
  });
})();
