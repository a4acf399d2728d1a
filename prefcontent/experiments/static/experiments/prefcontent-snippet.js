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
 *
 * The arm a visitor saw is kept in localStorage (`prefcontent_arms`), so
 * `PrefContent.conversion(42)` on a later page (a checkout that never shows experiment 42)
 * reports the conversion on that arm. Elements added after load (single-page apps) are found
 * by a MutationObserver. Experiment elements stay hidden until their assignment lands or
 * `data-timeout` ms pass (default 1000; then the fallback shows and nothing is measured), so
 * visitors never see the fallback flip to the variant.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.PrefContent) { return; }
  var apiKey = script.getAttribute("data-api-key") || "";
  var base = (script.getAttribute("data-endpoint") || new URL(script.src).origin).replace(/\/+$/, "");
  var MAX_TRIES = 6, BASE_DELAY_MS = 500, MAX_DELAY_MS = 30000, BATCH = 100, FLUSH_MS = 1000;
  var TIMEOUT_MS = parseInt(script.getAttribute("data-timeout") || "1000", 10);
  var SELECTOR = "[data-prefcontent-experiment]", READY = "data-prefcontent-ready";
  var ARMS_KEY = "prefcontent_arms", ARM_TTL_MS = 90 * 24 * 3600 * 1000;
  var queue = [], flushTimer = null, sending = false;

  // Anti-flicker: an experiment element is hidden until its assignment lands or the timeout passes.
  var style = document.createElement("style");
  style.textContent = SELECTOR + ":not([" + READY + "]){visibility:hidden}";
  (document.head || document.documentElement).appendChild(style);

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

  // experiment id -> {arm, at}: the arms this visitor saw (running experiments), across pages.
  function storedArms() {
    try { return JSON.parse(localStorage.getItem(ARMS_KEY) || "{}") || {}; } catch (e) { return memoryArms; }
  }
  var memoryArms = {};
  function remember(experiment, arm) {
    var arms = storedArms(), now = Date.now();
    arms[experiment] = { arm: arm, at: now };
    for (var id in arms) { if (now - arms[id].at > ARM_TTL_MS) { delete arms[id]; } }
    memoryArms = arms;
    try { localStorage.setItem(ARMS_KEY, JSON.stringify(arms)); } catch (e) { /* storage blocked: this page only */ }
  }
  function armSeen(experiment) {
    var entry = storedArms()[experiment] || memoryArms[experiment];
    return entry ? entry.arm : null;
  }

  var pending = {};  // experiment id -> promise of its assignment on this page

  function render(el) {
    if (el.hasAttribute("data-prefcontent-seen")) { return; }
    el.setAttribute("data-prefcontent-seen", "");
    var experiment = parseInt(el.getAttribute("data-prefcontent-experiment"), 10);
    if (!experiment) { el.setAttribute(READY, ""); return; }
    var timedOut = false;
    var timer = setTimeout(function () { timedOut = true; el.setAttribute(READY, "timeout"); }, TIMEOUT_MS);
    var path = "/api/v1/experiments/" + experiment + "/assign?unit_id=" + encodeURIComponent(unitId());
    pending[experiment] = request("GET", path).then(function (a) {
      clearTimeout(timer);
      if (timedOut) { return; }  // the visitor already sees the fallback: no swap, nothing measured
      el.textContent = a.text;  // text only: copy never becomes markup
      el.setAttribute("data-prefcontent-arm", a.arm);
      el.setAttribute(READY, "");
      if (a.status !== "running") { return; }  // fallback arm: nothing to measure
      remember(experiment, a.arm);
      track(experiment, a.arm, "impression");
      el.addEventListener("click", function () { track(experiment, a.arm, "click"); flush(); }, { once: true });
    }, function (err) {
      clearTimeout(timer);
      el.setAttribute(READY, "error");
      if (window.console) { console.warn("PrefContent: kept the fallback text", err); }
    });
  }

  function scan(root) {
    if (root.nodeType !== 1) { return; }
    if (root.matches && root.matches(SELECTOR)) { render(root); }
    var nodes = root.querySelectorAll ? root.querySelectorAll(SELECTOR) : [];
    for (var i = 0; i < nodes.length; i++) { render(nodes[i]); }
  }

  function start() {
    scan(document.documentElement);
    if (window.MutationObserver) {  // single-page apps add experiment elements after load
      new MutationObserver(function (records) {
        for (var i = 0; i < records.length; i++) {
          for (var j = 0; j < records[i].addedNodes.length; j++) { scan(records[i].addedNodes[j]); }
        }
      }).observe(document.documentElement, { childList: true, subtree: true });
    }
  }

  function convert(experiment) {
    var arm = armSeen(experiment);
    if (arm) { track(experiment, arm, "conversion"); flush(); }
    return !!arm;
  }

  window.PrefContent = {
    // For goals the page knows about, e.g. PrefContent.conversion(42) after a purchase, on this page
    // or a later one: the arm the visitor saw is remembered. Resolves true when a conversion was sent.
    conversion: function (experiment) {
      var here = pending[experiment];
      return here ? here.then(function () { return convert(experiment); }, function () { return false; })
                  : Promise.resolve(convert(experiment));
    },
    flush: flush,
    unitId: unitId
  };
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { flush(); } });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
