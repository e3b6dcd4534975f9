// The operations dashboard's updates (src/analytics/operations_pages.rs): every 30 seconds
// it fetches the page again and swaps in the fresh figures, unless paused or while the
// keyboard focus is inside them (so nobody loses their place). Without script the page
// shows the figures it was drawn with.
(function () {
  "use strict";
  var root = document.getElementById("ops-figures");
  var status = document.getElementById("ops-status");
  var button = document.getElementById("ops-pause");
  if (!root || !status || !button || !window.fetch || !window.DOMParser) { return; }
  var every = (parseInt(root.getAttribute("data-refresh"), 10) || 30) * 1000;
  var paused = false;
  var timer = null;

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, every);
  }

  function update() {
    if (paused) { return; }
    var focused = document.activeElement;
    if (focused && focused !== document.body && root.contains(focused)) {
      schedule();
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (!res.ok) { throw new Error("HTTP " + res.status); }
        return res.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("ops-figures");
        if (fresh && !paused) {
          root.innerHTML = fresh.innerHTML;
          status.textContent = status.getAttribute("data-updated") + " " + new Date().toLocaleTimeString();
        }
      })
      .catch(function () {
        status.textContent = status.getAttribute("data-failed");
      })
      .then(function () {
        if (!paused) { schedule(); }
      });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    paused = !paused;
    button.textContent = button.getAttribute(paused ? "data-resume" : "data-pause");
    status.textContent = paused ? status.getAttribute("data-paused") : "";
    if (paused) { window.clearTimeout(timer); } else { update(); }
  });
  schedule();
})();
