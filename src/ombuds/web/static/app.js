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
