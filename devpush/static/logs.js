// Log views: the live tail (server-sent events), follow-the-end, and log error partials.
// Rows arrive as HTML the server rendered and escaped (templates/logs/macros/lines.html);
// nothing here builds markup from log text: messages go in with textContent.
// EventSource is used directly: it reconnects by itself and sends Last-Event-ID (each
// row's resume cursor), which with the drop of rows already shown is all the tail needs; htmx's sse extension would add a
// dependency and still need this file for scrolling and error messages.
(function () {
  "use strict";

  var NEAR_END_PX = 32;

  function nearEnd(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_END_PX;
  }

  // Unix-ns strings (data-ts): longer is later, else compare as text (no BigInt needed).
  function later(a, b) {
    return a.length !== b.length ? a.length > b.length : a > b;
  }

  // A late line (older than the last shown) goes where its time puts it: walk back from
  // the end (a late line is rarely far back) past every row that is later than it. A row
  // with no data-ts ("load older", a partial notice) stops the walk: rows go below it.
  function place(list, html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var row = holder.content.firstElementChild;
    if (!row) return;
    // A resumed tail (after a reconnect) sends again the lines that had come ahead of
    // its cursor: a row whose id is already shown is dropped.
    if (row.id && document.getElementById(row.id)) return;
    var ts = row.dataset.ts || "";
    var before = null;
    var at = list.lastElementChild;
    while (ts && at && at.dataset.ts && later(at.dataset.ts, ts)) {
      before = at;
      at = at.previousElementSibling;
    }
    list.insertBefore(row, before);
  }

  function start(panel) {
    if (panel.dataset.logsStarted) return;
    panel.dataset.logsStarted = "1";
    var box = panel.querySelector(".log-scroll");
    var list = panel.querySelector(".log-lines");
    var status = panel.querySelector(".log-live-status");
    if (!box || !list) return;
    var follow = !location.hash;
    if (follow) box.scrollTop = box.scrollHeight;
    // Follow the end unless the reader scrolled up; scrolling back down resumes it.
    box.addEventListener("scroll", function () {
      follow = nearEnd(box);
    });
    var url = panel.dataset.streamUrl;
    if (!url || !window.EventSource) return;

    function say(text, failed) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("error", Boolean(failed));
    }

    var source = new EventSource(url);
    panel.logSource = source;
    source.addEventListener("open", function () {
      say("Live");
    });
    source.addEventListener("line", function (event) {
      var empty = list.querySelector(".log-empty");
      if (empty) empty.remove();
      place(list, event.data);
      if (follow) box.scrollTop = box.scrollHeight;
    });
    source.addEventListener("error", function (event) {
      // The server's "error" event carries a message; a bare one is a dropped connection.
      if (event.data) {
        say(event.data + " Retrying…", true);
      } else if (source.readyState === EventSource.CONNECTING) {
        say("Connection lost; reconnecting…", true);
      } else {
        say("Live tail stopped; reload the page to resume.", true);
      }
    });
  }

  function scan(root) {
    if (!root.querySelectorAll) return;
    if (root.matches && root.matches("[data-logs]")) start(root);
    root.querySelectorAll("[data-logs]").forEach(start);
  }

  // A failed log query answers 422/502/503 with a message partial: show it in place
  // (htmx leaves error responses unswapped by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var code = event.detail.xhr.status;
    if (code >= 400 && target && target.closest("[data-logs], [data-logs-host]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Close a panel's stream when htmx removes the panel.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    if (event.target.logSource) event.target.logSource.close();
  });

  if (window.htmx) {
    window.htmx.onLoad(scan);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      scan(document.body);
    });
  }
})();
