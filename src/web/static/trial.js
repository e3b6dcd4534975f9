// The trial page's enhancements; the page works without this file (every reply form
// posts, the end of the slot is written out). With it: replies go through the JSON API
// and the chat updates in place, the customer's next message is announced politely, and
// the time left in the slot counts down from the server's clock.
(function () {
  "use strict";

  var fill = function (template, values) {
    return template.replace(/%\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  };
  var announce = document.getElementById("trial-announce");
  var say = function (text) {
    if (!announce) return;
    // Cleared first, so the same words twice are still announced.
    announce.textContent = "";
    setTimeout(function () { announce.textContent = text; }, 50);
  };

  var item = function (list, cls, who, text) {
    var li = document.createElement("li");
    li.className = cls;
    var span = document.createElement("span");
    span.className = "who";
    span.textContent = who;
    li.appendChild(span);
    li.appendChild(document.createTextNode(" " + text));
    list.appendChild(li);
  };

  // Redraws one chat's messages from the API's view of it.
  var redraw = function (section, chat) {
    var list = section.querySelector("ol.messages");
    var customer = list.getAttribute("data-customer-label");
    var you = list.getAttribute("data-you-label");
    list.replaceChildren();
    chat.turns.forEach(function (turn) {
      item(list, "from-customer", customer, turn.customer);
      if (turn.reply !== null && turn.reply !== undefined) item(list, "from-agent", you, turn.reply);
    });
  };

  var post = function (id, body, csrf, retried) {
    return fetch("/api/trials/" + encodeURIComponent(id) + "/replies", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      if (res.status === 401 && !retried) {
        // The access cookie lives shorter than a trial: renew the session, try again once.
        return fetch("/session/refresh?next=/healthz", { credentials: "same-origin" })
          .then(function () { return post(id, body, csrf, true); });
      }
      return res;
    });
  };

  document.querySelectorAll("form[data-trial-reply]").forEach(function (form) {
    var section = form.closest("section.chat");
    var index = parseInt(form.elements.chat.value, 10);
    var textarea = form.elements.text;
    var error = form.querySelector(".field-error");
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (typeof fetch !== "function") return;
      event.preventDefault();
      if (busy) return;
      var text = textarea.value;
      if (text.trim() === "") { textarea.focus(); return; }
      busy = true;
      // The CSRF cookie is HttpOnly: the token comes from the form's own field.
      post(form.getAttribute("data-trial"), { chat: index, text: text }, form.elements.csrf_token.value, false)
        .then(function (res) {
          if (res.status === 409 || res.status === 422) {
            // The page says what went wrong (time over, nothing to answer, too long ...).
            busy = false;
            form.submit();
            return;
          }
          if (!res.ok) throw new Error("reply failed: " + res.status);
          return res.json().then(function (view) {
            var chat = view.chats[index];
            redraw(section, chat);
            error.textContent = "";
            textarea.value = "";
            busy = false;
            if (chat.waiting) {
              var last = chat.turns[chat.turns.length - 1];
              say(fill(announce.getAttribute("data-new-message"), { title: chat.title, text: last.customer }));
              textarea.focus();
            } else {
              var done = document.createElement("p");
              done.className = "hint chat-done";
              done.tabIndex = -1;
              done.textContent = section.getAttribute("data-done");
              form.replaceWith(done);
              done.focus();
            }
          });
        })
        .catch(function () {
          busy = false;
          error.textContent = announce.getAttribute("data-failed");
        });
    });
  });

  var timerBox = document.querySelector("[data-trial-timer]");
  if (timerBox) {
    var ends = Date.parse(timerBox.getAttribute("data-ends"));
    // The server's clock decides; this page only counts down from what it said.
    var skew = Date.parse(timerBox.getAttribute("data-now")) - Date.now();
    var display = document.getElementById("trial-timer");
    var interval = null;
    var tick = function () {
      var left = ends - (Date.now() + skew);
      var minutes = Math.max(0, Math.ceil(left / 60000));
      var hm = fill(timerBox.getAttribute("data-hm"), { h: Math.floor(minutes / 60), m: minutes % 60 });
      var text = fill(timerBox.getAttribute("data-left"), { left: hm });
      if (display.textContent !== text) display.textContent = text;
      if (left <= 0) {
        clearInterval(interval);
        // The slot is over: the page shows that the trial goes to a reviewer.
        window.location.reload();
      }
    };
    interval = setInterval(tick, 15000);
  }
})();
