/*
 * PrefContent CMS snippet: shows each visitor their arm of an A/B experiment and reports
 * impressions and clicks. Load it once per page:
 *
 *   <h1 data-prefcontent-experiment="42">Fallback headline</h1>
 *   <script src="https://APP/api/v1/snippet.js" data-api-key="pck_..." async></script>
 *
 * The key must carry only the `assign` and `events:write` scopes: it is visible in the page.
 * Every event carries a fresh event id; a failed send is retried with the SAME ids, with
 * exponential backoff, so the server counts it once whatever happens to the network.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.PrefContent) { return; }
  var apiKey = script.getAttribute("data-api-key") || "";
  var base = (script.getAttribute("data-endpoint") || new URL(script.src).origin).replace(/\/+$/, "");
  var MAX_TRIES = 6, BASE_DELAY_MS = 500, MAX_DELAY_MS = 30000, BATCH = 100, FLUSH_MS = 1000;
  var queue = [], flushTimer = null, sending = false;

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function unitId() {
    var name = "prefcontent_uid";
    try {
      var stored = localStorage.getItem(name);
      if (stored) { return stored; }
      var fresh = uuid();
      localStorage.setItem(name, fresh);
      return fresh;
    } catch (e) {  // storage blocked: stable for this page view only
      return window.__prefcontentUid || (window.__prefcontentUid = uuid());
    }
  }

  function backoff(attempt, retryAfterS) {
    if (retryAfterS) { return retryAfterS * 1000; }
    var delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * Math.pow(2, attempt));
    return delay / 2 + Math.random() * delay / 2;  // jitter: clients that failed together retry apart
  }

  function retryable(status) { return status === 0 || status === 429 || status >= 500; }

  // fetch with retries; resolves with the parsed JSON or rejects after the last try.
  function request(method, path, body, attempt) {
    attempt = attempt || 0;
    var init = { method: method, headers: { "X-API-Key": apiKey }, keepalive: method === "POST", mode: "cors" };
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(base + path, init).then(function (res) {
      if (res.ok) { return res.json(); }
      if (!retryable(res.status) || attempt + 1 >= MAX_TRIES) {
        return res.json().catch(function () { return {}; }).then(function (err) { throw { status: res.status, body: err }; });
      }
      var after = parseInt(res.headers.get("Retry-After") || "0", 10);
      return wait(backoff(attempt, after)).then(function () { return request(method, path, body, attempt + 1); });
    }, function (networkError) {
      if (attempt + 1 >= MAX_TRIES) { throw { status: 0, body: networkError }; }
      return wait(backoff(attempt)).then(function () { return request(method, path, body, attempt + 1); });
    });
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function track(experiment, arm, type) {
    queue.push({ event_id: uuid(), experiment: experiment, arm: arm, type: type, unit_id: unitId(),
                 timestamp: new Date().toISOString() });
    if (queue.length >= BATCH) { flush(); } else if (!flushTimer) { flushTimer = setTimeout(flush, FLUSH_MS); }
  }

  function flush() {
    clearTimeout(flushTimer); flushTimer = null;
    if (sending || !queue.length) { return; }
    var batch = queue.splice(0, BATCH);
    sending = true;
    request("POST", "/api/v1/events", { events: batch }).catch(function (err) {
      if (window.console) { console.warn("PrefContent: events not recorded", err); }
    }).then(function () {
      sending = false;
      if (queue.length) { flush(); }
    });
  }

  var assigned = {};  // experiment id -> arm id, for conversions reported by the page

  function render(el) {
    var experiment = parseInt(el.getAttribute("data-prefcontent-experiment"), 10);
    if (!experiment) { return; }
    var path = "/api/v1/experiments/" + experiment + "/assign?unit_id=" + encodeURIComponent(unitId());
    request("GET", path).then(function (a) {
      el.textContent = a.text;  // text only: copy never becomes markup
      el.setAttribute("data-prefcontent-arm", a.arm);
      assigned[experiment] = a.arm;
      if (a.status !== "running") { return; }  // fallback arm: nothing to measure
      track(experiment, a.arm, "impression");
      el.addEventListener("click", function () { track(experiment, a.arm, "click"); flush(); }, { once: true });
    }, function (err) {
      if (window.console) { console.warn("PrefContent: kept the fallback text", err); }
    });
  }

  function start() {
    var nodes = document.querySelectorAll("[data-prefcontent-experiment]");
    for (var i = 0; i < nodes.length; i++) { render(nodes[i]); }
  }

  window.PrefContent = {
    // For goals the page knows about, e.g. PrefContent.conversion(42) after a purchase.
    conversion: function (experiment) {
      if (assigned[experiment]) { track(experiment, assigned[experiment], "conversion"); flush(); }
    },
    flush: flush,
    unitId: unitId
  };
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { flush(); } });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
