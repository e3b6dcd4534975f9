// The exam pages' enhancements; the pages work without this file (the forms post, the
// deadline is written out). With it: a countdown to the server's deadline with a polite
// announcement at 5 and 1 minutes left (not every second), autosave through the JSON API
// with a visible and announced state, and submission when the time runs out.
(function () {
  "use strict";

  var fill = function (template, values) {
    return template.replace(/%\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  };
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  // Sets a live region's text only when it changes, so nothing is announced twice.
  var say = function (el, text) { if (el && el.textContent !== text) el.textContent = text; };

  var form = document.querySelector("form[data-exam-form]");
  var submitForm = document.querySelector("form[data-exam-submit]");
  var autosave = null;

  if (form) {
    var id = form.getAttribute("data-attempt");
    var box = form.querySelector(".save-state");
    var timeEl = document.getElementById("save-time");
    var statusEl = document.getElementById("save-status");
    var errorEl = document.getElementById("save-error");
    var csrf = form.elements.csrf_token.value;
    var pending = null;
    var inFlight = false;
    var again = false;

    // The same shape the server reads from the form: unanswered questions are left out.
    var answers = function () {
      var list = [];
      form.querySelectorAll("fieldset[data-question]").forEach(function (fs) {
        var number = parseInt(fs.getAttribute("data-question"), 10);
        if (fs.getAttribute("data-kind") === "scenario") {
          var text = fs.querySelector("textarea").value;
          if (text.trim() !== "") list.push({ number: number, choices: [], text: text });
          return;
        }
        var choices = [];
        fs.querySelectorAll("input:checked").forEach(function (i) { choices.push(parseInt(i.value, 10)); });
        if (choices.length) list.push({ number: number, choices: choices });
      });
      return list;
    };

    var post = function (retried) {
      return fetch("/api/attempts/" + encodeURIComponent(id) + "/answers", {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ answers: answers() })
      }).then(function (res) {
        if (res.status === 401 && !retried) {
          // The access cookie lives shorter than an exam: renew the session, try again once.
          return fetch("/session/refresh?next=/healthz", { credentials: "same-origin" })
            .then(function () { return post(true); });
        }
        return res;
      });
    };

    var saveNow = function () {
      clearTimeout(pending);
      pending = null;
      if (inFlight) { again = true; return Promise.resolve(); }
      inFlight = true;
      again = false;
      timeEl.textContent = box.getAttribute("data-saving");
      return post(false).then(function (res) {
        if (res.ok) {
          var now = new Date();
          var time = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
          timeEl.textContent = fill(box.getAttribute("data-saved-at"), { time: time });
          say(errorEl, "");
          say(statusEl, box.getAttribute("data-saved"));
          box.classList.remove("failed");
          return;
        }
        if (res.status === 409) {
          // Time is up or the attempt was submitted elsewhere: the page says what next.
          window.location.reload();
          return;
        }
        throw new Error("save failed: " + res.status);
      }).catch(function () {
        timeEl.textContent = "";
        say(statusEl, "");
        say(errorEl, box.getAttribute("data-failed"));
        box.classList.add("failed");
      }).then(function () {
        inFlight = false;
        if (again) schedule();
      });
    };

    var schedule = function () {
      clearTimeout(pending);
      pending = setTimeout(saveNow, 800);
    };
    autosave = { flush: function () { return pending || again ? saveNow() : Promise.resolve(); }, cancel: function () { clearTimeout(pending); pending = null; } };

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", function () { autosave.cancel(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && pending) saveNow();
    });
  }

  var timerBox = document.querySelector("[data-exam-timer]");
  if (timerBox) {
    var deadline = Date.parse(timerBox.getAttribute("data-deadline"));
    // The server's clock decides; this page only counts down from what it said.
    var skew = Date.parse(timerBox.getAttribute("data-now")) - Date.now();
    var display = document.getElementById("exam-timer");
    var announce = document.getElementById("exam-announce");
    var remaining = function () { return deadline - (Date.now() + skew); };
    var format = function (secs) {
      var h = Math.floor(secs / 3600);
      var m = Math.floor((secs % 3600) / 60);
      var s = secs % 60;
      return (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(s);
    };
    var left0 = remaining();
    // Thresholds already behind when the page opened are not announced.
    var said5 = left0 <= 5 * 60 * 1000;
    var said1 = left0 <= 60 * 1000;
    var flushed = left0 <= 5000;
    var done = false;
    var interval = null;

    var timeUp = function () {
      say(announce, timerBox.getAttribute("data-up"));
      if (form) {
        if (autosave) autosave.cancel();
        // The form carries every answer; the server grades what it holds if time is gone.
        form.setAttribute("action", form.getAttribute("data-submit-action"));
        form.submit();
      } else if (submitForm) {
        submitForm.submit();
      }
    };

    var tick = function () {
      var left = remaining();
      var secs = Math.max(0, Math.ceil(left / 1000));
      display.textContent = fill(timerBox.getAttribute("data-left"), { time: format(secs) });
      if (!said5 && left <= 5 * 60 * 1000) { said5 = true; say(announce, timerBox.getAttribute("data-five")); }
      if (!said1 && left <= 60 * 1000) { said1 = true; say(announce, timerBox.getAttribute("data-one")); }
      if (!flushed && left <= 5000) { flushed = true; if (autosave) autosave.flush(); }
      if (left <= 0 && !done) {
        done = true;
        clearInterval(interval);
        timeUp();
      }
    };
    document.getElementById("exam-deadline").hidden = false;
    tick();
    if (!done) interval = setInterval(tick, 1000);
  }
})();
