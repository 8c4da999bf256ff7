// The store console's few behaviours: a scan box that adds one unit per Enter, +/- buttons,
// and a sound and a flash when a new order arrives on the work list. Plain JavaScript, no build.
(function () {
  "use strict";

  function qtyInput(row) { return row.querySelector("input[type=number]"); }

  function bump(row, step) {
    var input = qtyInput(row);
    var max = parseInt(input.max, 10), value = parseInt(input.value || "0", 10) + step;
    input.value = String(Math.max(0, Math.min(max, value)));
    row.classList.remove("flash"); void row.offsetWidth; row.classList.add("flash");
  }

  // What the box recognises: a line's SKU (as typed) or its barcode (as a scanner types it).
  function codeOf(text) { return text.trim().toUpperCase(); }

  function setUpPicking() {
    var scan = document.getElementById("scan");
    if (!scan) return;
    var codes = JSON.parse(scan.dataset.codes || "{}");
    var note = document.getElementById("scan-note");
    scan.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      e.preventDefault();
      var code = codeOf(scan.value), sku = codes[code];
      var row = sku && document.querySelector('tr[data-sku="' + sku + '"]');
      if (row) { bump(row, 1); note.hidden = true; }
      else if (code) { note.textContent = note.dataset.unknown.replace("{code}", code); note.hidden = false; }
      scan.value = "";
    });
    document.querySelectorAll("button.step").forEach(function (b) {
      b.addEventListener("click", function () { bump(b.closest("tr"), parseInt(b.dataset.step, 10)); });
    });
  }

  var lastToAccept = null, audio = null;
  function beep() {
    // One audio context for the page; browsers keep it silent until someone has used the page.
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      var osc = audio.createOscillator(); osc.frequency.value = 880; osc.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
    } catch (err) { /* no sound here: the flash and the announcement remain */ }
  }
  function watchArrivals() {
    var list = document.getElementById("worklist");
    if (!list) return;
    var now = parseInt(list.dataset.toAccept || "0", 10);
    if (lastToAccept !== null && now > lastToAccept) {
      beep();
      list.querySelector('[data-testid="stage-to-accept"]').classList.add("flash");
      document.title = "● " + document.title.replace(/^● /, "");
      var say = document.getElementById("arrivals");
      if (say) say.textContent = say.dataset.words.replace("{n}", String(now - lastToAccept));
    }
    lastToAccept = now;
  }
  document.addEventListener("keydown", function () { if (audio && audio.state === "suspended") audio.resume(); });

  // The work list refreshes itself, but not under the hands of someone filling it in.
  window.omsIdle = function () {
    var list = document.getElementById("worklist");
    if (!list) return false;
    // Not while someone types in it; a focused button or link keeps its focus across the
    // refresh (htmx restores focus by id, and every control there has one).
    if (list.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return false;
    var inputs = list.querySelectorAll("input");
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "checkbox" ? el.checked : (el.type !== "hidden" && el.value)) return false;
    }
    return true;
  };

  document.addEventListener("DOMContentLoaded", function () { setUpPicking(); watchArrivals(); });
  document.addEventListener("htmx:afterSwap", watchArrivals);
})();
