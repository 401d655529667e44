// The review page: a GDPR erasure request always erases the uploaded documents, so ticking
// "GDPR" ticks the documents' box and locks it; unticking gives back the requester's choice.
// Without script the server applies the same rule.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var gdpr = document.getElementById("id_is_gdpr");
    var files = document.getElementById("id_erase_files");
    if (!gdpr || !files) return;
    var chosen = files.checked;
    function sync() {
      if (gdpr.checked) {
        if (!files.disabled) chosen = files.checked;
        files.checked = true;
        files.disabled = true;
      } else {
        files.disabled = false;
        files.checked = chosen;
      }
    }
    gdpr.addEventListener("change", sync);
    sync();
  });
})();
