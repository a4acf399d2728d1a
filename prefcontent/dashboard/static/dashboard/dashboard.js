// PrefContent dashboard: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";

  // The brand switcher submits itself when a brand is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Destructive forms ask first. (Promotion and rollback also have a server-side confirmation page.)
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);

  // Live fragments: <div data-poll="/url" data-poll-interval="2000"> is refreshed from the server's
  // HTML fragment until the server answers with the header X-Poll-Done: 1 (e.g. a finished run).
  function poll(element) {
    var url = element.getAttribute("data-poll");
    var interval = parseInt(element.getAttribute("data-poll-interval") || "2000", 10);
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("poll " + response.status); }
          var done = response.headers.get("X-Poll-Done") === "1";
          return response.text().then(function (html) {
            element.innerHTML = html;
            element.dispatchEvent(new CustomEvent("poll:updated", { bubbles: true }));
            if (!done) { window.setTimeout(tick, interval); }
          });
        })
        .catch(function () { window.setTimeout(tick, interval * 3); });
    }
    window.setTimeout(tick, interval);
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
})();
