// tierroute agent UI: live updates over server-sent events (one stream per page: tier queues,
// notifications, and on a ticket page its changes and who else has it open). No inline scripts anywhere
// (the Content-Security-Policy forbids them); this file and htmx are the only scripts the pages load.
(function () {
  "use strict";
  var source = null;
  var sourceUrl = null;
  var TYPING_REPORT_MS = 2000;
  var lastTypingReport = 0;

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

  function onNotification(event) {
    var data = JSON.parse(event.data);
    // A reconnecting stream replays what came after the page's newest; the bus may still deliver one twice.
    if (data.id !== undefined && source.notified[data.id]) {
      return;
    }
    source.notified[data.id] = true;
    var count = document.querySelector("[data-unread-count]");
    if (count) {
      count.textContent = String((parseInt(count.textContent, 10) || 0) + 1);
    }
    var region = document.querySelector("[data-live-notices]");
    if (region) {
      var note = document.createElement("p");
      note.className = "flash live-notice";
      var link = document.createElement("a");
      link.href = "/ui/notifications";
      link.textContent = data.text || data.kind.replace(/_/g, " ") + (data.ref ? " on " + data.ref : "");
      note.appendChild(document.createTextNode("New notification: "));
      note.appendChild(link);
      region.appendChild(note);
    }
  }

  // Push assignment: a ticket offered to this agent, with Accept and Decline (plain forms: no script needed
  // to answer, and the CSRF token is the page's own).
  function offerForm(data, action, label, primary) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/ui/tickets/" + data.ticket_id + "/offer/" + action;
    var token = document.querySelector('input[name="csrf_token"]');
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "csrf_token";
    hidden.value = token ? token.value : "";
    form.appendChild(hidden);
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = label;
    if (primary) {
      button.className = "primary";
    }
    button.setAttribute("data-offer-" + action, String(data.ticket_id));
    form.appendChild(button);
    return form;
  }

  function onOffer(event) {
    var data = JSON.parse(event.data);
    var region = document.querySelector("[data-live-notices]");
    if (!region || region.querySelector('[data-offer="' + data.ticket_id + '"]')) {
      return; // no place for it, or shown already (offers are replayed when the stream reconnects)
    }
    var note = document.createElement("div");
    note.className = "flash live-notice offer";
    note.setAttribute("data-offer", String(data.ticket_id));
    note.appendChild(document.createTextNode("Offered to you: " + data.ref + " " + data.subject + " (tier " +
      data.support_tier + ", " + data.priority + "; answer within " + Math.round(data.timeout) + " s) "));
    note.appendChild(offerForm(data, "accept", "Accept", true));
    note.appendChild(offerForm(data, "decline", "Decline", false));
    region.appendChild(note);
    if (window.htmx) {
      window.htmx.process(note);
    }
  }

  function onOfferGone(event) {
    // The ticket moved on while offered (escalated, parked, answered elsewhere): its Accept would only say so.
    var data = JSON.parse(event.data);
    var note = document.querySelector('[data-offer="' + data.ticket_id + '"]');
    if (note) {
      note.remove();
    }
  }

  function pageVersion() {
    var el = document.querySelector("[data-ticket-version]");
    return el ? Number(el.getAttribute("data-ticket-version")) : null;
  }

  function onChanged(event) {
    var data = JSON.parse(event.data);
    var banner = document.querySelector("[data-ticket-changed]");
    var loaded = pageVersion();
    if (!banner || loaded === null || !(Number(data.version) > loaded)) {
      return;
    }
    var text = banner.querySelector("[data-ticket-changed-text]");
    if (text) {
      text.textContent = "This ticket changed since you opened it (" + String(data.action).replace(/_/g, " ") + ").";
    }
    banner.hidden = false;
  }

  function onGone() {
    var banner = document.querySelector("[data-ticket-changed]");
    var text = banner && banner.querySelector("[data-ticket-changed-text]");
    if (text) {
      text.textContent = "This ticket moved to a tier you do not work.";
      banner.hidden = false;
    }
    var presence = document.querySelector("[data-presence]");
    if (presence) {
      presence.textContent = "";
    }
    close();
  }

  function onPresence(event) {
    var el = document.querySelector("[data-presence]");
    if (!el) {
      return;
    }
    var others = JSON.parse(event.data).others || [];
    var typing = others.filter(function (p) { return p.typing; }).map(function (p) { return p.name; });
    var viewing = others.filter(function (p) { return !p.typing; }).map(function (p) { return p.name; });
    var parts = [];
    if (typing.length) {
      parts.push(typing.join(", ") + (typing.length === 1 ? " is" : " are") + " typing a reply");
    }
    if (viewing.length) {
      parts.push(viewing.join(", ") + (viewing.length === 1 ? " is" : " are") + " also viewing this ticket");
    }
    el.textContent = parts.join("; ");
    el.classList.toggle("collision", others.length > 0);
  }

  function onTyping(event) {
    var box = event.target;
    var url = box && box.getAttribute && box.getAttribute("data-typing-url");
    var now = Date.now();
    if (!url || now - lastTypingReport < TYPING_REPORT_MS) {
      return;
    }
    lastTypingReport = now;
    var token = document.querySelector('input[name="csrf_token"]');
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token ? token.value : "" },
    }).catch(function () { /* presence is best effort */ });
  }

  // The article picker's "Insert": its text at the cursor of the reply box (or at its end).
  function onInsert(event) {
    var button = event.target && event.target.closest && event.target.closest("[data-insert-text]");
    if (!button) {
      return;
    }
    var box = document.getElementById(button.getAttribute("data-insert-into"));
    if (!box) {  // the picker on a page of its own: open its reply form holding the text
      window.location.href = button.getAttribute("data-insert-href");
      return;
    }
    var text = button.getAttribute("data-insert-text");
    var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var end = typeof box.selectionEnd === "number" ? box.selectionEnd : start;
    var before = box.value.slice(0, start);
    var spaced = (before && !/\s$/.test(before) ? "\n" : "") + text + "\n";
    box.value = before + spaced + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + spaced.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function close() {
    if (source) {
      source.close();
    }
    source = null;
    sourceUrl = null;
  }

  function sync() {
    var marker = document.querySelector("[data-live-url]");
    var url = marker ? marker.getAttribute("data-live-url") : null;
    if (url === sourceUrl) {
      return;
    }
    close();
    if (!url) {
      return;
    }
    source = new EventSource(url);
    sourceUrl = url;
    source.seen = {};
    source.notified = {};
    source.addEventListener("tier", onTier);
    source.addEventListener("notification", onNotification);
    source.addEventListener("offer", onOffer);
    source.addEventListener("offer_gone", onOfferGone);
    source.addEventListener("changed", onChanged);
    source.addEventListener("presence", onPresence);
    source.addEventListener("gone", onGone);
  }

  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("input", onTyping);
  document.addEventListener("click", onInsert);
})();
