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

  // A shelf scale's label: EAN-13 "2 K PPPPP VVVVV C", K 1: V is grams, K 2: V is the price in
  // fen; PPPPP is the item's scale code (plu). Its check digit must hold.
  function scaleLabel(code) {
    if (!/^2[12][0-9]{11}$/.test(code)) return null;
    var sum = 0;
    for (var i = 0; i < 12; i++) sum += parseInt(code[11 - i], 10) * (i % 2 === 0 ? 3 : 1);
    if ((10 - sum % 10) % 10 !== parseInt(code[12], 10)) return null;
    return { plu: code.substr(2, 5), grams: code[1] === "1", value: parseInt(code.substr(7, 5), 10) };
  }

  function addWeight(row, label) {
    var input = qtyInput(row), price = parseInt(row.dataset.price || "0", 10);
    var grams = label.grams ? label.value : (price ? Math.round(label.value * 1000 / price) : 0);
    var max = parseInt(input.max, 10), value = parseInt(input.value || "0", 10) + grams;
    input.value = String(Math.max(0, Math.min(max, value)));
    row.classList.remove("flash"); void row.offsetWidth; row.classList.add("flash");
  }

  function setUpPicking() {
    var scan = document.getElementById("scan");
    if (!scan) return;
    var codes = JSON.parse(scan.dataset.codes || "{}");
    var note = document.getElementById("scan-note");
    scan.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      e.preventDefault();
      var code = codeOf(scan.value), sku = codes[code], label = sku ? null : scaleLabel(code);
      var row = sku && document.querySelector('tr[data-sku="' + sku + '"]');
      var weighed = label && document.querySelector('tr[data-plu="' + label.plu + '"]');
      if (weighed) { addWeight(weighed, label); note.hidden = true; }
      else if (row) { bump(row, 1); note.hidden = true; }
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
