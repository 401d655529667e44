// Selecting parse runs on the runs page ("select this page", "select everything matching"),
// and the print button of the receipt. No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  function setUpSelection(form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-run-checkbox]"));
    var pageBox = form.querySelector("[data-select-page]");
    var matchAll = form.querySelector("[data-match-all]");
    var counter = form.querySelector("[data-selection-count]");

    function update() {
      var checked = boxes.filter(function (b) { return b.checked; }).length;
      if (pageBox) {
        pageBox.checked = boxes.length > 0 && checked === boxes.length;
        pageBox.indeterminate = checked > 0 && checked < boxes.length;
        pageBox.disabled = boxes.length === 0 || (matchAll && matchAll.checked);
      }
      boxes.forEach(function (b) { b.disabled = matchAll && matchAll.checked; });
      if (!counter) { return; }
      if (matchAll && matchAll.checked) {
        counter.textContent = "Everything matching the current filter is selected.";
      } else if (checked === 0) {
        counter.textContent = "No runs selected.";
      } else {
        counter.textContent = checked + (checked === 1 ? " run" : " runs") + " selected on this page.";
      }
    }

    if (pageBox) {
      pageBox.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = pageBox.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (matchAll) { matchAll.addEventListener("change", update); }
    update();
  }

  document.querySelectorAll("[data-runs-selection]").forEach(setUpSelection);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
