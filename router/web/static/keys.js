// tierroute agent UI: keyboard shortcuts and their "?" help. Our own file, no library, no inline script
// (the Content-Security-Policy forbids those). Every action stays a plain form: the shortcuts only move
// the focus or press a button the page already has, so Tab and Enter reach everything without them.
(function () {
  "use strict";

  // [key, what it does, how]: the help overlay lists this table, in this order.
  var SHORTCUTS = [
    ["n", "Next ticket: claim the head of the first queue with waiting tickets (on a ticket page: back to My queues)", next],
    ["r", "Reply: focus the reply box (Ctrl+Enter sends the reply)", function () { compose("reply"); }],
    ["i", "Internal note: focus the reply box (Ctrl+Enter adds a note)", function () { compose("note"); }],
    ["e", "Escalate: focus the escalation reason (Ctrl+Enter escalates)", escalate],
    ["/", "Search: focus the search box", search],
    ["j", "Next row in a list", function () { moveRow(1); }],
    ["k", "Previous row in a list", function () { moveRow(-1); }],
    ["h", "My queues", function () { go("/ui/"); }],
    ["?", "Show or hide this help", toggleHelp]
  ];
  var IN_FIELD = [
    ["Ctrl+Enter", "Send the form you are typing in (reply, note, escalation, ...)"],
    ["Esc", "Leave the field; close this help"]
  ];

  function $(selector) { return document.querySelector(selector); }

  function go(url) { window.location.assign(url); }

  function press(button) {
    var form = button.form;
    if (form && form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  function next() {
    var buttons = document.querySelectorAll('form[action$="/claim"] button[type="submit"]');
    for (var i = 0; i < buttons.length; i++) {
      if (!buttons[i].disabled) { press(buttons[i]); return; }
    }
    if (window.location.pathname !== "/ui/") { go("/ui/"); }
    else { announce("No queue of yours has a ticket waiting."); }
  }

  function compose(mode) {
    var box = $("#message-body");
    if (!box) { announce("This page has no reply box."); return; }
    var send = box.form && box.form.querySelector('button[value="reply"]');
    if (mode === "reply" && !send) { mode = "note"; announce("Replies are closed here: writing an internal note."); }
    box.setAttribute("data-mode", mode);
    box.setAttribute("placeholder", mode === "reply" ? "Reply to the requester (Ctrl+Enter sends)" : "Internal note (Ctrl+Enter adds it)");
    box.focus();
  }

  function escalate() {
    var reason = $("#escalate-reason");
    if (!reason) { announce("This ticket cannot be escalated here."); return; }
    reason.focus();
  }

  function search() {
    var box = $("[data-shortcut-search]") || $('.topbar input[type="search"]') || $('main input[type="search"]');
    if (!box) { announce("This page has no search box."); return; }
    box.focus();
    if (box.select) { box.select(); }
  }

  // j / k: a visible focus moves over the rows of the page's first table of links; Enter opens the row.
  function moveRow(step) {
    var links = Array.prototype.filter.call(
      document.querySelectorAll("main table tbody tr a[href], main ol.history-list a[href]"),
      function (a) { return a.offsetParent !== null; }
    );
    if (!links.length) { return; }
    var at = links.indexOf(document.activeElement);
    var target = links[at < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step))];
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  }

  // Ctrl+Enter in a field: the button for the mode chosen with r / i, else the form's first submit button.
  function submitFrom(field) {
    var form = field.form;
    if (!form) { return false; }
    var mode = field.getAttribute("data-mode");
    var button = (mode && form.querySelector('button[value="' + mode + '"]')) || form.querySelector('button[type="submit"], button:not([type])');
    if (!button) { return false; }
    if (!form.reportValidity()) { return true; }
    // Leave the field first: htmx puts the focus back on an element with the same id after the swap,
    // and the next shortcut would be typed into the new page's field.
    field.blur();
    press(button);
    return true;
  }

  function announce(text) {
    var region = $(".flashes");
    if (!region) { return; }
    var p = document.createElement("p");
    p.className = "flash";
    p.textContent = text;
    region.appendChild(p);
    window.setTimeout(function () { if (p.parentNode) { p.parentNode.removeChild(p); } }, 4000);
  }

  function helpDialog() {
    var dialog = $("#keys-help");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "keys-help";
    dialog.className = "keys-help";
    dialog.setAttribute("aria-labelledby", "keys-help-title");
    var title = document.createElement("h2");
    title.id = "keys-help-title";
    title.textContent = "Keyboard shortcuts";
    dialog.appendChild(title);
    var table = document.createElement("table");
    var rows = SHORTCUTS.map(function (s) { return [s[0], s[1]]; }).concat(IN_FIELD);
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var key = document.createElement("th");
      key.scope = "row";
      var kbd = document.createElement("kbd");
      kbd.textContent = row[0];
      key.appendChild(kbd);
      var what = document.createElement("td");
      what.textContent = row[1];
      tr.appendChild(key);
      tr.appendChild(what);
      table.appendChild(tr);
    });
    dialog.appendChild(table);
    var note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Letters work when you are not typing in a field. Tab and Enter reach every action too.";
    dialog.appendChild(note);
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.appendChild(close);
    document.body.appendChild(dialog);
    return dialog;
  }

  function toggleHelp() {
    var dialog = helpDialog();
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  function typing(el) {
    if (!el || el === document.body) { return false; }
    var tag = el.tagName;
    return el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(button|submit|checkbox|radio|reset)$/i.test(el.type));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.isComposing) { return; }
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (typing(target) && submitFrom(target)) { event.preventDefault(); }
      return;
    }
    if (event.key === "Escape" && typing(target)) { target.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) { return; }
    var dialog = $("#keys-help");
    if (dialog && dialog.open && event.key !== "?") { return; }
    for (var i = 0; i < SHORTCUTS.length; i++) {
      if (SHORTCUTS[i][0] === event.key) {
        event.preventDefault();
        SHORTCUTS[i][2]();
        return;
      }
    }
  }

  // Say on the controls themselves which key reaches them (screen readers announce aria-keyshortcuts).
  function label() {
    var marks = [["#message-body", "R I"], ["#escalate-reason", "E"], ["[data-keys-help]", "?"]];
    marks.forEach(function (m) { var el = $(m[0]); if (el) { el.setAttribute("aria-keyshortcuts", m[1]); } });
    var claim = document.querySelectorAll('form[action$="/claim"] button[type="submit"]');
    Array.prototype.forEach.call(claim, function (b) { b.setAttribute("aria-keyshortcuts", "N"); });
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-keys-help]");
    if (opener) { event.preventDefault(); toggleHelp(); }
  });
  document.addEventListener("DOMContentLoaded", label);
  document.addEventListener("htmx:afterSettle", label);
})();
