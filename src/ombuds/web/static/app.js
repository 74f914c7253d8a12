// Small enhancements; every page works without this file.
// With the wall clock, countdowns tick down each minute. The demo's manual clock stands
// still until advanced, so there they are left as the server wrote them.
(function () {
  if (document.body.dataset.clock !== "wall") return;
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Date.parse(el.getAttribute("datetime")) - Date.now());
      var days = Math.floor(left / 86400000), hours = Math.floor(left / 3600000) % 24,
          minutes = Math.floor(left / 60000) % 60;
      if (days < 3) el.textContent = (days ? days + "d " : "") + hours + "h " + minutes + "m";
    });
  }
  setInterval(tick, 60000);
})();

// After htmx redraws a part of a form, keyboard focus stays where it was: htmx keeps it on
// an element with the same id; when that element is gone (the "partial refund instead"
// button replaced itself), focus moves to the amount it changed rather than to the page.
document.addEventListener("htmx:afterSettle", function (event) {
  var part = event.detail.elt;
  if (!part || !part.id || (document.activeElement && document.activeElement !== document.body)) return;
  var next = document.getElementById(part.id === "claim" ? "amount" : part.id);
  if (next && next.focus) next.focus();
});

// R10 on the dispute form: each chosen file is sent at once, on its own, and waits on the
// server for the dispute (so a large video is sent once, whatever happens to the form next);
// the list of waiting files comes back in its place. Without this, the files travel with the
// form and wait on the server from its first round on.
document.addEventListener("change", async function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-stage]") || !window.fetch || !window.FormData) return;
  var files = Array.prototype.slice.call(input.files || []);
  if (!files.length) return;
  var token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
  var refused = [];
  // Nothing is sent while a file is on its way: the dispute must not open without it.
  var sending = input.form ? input.form.querySelectorAll("button[type=submit]:not([disabled])") : [];
  sending.forEach(function (b) { b.disabled = true; });
  input.disabled = true;
  for (var i = 0; i < files.length; i++) {
    var list = document.getElementById(input.dataset.list);
    var body = new FormData();
    body.append("file", files[i]);
    var reason = document.getElementById("reason");
    if (reason) body.append("reason", reason.value);
    list.querySelectorAll("select[name^='shows_']").forEach(function (s) { body.append(s.name, s.value); });
    try {
      var answer = await fetch(input.dataset.stage, {method: "POST", body: body, credentials: "same-origin",
                                                     headers: {"X-CSRF-Token": token}});
      if (!answer.ok && answer.status !== 422) throw new Error(String(answer.status));
      list.outerHTML = await answer.text();
      document.getElementById(input.dataset.list).querySelectorAll("[data-refused]").forEach(function (p) {
        refused.push(p.textContent);
      });
    } catch (e) {
      refused.push(input.dataset.failed.replace("{name}", files[i].name));
    }
  }
  var last = document.getElementById(input.dataset.list);
  last.querySelectorAll("[data-refused]").forEach(function (p) { p.remove(); });
  refused.forEach(function (text) {
    var p = document.createElement("p");
    p.className = "field-error"; p.setAttribute("role", "alert"); p.setAttribute("data-refused", "");
    p.textContent = text;
    last.insertBefore(p, last.firstChild);
  });
  input.value = "";
  input.disabled = false;
  sending.forEach(function (b) { b.disabled = false; });
  input.focus();
});
