// The shop dashboard's live figures (src/analytics/merchant_pages.rs): listens to the
// page's server-sent events and rewrites each [data-field] in place. Without script the
// page keeps the snapshot it was rendered with.
(function () {
  "use strict";
  var section = document.getElementById("live");
  if (!section || !window.EventSource) { return; }
  var status = section.querySelector("[data-live-status]");
  var secondsPattern = section.getAttribute("data-seconds") || "%{n} s";
  var dash = "\u2013";

  function pick(snapshot, path) {
    return path.split(".").reduce(function (v, k) {
      return v === null || v === undefined ? v : v[k];
    }, snapshot);
  }

  // The same formats as the server (src/analytics/merchant_reports.rs).
  function format(kind, v) {
    if (v === null || v === undefined) { return dash; }
    if (kind === "percent") { return Math.floor(v / 100) + "%"; }
    if (kind === "seconds") { return secondsPattern.replace("%{n}", String(v)); }
    if (kind === "rating") {
      var cents = v % 100;
      return Math.floor(v / 100) + "." + (cents < 10 ? "0" : "") + cents;
    }
    return String(v);
  }

  var source = new EventSource(section.getAttribute("data-stream"));
  source.addEventListener("snapshot", function (event) {
    var snapshot;
    try { snapshot = JSON.parse(event.data); } catch (e) { return; }
    var cells = section.querySelectorAll("[data-field]");
    for (var i = 0; i < cells.length; i++) {
      var cell = cells[i];
      var text = format(cell.getAttribute("data-format"), pick(snapshot, cell.getAttribute("data-field")));
      if (cell.textContent !== text) { cell.textContent = text; }
    }
    var at = new Date(snapshot.at);
    status.textContent = (section.getAttribute("data-updated") || "") + " " + at.toLocaleTimeString();
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      status.textContent = section.getAttribute("data-paused") || "";
    }
  });
})();
