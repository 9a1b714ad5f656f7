// A called-out operator says whether they are coming. The link's token is the
// only authority: no cookie is sent.
(function () {
  "use strict";
  const root = document.getElementById("callout");
  if (!root) return;
  const status = document.getElementById("callout-status");
  root.querySelectorAll("button[data-coming]").forEach(function (button) {
    button.addEventListener("click", function () {
      const coming = button.dataset.coming === "true";
      const eta = parseInt(document.getElementById("eta").value, 10);
      fetch("/api/callouts/" + encodeURIComponent(root.dataset.token), {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ coming: coming, eta_minutes: coming && eta >= 0 ? eta : null })
      }).then(function (r) {
        status.textContent = r.ok ? root.dataset.thanks + " (" + button.textContent + ")" : root.dataset.failed;
      }).catch(function () { status.textContent = root.dataset.failed; });
    });
  });
})();
