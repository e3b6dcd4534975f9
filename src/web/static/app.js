// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Payslips: a Print button where printing can be started from the page.
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });

  // Registration: show the shop-name field only when "shop" is chosen.
  var form = document.querySelector("form[data-register]");
  if (form) {
    var shopField = form.querySelector("[data-merchant-only]");
    var radios = form.querySelectorAll("input[name=role]");
    var sync = function () {
      var merchant = form.querySelector("input[name=role][value=merchant]");
      var show = merchant && merchant.checked;
      shopField.hidden = !show;
      var input = shopField.querySelector("input");
      if (input) input.required = !!show;
    };
    radios.forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }

  // Booking: a live price breakdown from POST /api/quotes as the form changes.
  var booking = document.querySelector("form[data-quote]");
  if (booking) {
    var out = document.getElementById("quote");
    var zh = out.getAttribute("data-lang") === "zh-CN";
    var timer = null;
    var yuan = function (fen) {
      var sign = fen < 0 ? "-" : "";
      fen = Math.abs(fen);
      var whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      var cents = ("0" + (fen % 100)).slice(-2);
      return sign + "¥" + whole + "." + cents;
    };
    var text = function (el, s) { el.textContent = s; return el; };
    var render = function (quote) {
      var table = document.createElement("table");
      var body = document.createElement("tbody");
      quote.lines.forEach(function (line) {
        var tr = document.createElement("tr");
        tr.appendChild(text(document.createElement("th"), zh ? line.label_zh : line.label_en)).setAttribute("scope", "row");
        tr.appendChild(text(document.createElement("td"), yuan(line.amount_fen)));
        body.appendChild(tr);
      });
      var foot = document.createElement("tfoot");
      var tr = document.createElement("tr");
      tr.appendChild(text(document.createElement("th"), out.getAttribute("data-total"))).setAttribute("scope", "row");
      var total = text(document.createElement("td"), yuan(quote.total_fen));
      total.setAttribute("data-total-fen", quote.total_fen);
      tr.appendChild(total);
      foot.appendChild(tr);
      table.appendChild(body);
      table.appendChild(foot);
      out.replaceChildren(table);
    };
    var update = function () {
      var value = function (name) { return booking.elements[name].value; };
      var payload = {
        skill: value("skill"),
        start_date: value("start_date"),
        end_date: value("end_date"),
        daily_start_hour: parseInt(value("daily_start_hour"), 10),
        daily_end_hour: parseInt(value("daily_end_hour"), 10),
        seats: parseInt(value("seats"), 10)
      };
      if (isNaN(payload.seats)) { out.textContent = out.getAttribute("data-empty"); return; }
      fetch("/api/quotes", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(payload)
      }).then(function (res) {
        return res.json().then(function (body) { return { ok: res.ok, body: body }; });
      }).then(function (r) {
        if (r.ok) { render(r.body); return; }
        var first = r.body.errors && r.body.errors[0];
        out.textContent = first ? first.message : (r.body.detail || r.body.title);
      }).catch(function () { out.textContent = out.getAttribute("data-empty"); });
    };
    booking.addEventListener("input", function (event) {
      if (event.target.closest("[data-estimate]")) return;
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
    update();

    // The inline staffing estimate: "... you need N seats", with a button to use N.
    var est = booking.querySelector("[data-estimate]");
    if (est) {
      var result = document.getElementById("estimate-result");
      var use = est.querySelector("[data-use-estimate]");
      var estTimer = null;
      var fill = function (template, values) {
        return template.replace(/%\{(\w+)\}/g, function (_, k) { return values[k]; });
      };
      var estimate = function () {
        var num = function (id) { return parseFloat(document.getElementById(id).value); };
        var v = { contacts: num("est_contacts"), minutes: num("est_minutes"), percent: num("est_percent"), seconds: num("est_seconds") };
        if ([v.contacts, v.minutes, v.percent, v.seconds].some(isNaN)) { result.textContent = ""; use.hidden = true; return; }
        fetch("/api/estimates/staffing", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify({ contacts_per_hour: v.contacts, aht_seconds: v.minutes * 60, target_percent: v.percent, target_seconds: v.seconds })
        }).then(function (res) {
          return res.json().then(function (body) { return { ok: res.ok, body: body }; });
        }).then(function (r) {
          if (!r.ok) {
            var first = r.body.errors && r.body.errors[0];
            result.textContent = first ? first.message : r.body.title;
            use.hidden = true;
            return;
          }
          v.seats = r.body.seats_needed;
          result.textContent = fill(est.getAttribute("data-sentence"), v);
          use.textContent = fill(est.getAttribute("data-use"), v);
          use.setAttribute("data-seats", v.seats);
          use.hidden = false;
        });
      };
      est.addEventListener("input", function () { clearTimeout(estTimer); estTimer = setTimeout(estimate, 250); });
      est.addEventListener("toggle", estimate);
      use.addEventListener("click", function () {
        booking.elements.seats.value = use.getAttribute("data-seats");
        booking.elements.seats.focus();
        update();
      });
    }
  }
})();
