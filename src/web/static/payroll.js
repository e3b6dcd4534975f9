// The payroll run page's progress while the run computes; the page works without this
// file (it refreshes itself every few seconds and has a link to do so). With it: the run
// is polled through the JSON API, the progress bar moves, and the page reloads once the
// run has left `computing`.
(function () {
  "use strict";
  var section = document.getElementById("run-progress");
  if (!section) return;
  var id = section.getAttribute("data-run");
  var csrf = section.getAttribute("data-csrf");
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var poll = function () {
    fetch("/api/admin/payroll/runs/" + encodeURIComponent(id), {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (res) {
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    }).then(function (run) {
      if (run.status !== "computing") {
        window.location.reload();
        return;
      }
      bar.max = Math.max(run.progress_total, 1);
      bar.value = run.progress_done;
      bar.textContent = run.progress_done + " / " + run.progress_total;
      text.textContent = run.progress_done + " / " + run.progress_total;
      setTimeout(poll, 1000);
    }).catch(function () {
      // A hiccup: try again a little later.
      setTimeout(poll, 3000);
    });
  };
  setTimeout(poll, 500);
})();
