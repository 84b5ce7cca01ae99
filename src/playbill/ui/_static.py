"""The web view's stylesheet and script, inlined in every page (no external URL)."""

from __future__ import annotations

CSS = """
:root { --ok:#2e8b57; --bad:#c0392b; --wait:#d4a017; --run:#2f6fbf; --lost:#8a8a8a;
  --fg:#1d1f21; --muted:#666; --line:#ddd; --bg:#fff; --band:#f6f7f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0; }
header { background: #22303c; color: #fff; padding: 8px 16px; display: flex; gap: 18px;
  align-items: baseline; }
header a { color: #fff; text-decoration: none; } header .brand { font-weight: 700; }
header .mode { margin-left: auto; font-size: 12px; opacity: .8; }
main { padding: 12px 16px 40px; max-width: 1300px; }
h1 { font-size: 20px; margin: 6px 0 10px; } h2 { font-size: 16px; margin: 22px 0 8px; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left;
  vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:target, tr.new { background: #fff7d6; }
pre { background: var(--band); padding: 8px; overflow-x: auto; max-height: 480px;
  white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace;
  font-size: 12.5px; }
.status { padding: 1px 6px; border-radius: 8px; font-size: 12px; background: #eee; }
.status.completed, .status.passed, .status.applied, .status.approved { background: #d8f0e0; }
.status.failed, .status.cancelled, .status.conflicted, .status.rejected { background: #f6d5d1; }
.status.running, .status.in_progress { background: #d9e6f7; }
.status.paused, .status.blocked, .status.pending, .status.verify_pending { background: #f8ecc4; }
.muted, .note { color: var(--muted); } .note { font-size: 12px; }
form.inline { display: inline; } form.filters { margin: 6px 0 10px; }
form.filters input, form.filters select { margin-right: 8px; }
button { cursor: pointer; }
.controls button { margin-right: 6px; }
.grid { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
svg text { font-size: 11px; fill: var(--fg); } svg .lane { fill: #fff; stroke: #eee; }
svg .lane-name { font-weight: 600; } svg .axis { fill: var(--muted); }
svg .bar { stroke: rgba(0,0,0,.25); } svg .bar-link:hover .bar { stroke: #000; stroke-width: 2; }
.ok { fill: var(--ok); } .bad { fill: var(--bad); } .wait { fill: var(--wait); }
.run { fill: var(--run); } .lost { fill: var(--lost); }
svg .mark { fill: #555; stroke: #fff; } svg .mark.good { fill: var(--ok); }
svg .mark.bad { fill: var(--bad); }
svg .span { fill: rgba(212,160,23,.35); } svg .span.pause { fill: rgba(120,120,120,.3); }
svg .node rect { fill: #eee; stroke: #999; }
svg .node.completed rect, svg .node.skipped rect { fill: #d8f0e0; }
svg .node.failed rect { fill: #f6d5d1; }
svg .node.in_progress rect, svg .node.verify_pending rect { fill: #d9e6f7; }
svg .node.blocked rect, svg .node.interrupted rect { fill: #f8ecc4; }
svg .edge { stroke: #999; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px;
  vertical-align: -2px; border-radius: 2px; }
.swatch.ok { background: var(--ok); } .swatch.bad { background: var(--bad); }
.swatch.wait { background: var(--wait); } .swatch.run { background: var(--run); }
.swatch.lost { background: var(--lost); }
.diff .add { color: #17692f; } .diff .del { color: #a31515; } .diff .hunk { color: #6a3fb5; }
table.history td:nth-child(3), table.history td:nth-child(5) { white-space: nowrap; }
table.history code, table.history pre { word-break: break-all; }
.pager a, .pager span { margin-right: 10px; }
.slider { width: 100%; max-width: 900px; }
.changed td:first-child { white-space: nowrap; }
.changed td { word-break: break-all; max-width: 520px; }
.flash { padding: 6px 10px; background: #e7f3e7; border: 1px solid #b5d8b5; margin: 8px 0; }
"""
"""The stylesheet of every page."""

JS = r"""
"use strict";
(function () {
  function replaceFrom(url, id) {
    return fetch(url, {headers: {"X-Fragment": "1"}}).then(function (r) {
      if (!r.ok) { return; }
      return r.text().then(function (text) {
        var target = document.getElementById(id);
        if (target) { target.outerHTML = text; }
      });
    });
  }
  // Pages with a live part: poll it (runs list, run page).
  var live = document.querySelector("[data-poll]");
  if (live) {
    var every = parseInt(live.getAttribute("data-poll"), 10) || 2000;
    setInterval(function () {
      var node = document.querySelector("[data-poll]");
      // Never replace a form someone is filling in.
      var typing = node && (node.contains(document.activeElement) &&
        document.activeElement.tagName === "INPUT" ||
        Array.prototype.some.call(node.querySelectorAll("input:not([type=hidden])"),
          function (input) { return input.value !== ""; }));
      if (node && !typing && node.getAttribute("data-live") === "1") {
        replaceFrom(node.getAttribute("data-src"), node.id);
      }
    }, every);
  }
  // The history: follow new entries with server-sent events.
  var feed = document.getElementById("history-body");
  var shown = document.getElementById("followed");
  if (feed && shown) { shown.textContent = String(feed.rows.length); }
  if (feed && feed.getAttribute("data-stream")) {
    var source = new EventSource(feed.getAttribute("data-stream"));
    source.addEventListener("entry", function (event) {
      feed.insertAdjacentHTML("beforeend", event.data);
      var count = document.getElementById("followed");
      if (count) { count.textContent = String(feed.rows.length); }
    });
    window.addEventListener("beforeunload", function () { source.close(); });
  }
  // Time travel: the slider loads the state at its seq.
  var slider = document.getElementById("seq-slider");
  if (slider) {
    var field = document.getElementById("seq-field");
    var pending = null;
    var load = function () {
      var seq = slider.value;
      if (field) { field.value = seq; }
      var url = slider.getAttribute("data-base") + "?seq=" + encodeURIComponent(seq);
      history.replaceState(null, "", url);
      replaceFrom(url, "time-state");
    };
    slider.addEventListener("input", function () {
      if (pending) { clearTimeout(pending); }
      pending = setTimeout(load, 120);
    });
  }
})();
"""
"""The script of every page: polling, following, time travel; no library."""
