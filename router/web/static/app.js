// tierroute agent UI: live queue updates over server-sent events. No inline scripts anywhere (the
// Content-Security-Policy forbids them); this file and htmx are the only scripts the pages load.
(function () {
  "use strict";
  var source = null;

  function renderedDepth(tier) {
    var el = document.querySelector('[data-depth-tier="' + tier + '"]');
    return el ? el.textContent.trim() : null;
  }

  function onTier(event) {
    var data = JSON.parse(event.data);
    var changed = renderedDepth(data.tier) !== String(data.depth) || source.seen[data.tier] !== undefined;
    source.seen[data.tier] = data.depth;
    if (!changed || !window.htmx) {
      return;
    }
    // Tables listen for these (hx-trigger="tierchange... from:body") and refetch themselves.
    window.htmx.trigger(document.body, "tierchange", data);
    window.htmx.trigger(document.body, "tierchange-" + data.tier, data);
  }

  function sync() {
    var marker = document.querySelector("[data-live-url]");
    if (marker && !source) {
      source = new EventSource(marker.getAttribute("data-live-url"));
      source.seen = {};
      source.addEventListener("tier", onTier);
    } else if (!marker && source) {
      source.close();
      source = null;
    }
  }

  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSettle", sync);
})();
