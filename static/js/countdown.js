// Live countdowns: every element with data-until="<ISO timestamp>" shows the time left until
// then, updated every second ("5 h 12 min", "4 min 09 s"). Elements are looked up on each tick,
// so countdowns swapped in by htmx keep counting. No inline script: CSP forbids it.
(function () {
  "use strict";

  function remaining(seconds) {
    var s = Math.max(Math.floor(seconds), 0);
    var days = Math.floor(s / 86400);
    var hours = Math.floor((s % 86400) / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    var secs = s % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + minutes + " min";
    if (minutes) return minutes + " min " + (secs < 10 ? "0" : "") + secs + " s";
    return secs + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (isNaN(until)) return;
      var left = (until - now) / 1000;
      var text = left > 0 ? remaining(left) : (el.getAttribute("data-done") || "any moment now");
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
