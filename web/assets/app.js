// oktasync pages: small progressive behaviour. Every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons: data-copy names the id of the element whose text is copied.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) return;
      var text = el.value !== undefined && el.tagName === "INPUT" ? el.value : el.textContent.trim();
      var done = function () {
        var label = btn.textContent;
        btn.textContent = "Copied";
        setTimeout(function () { btn.textContent = label; }, 1500);
      };
      var fallback = function () {
        var range = document.createRange();
        range.selectNodeContents(el);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        btn.textContent = "Press Ctrl+C";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  // Confirmations: a form with data-confirm asks in a dialog, then submits with
  // confirm=yes. Without JavaScript the server asks on a page of its own.
  var dialog = document.getElementById("confirm-dialog");
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.confirmed === "yes" || !dialog || !dialog.showModal) return;
      ev.preventDefault();
      document.getElementById("confirm-text").textContent = form.getAttribute("data-confirm");
      dialog.returnValue = "";
      dialog.onclose = function () {
        if (dialog.returnValue !== "ok") return;
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "confirm";
        input.value = "yes";
        form.appendChild(input);
        form.dataset.confirmed = "yes";
        form.submit();
      };
      dialog.showModal();
    });
  });

  // Live sync progress: data-progress-url answers the run as JSON; the page reloads
  // when the run has finished.
  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    var tick = function () {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (run) {
          if (!run) return;
          if (bar && run.total > 0) { bar.max = run.total; bar.value = run.processed; }
          if (text) text.textContent = run.status + " · " + run.processed + (run.total ? " of " + run.total : "") + " users";
          if (run.status === "running") setTimeout(tick, 700);
          else window.location.reload();
        })
        .catch(function () { setTimeout(tick, 2000); });
    };
    tick();
  });
});
