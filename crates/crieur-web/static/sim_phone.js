// The device simulator's phone: calls the hotline over SIP through the server,
// sends keys, plays what the phone hears and shows where the call stands.
// No cookie is sent: these calls carry no one's authority.
(function () {
  "use strict";
  const root = document.getElementById("sim-phone");
  if (!root) return;
  const call = document.getElementById("sim-phone-call");
  const hangUp = document.getElementById("sim-phone-hang-up");
  const keys = root.querySelectorAll("button[data-key]");
  const status = document.getElementById("sim-phone-status");
  const audio = document.getElementById("sim-phone-audio");
  let id = null;
  let timer = null;
  const api = function (path, method, body) {
    return fetch("/api/simulator/hotline-calls" + path, {
      method: method || "GET",
      credentials: "omit",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    });
  };
  const say = function (text) { if (status.textContent !== text) status.textContent = text; };
  const setUp = function (up) {
    call.disabled = up;
    hangUp.disabled = !up;
    keys.forEach(function (k) { k.disabled = !up; });
  };
  const poll = function () {
    if (id === null) return;
    api("/" + id).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (!s) return;
      if (s.state === "queued") {
        say(root.dataset.queued + " " + s.position + " (" + s.line + ", " + s.language + ")");
      } else if (s.state === "connected") {
        say(root.dataset.connected);
      } else if (s.state === "ended") {
        say(root.dataset.ended);
        finish();
      } else {
        say(root.dataset.ivr);
      }
    });
  };
  const finish = function () {
    id = null;
    clearInterval(timer);
    audio.pause();
    audio.removeAttribute("src");
    setUp(false);
  };
  call.addEventListener("click", function () {
    call.disabled = true;
    api("", "POST").then(function (r) {
      if (r.ok) return r.json();
      return r.json().catch(function () { return {}; }).then(function (p) {
        throw new Error(p.error === "no_hotline" ? root.dataset.noHotline : root.dataset.failed);
      });
    }).then(function (d) {
      id = d.id;
      setUp(true);
      say(root.dataset.ivr);
      audio.src = "/simulator/hotline-calls/" + id + "/audio";
      audio.play().catch(function () {});
      timer = setInterval(poll, 1000);
    }).catch(function (e) {
      call.disabled = false;
      say(e.message);
    });
  });
  keys.forEach(function (k) {
    k.addEventListener("click", function () {
      if (id !== null) api("/" + id + "/keys", "POST", { key: k.dataset.key });
    });
  });
  hangUp.addEventListener("click", function () {
    if (id !== null) api("/" + id, "DELETE").then(finish, finish);
  });
})();
