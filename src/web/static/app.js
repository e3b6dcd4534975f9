// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // On the registration form, show the shop-name field only when "shop" is chosen.
  var form = document.querySelector("form[data-register]");
  if (!form) return;
  var shopField = form.querySelector("[data-merchant-only]");
  var radios = form.querySelectorAll("input[name=role]");
  function sync() {
    var merchant = form.querySelector("input[name=role][value=merchant]");
    var show = merchant && merchant.checked;
    shopField.hidden = !show;
    var input = shopField.querySelector("input");
    if (input) input.required = !!show;
  }
  radios.forEach(function (r) { r.addEventListener("change", sync); });
  sync();
})();
