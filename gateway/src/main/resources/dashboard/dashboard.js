// The dashboard's only script: live updates by Server-Sent Events. Pages work without it
// (forms and links are plain HTML); markup received here was escaped by the server, and log lines
// are added as text.
(function () {
  "use strict";

  function setText(id, value) {
    var el = document.getElementById(id);
    // An unchanged text is left alone: rewriting a live region can make a screen reader repeat it.
    if (el && el.textContent !== String(value)) { el.textContent = value; }
  }

  function chart(el, label, stroke) {
    if (!el || typeof uPlot === "undefined") { return null; }
    var opts = {
      width: Math.max(280, el.clientWidth || 600),
      height: 180,
      series: [{}, { label: label, stroke: stroke, width: 2 }],
      axes: [{}, { label: "per minute" }],
      legend: { show: true }
    };
    return new uPlot(opts, [[], []], el);
  }

  function sum(values) { return values.reduce(function (a, b) { return a + b; }, 0); }

  // A live page's stream: back to sign-in when the session ends, its state in the live region.
  function followSession(source) {
    source.addEventListener("open", function () { setText("live", "Live updates: on."); });
    source.addEventListener("signed-out", function () {
      source.close();
      window.location.assign("/sign-in?m=ended");
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        setText("live", "Live updates: off (disconnected). Reload the page.");
      } else {
        setText("live", "Live updates: reconnecting…");
      }
    });
  }

  function fleet(root) {
    var checkIns = chart(document.getElementById("checkins-chart"), "check-ins", "#1f5fa8");
    var failures = chart(document.getElementById("failures-chart"), "failed updates", "#a81f1f");
    var source = new EventSource(root.getAttribute("data-events"));
    source.addEventListener("counts", function (e) {
      document.getElementById("counts").innerHTML = e.data;
      root.setAttribute("data-updated", String(Date.now()));
    });
    source.addEventListener("activity", function (e) {
      var a = JSON.parse(e.data);
      if (checkIns) { checkIns.setData([a.minutes, a.checkIns]); }
      if (failures) { failures.setData([a.minutes, a.failures]); }
      setText("checkins-now", a.checkIns[a.checkIns.length - 1]);
      setText("checkins-hour", sum(a.checkIns));
      setText("failures-now", a.failures[a.failures.length - 1]);
      setText("failures-hour", sum(a.failures));
    });
    followSession(source);
    window.addEventListener("resize", function () {
      [checkIns, failures].forEach(function (c) {
        if (c) { c.setSize({ width: Math.max(280, c.root.parentNode.clientWidth), height: 180 }); }
      });
    });
  }

  function buildLog(pre) {
    var source = new EventSource(pre.getAttribute("data-events"));
    source.addEventListener("line", function (e) {
      pre.appendChild(document.createTextNode(e.data + "\n"));
    });
    source.addEventListener("end", function () {
      source.close();
      setText("log-state", "The build finished; this is its whole log.");
      pre.setAttribute("data-complete", "true");
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        setText("log-state", "The log is not available (signed out or no such build).");
      }
    });
  }

  // A page whose [data-live] sections the server re-sends as events named by their ids. A section
  // is replaced only when its markup changed, so a focused button keeps its focus between ticks.
  function sections(root) {
    var source = new EventSource(root.getAttribute("data-events"));
    var scratch = document.createElement("template");
    root.querySelectorAll("[data-live]").forEach(function (el) {
      source.addEventListener(el.id, function (e) {
        scratch.innerHTML = e.data;
        if (scratch.innerHTML !== el.innerHTML) { el.innerHTML = e.data; }
        root.setAttribute("data-updated", String(Date.now()));
        setText("live", "Live updates: on.");
      });
    });
    source.addEventListener("unavailable", function (e) {
      setText("live", "Live updates: " + e.data + "; trying again.");
    });
    source.addEventListener("end", function (e) {
      source.close();
      setText("live", "Live updates: off, " + e.data + ".");
    });
    followSession(source);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("rollout");
    if (live) { sections(live); }
    var root = document.getElementById("fleet");
    if (root) { fleet(root); }
    var pre = document.getElementById("build-log");
    if (pre) { buildLog(pre); }
  });
})();
