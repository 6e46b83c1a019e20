/* optviz player: draws a scene's runs over the renderer's own background, step by step, with the axes'
   data-to-pixel transform; controls, keyboard, hover readout and a small API for embedders
   (window.optvizPlayer: play, pause, seek, state; an "optviz:step" event after each change of step; the same
   through postMessage for a page of another origin).
   The page stores it deflated; boot.js inflates and runs it. Its canvas, legend and controls stay hidden
   until it has read its data. */
(function () {
  "use strict";

  var LR_MARK = "\uE000";
  var root = document.getElementById("optviz");
  var data = JSON.parse(document.getElementById("optviz-data").textContent);
  var find = function (selector) { return root.querySelector(selector); };
  var stage = find(".optviz-stage");
  var canvas = find(".optviz-canvas");
  var ctx = canvas.getContext("2d");
  var slider = find(".optviz-slider");
  var readout = find(".optviz-step");
  var playButton = find(".optviz-play");
  var speedSelect = find(".optviz-speed");
  var loopBox = find(".optviz-loop");
  var tip = find(".optviz-tip");
  var counter = find(".optviz-counter span");
  var legendButtons = Array.prototype.slice.call(root.querySelectorAll(".optviz-legend button"));
  var message = find(".optviz-message");

  var W = data.size[0];
  var PW = data.pixels[0], PH = data.pixels[1];
  var steps = data.steps;
  var frames = data.frames || null;
  var view = data.main.view;
  var entries = data.entries;
  var runs = [];
  var visible = entries.map(function () { return true; });
  var step = 0, playing = false, speed = 1, clock = null, tipRun = null;
  var listeners = [];     // [window, origin] of the pages that asked for every step by message

  // --- numbers: base64 -> inflate -> byte planes -> numbers (see html.py: XOR-ed floats, fixed-point) ------

  function inflate(text) {
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buffer) { return new Uint8Array(buffer); });
  }

  function unpack(pack) {
    return inflate(pack.data).then(function (planes) {
      return pack.type === "fixed" ? unfix(pack, planes) : unxor(pack, planes);
    });
  }

  function unxor(pack, planes) {
    var width = pack.type === "f64" ? 8 : 4, n = pack.size, out = new Uint8Array(n * width);
    for (var b = 0; b < width; b++) {
      var plane = b * n;
      for (var i = 0; i < n; i++) out[i * width + b] = planes[plane + i];
    }
    var words = new Uint32Array(out.buffer), per = width / 4;
    pack.seqs.forEach(function (seq) {
      for (var i = seq[0] + 1; i < seq[0] + seq[1]; i++) {
        for (var w = 0; w < per; w++) words[i * per + w] ^= words[(i - 1) * per + w];
      }
    });
    return width === 8 ? new Float64Array(out.buffer) : new Float32Array(out.buffer);
  }

  // Whole numbers below 2**53 throughout, so every sum is exact; so is the last scaling by a power of two.
  function unfix(pack, planes) {
    var n = pack.size, width = pack.width, unit = Math.pow(2, -pack.bits), out = new Float64Array(n);
    pack.seqs.forEach(function (seq) {
      var change = 0, value = 0;
      for (var i = seq[0]; i < seq[0] + seq[1]; i++) {
        var u = 0;
        for (var b = width - 1; b >= 0; b--) u = u * 256 + planes[b * n + i];
        change += u % 2 === 1 ? -(u + 1) / 2 : u / 2;
        value += change;
        out[i] = value * unit;
      }
    });
    return out;
  }

  // --- Python's format(v, ".3g"), as the picture's legend writes an lr -------------------------------------

  function g3(v) {
    if (!isFinite(v)) return isNaN(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    var parts = Math.abs(v).toExponential(20).split("e");
    var digits = parts[0].replace(".", ""), exp = parseInt(parts[1], 10);
    var kept = parseInt(digits.slice(0, 3), 10), rest = digits.slice(3), half = "5" + "0".repeat(rest.length - 1);
    if (rest > half || (rest === half && kept % 2 === 1)) kept += 1;       // round half to even, as Python
    if (kept === 1000) { kept = 100; exp += 1; }
    var s = String(kept), text;
    if (exp >= -4 && exp < 3) {
      text = exp >= 0 ? s.slice(0, exp + 1) + "." + s.slice(exp + 1) : "0." + "0".repeat(-exp - 1) + s;
    } else {
      text = s[0] + "." + s.slice(1);
    }
    if (text.indexOf(".") >= 0) text = text.replace(/0+$/, "").replace(/\.$/, "");
    if (!(exp >= -4 && exp < 3)) text += "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
    return (v < 0 ? "-" : "") + text;
  }

  function number(v) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }

  // A position to a millionth of the view's width, at most 8 decimals: the page stores positions to 5e-10, so
  // significant digits of a value near 0 (a run settling on an axis) would be noise.
  function coordinate(v, low, high) {
    if (!isFinite(v) || Math.abs(v) >= 1e6) return number(v);
    var digits = Math.min(8, Math.max(0, Math.ceil(-Math.log10((high - low) * 1e-6))));
    var text = v.toFixed(digits);
    return Number(text) === 0 ? text.replace("-", "") : text;
  }

  // --- geometry --------------------------------------------------------------------------------------------

  function toCanvas(xs, ys) {
    var m = data.main.affine, n = xs.length, cx = new Float64Array(n), cy = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      cx[i] = m[0] * xs[i] + m[1] * ys[i] + m[2];
      cy[i] = PH - (m[3] * xs[i] + m[4] * ys[i] + m[5]);
    }
    return [cx, cy];
  }

  function inView(x, y) { return x >= view[0] && x <= view[1] && y >= view[2] && y <= view[3]; }

  function lrAt(run, k) {
    var lrs = entries[run.entry].lrsValues;
    if (!lrs || !lrs.length) return run.lr;
    return lrs[Math.min(Math.max(k - 1, 0), lrs.length - 1)];
  }

  // Segments are clipped to a generous box first: a diverging run's far points would otherwise reach the
  // canvas as huge coordinates, which browsers draw badly.
  var far = 4 * Math.max(PW, PH);

  function clipSegment(x0, y0, x1, y1) {
    var t0 = 0, t1 = 1, dx = x1 - x0, dy = y1 - y0;
    var p = [-dx, dx, -dy, dy], q = [x0 + far, far - x0, y0 + far, far - y0];
    for (var i = 0; i < 4; i++) {
      if (p[i] === 0) { if (q[i] < 0) return null; continue; }
      var r = q[i] / p[i];
      if (p[i] < 0) { if (r > t1) return null; if (r > t0) t0 = r; }
      else { if (r < t0) return null; if (r < t1) t1 = r; }
    }
    return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy, t1 < 1];
  }

  function tracePath(xs, ys, from, to) {
    var open = false;
    for (var i = from; i < to; i++) {
      var x0 = xs[i], y0 = ys[i], x1 = xs[i + 1], y1 = ys[i + 1];
      if (!(isFinite(x0) && isFinite(y0) && isFinite(x1) && isFinite(y1))) { open = false; continue; }
      var inside = Math.abs(x0) < far && Math.abs(y0) < far && Math.abs(x1) < far && Math.abs(y1) < far;
      var seg = inside ? [x0, y0, x1, y1, false] : clipSegment(x0, y0, x1, y1);
      if (seg === null) { open = false; continue; }
      if (!open || seg[0] !== x0 || seg[1] !== y0) ctx.moveTo(seg[0], seg[1]);
      ctx.lineTo(seg[2], seg[3]);
      open = !seg[4];
    }
  }

  function clipTo(box) {
    ctx.beginPath();
    ctx.rect(box[0], box[1], box[2], box[3]);
    ctx.clip();
  }

  function pen(style, color) {
    ctx.strokeStyle = color;
    ctx.lineWidth = style.width;
    ctx.lineCap = style.cap;
    ctx.lineJoin = style.join;
    ctx.globalAlpha = style.alpha;
  }

  function stroke(box, style, color, draw) {
    ctx.save();
    clipTo(box);
    pen(style, color);
    ctx.beginPath();
    draw();
    ctx.stroke();
    ctx.restore();
  }

  // Agg puts a marker's centre on the middle of the pixel the point rounds to; so does the page.
  function dot(box, marker, color, x, y) {
    x = Math.floor(x + 0.5) + 0.5;
    y = Math.floor(y + 0.5) + 0.5;
    ctx.save();
    clipTo(box);
    ctx.fillStyle = color;
    ctx.strokeStyle = color;
    ctx.lineWidth = marker.edge;
    ctx.beginPath();
    ctx.arc(x, y, marker.radius, 0, 2 * Math.PI);
    ctx.fill();
    if (marker.edge > 0) ctx.stroke();
    ctx.restore();
  }

  // --- drawing: trails in legend order (swarms step by step, at the first swarm's place), then the dots ---

  // A run that left the view for good: its line ends on the edge where it left (as the GIF draws it).
  function traceMain(run, end) {
    if (!run.cut || end < run.cut[0]) { tracePath(run.cx, run.cy, 0, end); return; }
    var at = run.cut[0];
    tracePath(run.cx, run.cy, 0, at - 1);
    if (at === 1 || !(isFinite(run.cx[at - 1]) && isFinite(run.cy[at - 1]))) ctx.moveTo(run.cx[at - 1], run.cy[at - 1]);
    ctx.lineTo(run.cutX, run.cutY);
  }

  // While a run is out of view: a triangle where it last left, pointing the way it went.
  function arrow(run, i, color) {
    var shown = null;
    run.arrows.forEach(function (a) { if (a[0] <= i) shown = a; });
    if (shown === null) return;
    ctx.save();
    clipTo(data.main.clip);
    ctx.fillStyle = color;
    ctx.strokeStyle = color;
    ctx.lineWidth = shown[2];
    ctx.lineJoin = "miter";
    ctx.beginPath();
    ctx.moveTo(shown[1][0][0], shown[1][0][1]);
    ctx.lineTo(shown[1][1][0], shown[1][1][1]);
    ctx.lineTo(shown[1][2][0], shown[1][2][1]);
    ctx.closePath();
    ctx.fill();
    if (shown[2] > 0) ctx.stroke();
    ctx.restore();
  }

  function drawRun(run, end) {
    var e = entries[run.entry];
    if (end > 0) stroke(data.main.clip, e.line, e.color, function () { traceMain(run, end); });
    if (end > 0 && run.lossX) {
      stroke(data.loss.clip, e.lossLine, e.color, function () { tracePath(run.lossX, run.lossY, 0, end); });
    }
    if (end > 0 && run.surfX) {
      stroke(data.surface.clip, e.surfLine, e.color, function () { tracePath(run.surfX, run.surfY, 0, end); });
    }
  }

  function laySwarms(k) {
    var shown = entries.filter(function (e, n) { return e.swarm && visible[n]; });
    for (var j = 0; j < k; j++) {
      shown.forEach(function (e) {
        var members = e.members.filter(function (run) { return j + 1 <= run.last; });
        if (!members.length) return;
        var segments = function (xs, ys) {
          return function () {
            members.forEach(function (run) { tracePath(run[xs], run[ys], j, j + 1); });
          };
        };
        var main = function () {          // a run that left the view for good: its line ends on the edge
          members.forEach(function (run) {
            if (!run.cut || j + 1 < run.cut[0]) { tracePath(run.cx, run.cy, j, j + 1); return; }
            if (j + 1 > run.cut[0] || !(isFinite(run.cx[j]) && isFinite(run.cy[j]))) return;
            ctx.moveTo(run.cx[j], run.cy[j]);
            ctx.lineTo(run.cutX, run.cutY);
          });
        };
        stroke(data.main.clip, e.line, e.color, main);
        if (data.loss) stroke(data.loss.clip, e.lossLine, e.color, segments("lossX", "lossY"));
        if (data.surface) stroke(data.surface.clip, e.surfLine, e.color, segments("surfX", "surfY"));
      });
    }
  }

  function drawTop(k) {
    entries.forEach(function (e, n) {
      if (!visible[n]) return;
      e.members.forEach(function (run) {
        var i = Math.min(k, run.last), seen = inView(run.xs[i], run.ys[i]);
        if (seen) dot(data.main.clip, e.dot, e.color, run.cx[i], run.cy[i]);
        else arrow(run, i, e.color);
        if (run.lossX && isFinite(run.loss[i]) && isFinite(run.lossY[i]) && (seen || !e.swarm)) {
          dot(data.loss.clip, e.lossDot, e.color, run.lossX[i], run.lossY[i]);   // a loss is told out of view too
        }
        if (!seen) return;
        if (run.surfX && isFinite(run.surfX[i]) && isFinite(run.surfY[i])) {
          dot(data.surface.clip, e.surfDot, e.color, run.surfX[i], run.surfY[i]);
        }
      });
    });
  }

  function ring() {
    var run = tipRun.run, i = tipRun.i, e = entries[run.entry];
    var x = Math.floor(run.cx[i] + 0.5) + 0.5, y = Math.floor(run.cy[i] + 0.5) + 0.5;
    var r = e.dot.radius + e.dot.edge + 3 * data.scale;
    ctx.save();
    clipTo(data.main.clip);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.lineWidth = 3 * data.scale;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
    ctx.lineWidth = 1.5 * data.scale;
    ctx.strokeStyle = e.color;
    ctx.stroke();
    ctx.restore();
  }

  function draw() {
    ctx.clearRect(0, 0, PW, PH);
    var swarmsLaid = false;
    entries.forEach(function (e, n) {
      if (e.swarm) {
        if (!swarmsLaid) laySwarms(step);
        swarmsLaid = true;
      } else if (visible[n]) {
        drawRun(e.members[0], Math.min(step, e.members[0].last));
      }
    });
    drawTop(step);
    if (tipRun !== null) ring();
  }

  // --- state and its display -------------------------------------------------------------------------------

  function show() {
    if (tipRun !== null && !showable(tipRun)) hideTip();
    draw();
    slider.value = String(step);
    slider.setAttribute("aria-valuetext", "step " + step + " of " + steps);
    readout.textContent = "step " + step + " / " + steps;
    if (counter) counter.textContent = String(step);
    entries.forEach(function (e, n) {
      if ((e.lrsValues || e.labels.length > 1) && legendButtons[n]) {
        var text = e.labels[0][1];
        for (var j = 1; j < e.labels.length && e.labels[j][0] <= step; j++) text = e.labels[j][1];
        if (e.lrsValues) text = text.replace(LR_MARK, g3(lrAt(e.members[0], step)));
        var label = legendButtons[n].querySelector(".optviz-label");
        if (label.textContent !== text) label.textContent = text;
      }
    });
    if (tipRun !== null) placeTip();
  }

  function setStep(k) {
    k = Math.max(0, Math.min(steps, Math.round(Number(k)) || 0));
    if (k === step) return;
    step = k;
    show();
    window.dispatchEvent(new CustomEvent("optviz:step", { detail: { step: step } }));
    listeners.forEach(function (l) { tell(l[0], l[1], "step"); });
  }

  // The same API for a page of another origin, which cannot reach window.optvizPlayer: messages
  // {optviz: "play" | "pause" | "seek" (with step) | "state" | "listen"} are answered with {optviz: "state", state};
  // "listen" also sends {optviz: "step", state} after each change of step (to each window that asked).
  function tell(target, origin, kind) {
    target.postMessage({ optviz: kind, state: state() }, /^https?:/.test(origin) ? origin : "*");
  }

  function onMessage(e) {
    var m = e.data, command = m && typeof m === "object" ? m.optviz : null;
    if (!e.source || ["play", "pause", "seek", "state", "listen"].indexOf(command) < 0) return;
    if (command === "play") play();
    if (command === "pause") pause();
    if (command === "seek") seek(m.step);
    if (command === "listen" && !listeners.some(function (l) { return l[0] === e.source; })) {
      listeners.push([e.source, e.origin]);
    }
    tell(e.source, e.origin, "state");
  }

  function frameIndex(k) {
    if (!frames) return k;
    for (var i = 0; i < frames.length; i++) if (frames[i] >= k) return i;
    return frames.length - 1;
  }

  function frameStep(i) { return frames ? frames[i] : i; }

  function lastFrame() { return frames ? frames.length - 1 : steps; }

  // Frames advance at the scene's fps (times the speed) over the GIF's frames; the last one is held for the
  // scene's pause, then the animation loops (or stops).
  function tick(now) {
    if (!playing) return;
    if (clock === null) clock = { start: now, from: frameIndex(step) };
    var rate = data.fps * speed;
    var i = clock.from + Math.floor((now - clock.start) / 1000 * rate);
    var last = lastFrame();
    if (i >= last) {
      setStep(frameStep(last));
      var reached = clock.start + (last - clock.from) / rate * 1000;
      if (now - reached >= 1000 / rate + data.pause * 1000) {
        if (loopBox.checked) {
          clock = { start: now, from: 0 };
          setStep(frameStep(0));
        } else {
          pause();
          return;
        }
      }
    } else {
      setStep(frameStep(i));
    }
    requestAnimationFrame(tick);
  }

  function play() {
    if (playing) return;
    if (step >= steps) setStep(0);
    playing = true;
    clock = null;
    root.classList.add("optviz-playing");
    playButton.setAttribute("aria-label", "Pause");
    requestAnimationFrame(tick);
  }

  function pause() {
    playing = false;
    clock = null;
    root.classList.remove("optviz-playing");
    playButton.setAttribute("aria-label", "Play");
  }

  function seek(k) {
    setStep(k);
    clock = null;
  }

  function state() {
    var rect = canvas.getBoundingClientRect();
    var sx = rect.width / PW, sy = rect.height / PH;
    var left = rect.left + window.scrollX, top = rect.top + window.scrollY;
    return {
      step: step,
      steps: steps,
      playing: playing,
      runs: runs.map(function (run) {
        var i = Math.min(step, run.last), e = entries[run.entry];
        return {
          label: run.label, color: e.color, visible: visible[run.entry],
          x: run.xs[i], y: run.ys[i], loss: run.loss[i], lr: lrAt(run, step),
          px: [left + run.cx[i] * sx, top + run.cy[i] * sy], inView: inView(run.xs[i], run.ys[i])
        };
      })
    };
  }

  // --- hover and tap: the nearest shown point of a visible run ------------------------------------------

  function nearest(event) {
    var rect = canvas.getBoundingClientRect();
    var scale = PW / rect.width;
    var x = (event.clientX - rect.left) * scale, y = (event.clientY - rect.top) * (PH / rect.height);
    var reach = 12 * scale, best = null, bestD = reach * reach;
    runs.forEach(function (run) {
      if (!visible[run.entry]) return;
      var end = Math.min(step, run.last);
      for (var i = 0; i <= end; i++) {
        var dx = run.cx[i] - x, dy = run.cy[i] - y, d = dx * dx + dy * dy;
        if (d <= bestD && inView(run.xs[i], run.ys[i])) { bestD = d; best = { run: run, i: i }; }
      }
    });
    return best;
  }

  function showable(hit) {
    return visible[hit.run.entry] && hit.i <= Math.min(step, hit.run.last);
  }

  // The readout names the point under the pointer (ringed on the canvas): run, step, position, loss, lr.
  function placeTip() {
    var run = tipRun.run, i = tipRun.i, e = entries[run.entry];
    tip.style.setProperty("--c", e.color);
    tip.textContent = run.label + "\nstep " + i + (run.diverged === i ? " (diverged)" : "") +
      "\nx " + coordinate(run.xs[i], view[0], view[1]) + "   y " + coordinate(run.ys[i], view[2], view[3]) +
      "\nloss " + number(run.loss[i]) + "\nlr " + g3(lrAt(run, i));
    tip.hidden = false;
    var rect = canvas.getBoundingClientRect();
    var px = run.cx[i] * (rect.width / PW), py = run.cy[i] * (rect.height / PH);
    var left = px + 12, top = py + 12;
    if (left + tip.offsetWidth > stage.clientWidth) left = Math.max(0, px - 12 - tip.offsetWidth);
    if (top + tip.offsetHeight > rect.height) top = Math.max(0, py - 12 - tip.offsetHeight);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function hideTip() {
    tipRun = null;
    tip.hidden = true;
  }

  function onPointer(event) {
    var hit = nearest(event);
    if (hit === null && tipRun === null) return;
    if (hit !== null && tipRun !== null && hit.run === tipRun.run && hit.i === tipRun.i) return;
    if (hit === null) hideTip();
    else { tipRun = hit; placeTip(); }
    draw();
  }

  // --- layout: overlays scale with the picture; the legend moves below it when too small to read -------

  function layout() {
    var k = stage.clientWidth / W;
    if (!(k > 0)) return;
    root.style.setProperty("--k", String(k));
    var font = data.legend ? data.legend.font : 10;
    root.classList.toggle("optviz-narrow", font * k < 8);
  }

  // --- wiring ----------------------------------------------------------------------------------------------

  function toggle(n) {
    visible[n] = !visible[n];
    legendButtons[n].setAttribute("aria-pressed", String(visible[n]));
    show();
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (tag === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
    if (event.key === " ") { if (playing) pause(); else play(); }
    else if (event.key === "ArrowLeft") { pause(); seek(step - 1); }
    else if (event.key === "ArrowRight") { pause(); seek(step + 1); }
    else if (event.key === "Home") { pause(); seek(0); }
    else if (event.key === "End") { pause(); seek(steps); }
    else return;
    event.preventDefault();
  }

  function wire() {
    playButton.addEventListener("click", function () { if (playing) pause(); else play(); });
    find(".optviz-back").addEventListener("click", function () { pause(); seek(step - 1); });
    find(".optviz-forward").addEventListener("click", function () { pause(); seek(step + 1); });
    slider.addEventListener("input", function () { seek(Number(slider.value)); });
    speedSelect.addEventListener("change", function () { speed = Number(speedSelect.value); clock = null; });
    legendButtons.forEach(function (button, n) { button.addEventListener("click", function () { toggle(n); }); });
    window.addEventListener("keydown", onKey);
    canvas.addEventListener("pointermove", onPointer);
    canvas.addEventListener("pointerdown", onPointer);
    canvas.addEventListener("pointerleave", function (event) {
      if (event.pointerType === "mouse" && tipRun !== null) { hideTip(); draw(); }
    });
    if (typeof ResizeObserver === "function") new ResizeObserver(layout).observe(stage);
    else window.addEventListener("resize", layout);
    layout();
  }

  // --- losses: the function's own formula, run as the program the page holds ---------------------------------

  var OPS = {
    add: function (a, b) { return a + b; }, sub: function (a, b) { return a - b; },
    mul: function (a, b) { return a * b; }, div: function (a, b) { return a / b; },
    pow: Math.pow, neg: function (a) { return -a; }, sin: Math.sin, cos: Math.cos, tan: Math.tan,
    sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh, arctan: Math.atan, exp: Math.exp, log: Math.log,
    log10: Math.log10, sqrt: Math.sqrt, abs: Math.abs, sign: Math.sign
  };

  function losses(xs, ys) {
    var prog = data.formula, v = new Float64Array(prog.length), out = new Float64Array(xs.length);
    for (var k = 0; k < xs.length; k++) {
      for (var i = 0; i < prog.length; i++) {
        var node = prog[i];
        if (typeof node === "number") v[i] = node;
        else if (node === "x") v[i] = xs[k];
        else if (node === "y") v[i] = ys[k];
        else v[i] = node.length === 2 ? OPS[node[0]](v[node[1]]) : OPS[node[0]](v[node[1]], v[node[2]]);
      }
      out[k] = v[prog.length - 1];
    }
    return out;
  }

  function start(arrays) {
    function seq(ref) {
      var s = data.packs[ref[0]].seqs[ref[1]];
      return arrays[ref[0]].subarray(s[0], s[0] + s[1]);
    }
    entries.forEach(function (e) {
      e.members = [];
      e.lrsValues = e.lrs === null ? null : seq(e.lrs);
    });
    runs = data.runs.map(function (r) {
      var run = {
        label: r.label, entry: r.entry, lr: r.lr, diverged: r.diverged,
        xs: seq(r.x), ys: seq(r.y)
      };
      run.loss = r.loss === null ? losses(run.xs, run.ys) : seq(r.loss);
      run.last = run.xs.length - 1;
      var c = toCanvas(run.xs, run.ys);
      run.cx = c[0];
      run.cy = c[1];
      run.cut = r.cut;
      run.arrows = r.arrows;
      if (r.cut) {
        var edge = toCanvas([r.cut[1]], [r.cut[2]]);
        run.cutX = edge[0][0];
        run.cutY = edge[1][0];
      }
      if (r.lossPx) { run.lossX = seq(r.lossPx[0]); run.lossY = seq(r.lossPx[1]); }
      if (r.surfPx) { run.surfX = seq(r.surfPx[0]); run.surfY = seq(r.surfPx[1]); }
      entries[r.entry].members.push(run);
      return run;
    });
    [canvas, find(".optviz-legend"), find(".optviz-counter"), find(".optviz-controls")].forEach(function (shown) {
      if (shown) shown.hidden = false;
    });
    wire();
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    step = still ? steps : 0;
    show();
    window.optvizPlayer = { play: play, pause: pause, seek: seek, state: state };
    window.addEventListener("message", onMessage);
    window.dispatchEvent(new CustomEvent("optviz:ready"));
    if (window.parent !== window) window.parent.postMessage({ optviz: "ready", state: state() }, "*");
    if (!still) play();
  }

  function fail(text) {
    message.textContent = text;
    message.hidden = false;
  }

  Promise.all(data.packs.map(unpack)).then(start, function (error) {
    fail("The player's data could not be read: " + error);
  });
})();
