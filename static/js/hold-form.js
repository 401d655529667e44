// The legal-hold form shows only the part the chosen scope needs (all parts without script).
(function () {
  "use strict";

  function sync(form) {
    var checked = form.querySelector("input[name=scope]:checked");
    var scope = checked ? checked.value : "";
    form.querySelectorAll("[data-scope]").forEach(function (part) {
      part.hidden = scope !== "" && part.getAttribute("data-scope") !== scope;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-hold-form]");
    if (!form) return;
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "scope") sync(form);
    });
    sync(form);
  });
})();
