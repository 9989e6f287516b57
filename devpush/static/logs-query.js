// The Logs page's filters write themselves into the query box as query text
// (`stream:stderr`, `level:error`, …), so the URL carries one query (?q=) a reader can
// share and edit; the box's text moves the drop-downs back. The request filters do the
// same: a status class chip writes `status:5xx` (and submits), the Method choice
// `method:POST`, the Path prefix `path:/api/*`. Only text is matched here:
// the server parses the query (docs/logging.md, "Searching"). With "regex" checked the
// box is an RE2 pattern and the filters are sent as they are.
(function () {
  "use strict";

  // Form control id → query field. Stream, level and branch then travel in q alone;
  // deployment and environment stay parameters too (they set the range and are checked).
  var FIELDS = {
    "f-environment": "environment",
    "f-deployment": "deployment",
    "f-branch": "branch",
    "f-stream": "stream",
    "f-level": "level",
    "f-method": "method",
    "f-path": "path",
  };
  var IN_QUERY_ONLY = ["f-branch", "f-stream", "f-level"];
  // The Source drop-down also offers the proxy's requests: `source:request` (the
  // language's `stream` is a runner's stdout or stderr only).
  var SOURCES = ["request"];

  function fieldFor(id, value) {
    return id === "f-stream" && SOURCES.indexOf(value) >= 0 ? "source" : FIELDS[id];
  }

  // The value the box gives a control (the Source drop-down reads either field).
  function boxValue(text, id) {
    var value = fromQuery(id, termValue(text, FIELDS[id]));
    if (value || id !== "f-stream") return value;
    value = unquoted(termValue(text, "source"));
    return SOURCES.indexOf(value) >= 0 ? value : "";
  }

  function withControl(text, id, value) {
    if (id === "f-stream") text = withTerm(withTerm(text, "stream", ""), "source", "");
    return withTerm(text, fieldFor(id, value), toQuery(id, value));
  }

  var BARE = /^[^\s()"]+$/;

  // A control's value as query text. The path field is a prefix (`path:/api/*`; a `*` the
  // reader typed is theirs); a path the language must quote can't carry a wildcard, so
  // it matches exactly.
  function toQuery(id, value) {
    if (!value) return "";
    if (id === "f-path" && BARE.test(value)) return value.indexOf("*") >= 0 ? value : value + "*";
    return quoted(value);
  }

  // The query's value as a control shows it (the inverse of toQuery).
  function fromQuery(id, raw) {
    var value = unquoted(raw);
    if (id === "f-method") return value.toUpperCase();
    if (id === "f-path" && raw === value && /^[^*]+\*$/.test(value)) return value.slice(0, -1);
    return value;
  }

  function quoted(value) {
    if (/^[^\s()"*]+$/.test(value)) return value;
    return '"' + value.replace(/["\\]/g, "\\$&") + '"';
  }

  function unquoted(value) {
    if (value.charAt(0) !== '"') return value;
    return value.slice(1, -1).replace(/\\(["\\])/g, "$1");
  }

  // A top-level positive `field:value` term (not after "-").
  function termPattern(field) {
    return new RegExp("(^|\\s)" + field + ':("(?:[^"\\\\]|\\\\.)*"|[^\\s()"]+)', "gi");
  }

  // The term's value as written (quotes and all); "" when there is none.
  function termValue(text, field) {
    var match = termPattern(field).exec(text);
    return match ? match[2] : "";
  }

  // The text without its `field:` terms, and `field:value` (query text) at the end.
  // devpush/web/request_logs.py's with_term writes the histogram's links by this rule.
  function withTerm(text, field, value) {
    var rest = text.replace(termPattern(field), " ").replace(/\s+/g, " ").trim();
    if (!value) return rest;
    return (rest ? rest + " " : "") + field + ":" + value;
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
  }

  function init(form) {
    var box = form.querySelector("#f-q");
    var regex = form.querySelector("#f-regex");
    if (!box) return;
    var isRegex = function () { return regex && regex.checked; };
    var chips = form.querySelectorAll("button[data-status-class]");
    var path = form.querySelector("#f-path");

    // A chip is pressed when the query's status term is its class. A regex has no
    // fields: the request filters rest while "regex" is checked.
    function markChips() {
      var current = unquoted(termValue(box.value, "status")).toLowerCase();
      Array.prototype.forEach.call(chips, function (chip) {
        chip.setAttribute("aria-pressed", String(!isRegex() && chip.dataset.statusClass === current));
        chip.disabled = isRegex();
      });
      ["f-method", "f-path"].forEach(function (id) {
        var input = form.querySelector("#" + id);
        if (input) input.disabled = isRegex();
      });
    }

    Array.prototype.forEach.call(chips, function (chip) {
      chip.addEventListener("click", function () {
        if (isRegex()) return;
        var kind = chip.dataset.statusClass;
        var on = chip.getAttribute("aria-pressed") !== "true";
        box.value = withTerm(box.value, "status", on ? kind : "");
        fromBox();
        form.requestSubmit();
      });
    });
    if (regex) regex.addEventListener("change", markChips);

    function fromBox() {
      if (isRegex()) return;
      Object.keys(FIELDS).forEach(function (id) {
        var input = form.querySelector("#" + id);
        if (!input) return;
        var value = boxValue(box.value, id);
        // A value the drop-down lacks (an environment by name, an id prefix): "all",
        // and the query says the rest.
        input.value = input.tagName !== "SELECT" || hasOption(input, value) ? value : "";
      });
      markChips();
    }

    Object.keys(FIELDS).forEach(function (id) {
      var input = form.querySelector("#" + id);
      if (!input) return;
      // A filter given as a parameter (an old link) shows in the box too.
      if (!isRegex() && input.value && !boxValue(box.value, id)) {
        box.value = withControl(box.value, id, input.value);
      }
      input.addEventListener("change", function () {
        if (!isRegex()) box.value = withControl(box.value, id, input.value);
      });
    });
    fromBox();
    markChips();
    box.addEventListener("input", fromBox);

    form.addEventListener("submit", function () {
      if (isRegex()) return;
      // Enter in the path field submits before its change event: write it now.
      if (path && path.value !== boxValue(box.value, "f-path")) {
        box.value = withControl(box.value, "f-path", path.value);
      }
      IN_QUERY_ONLY.forEach(function (id) {
        var input = form.querySelector("#" + id);
        if (input && input.value === boxValue(box.value, id)) input.disabled = true;
      });
      if (!box.value.trim()) box.disabled = true;
    });
    // Back/forward restores a page whose controls were disabled for the submit.
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("[disabled]").forEach(function (input) { input.disabled = false; });
      markChips();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("log-filters");
    if (form) init(form);
  });
})();
