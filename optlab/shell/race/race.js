// The live race: map, paths, loss curves and learning-rate sensitivity, redrawn in the
// browser on every input event of its learning-rate sliders (Streamlit Custom Components v2,
// in the page, no iframe). The server sends, once per structural change, every optimizer's
// path and loss over its slider's whole grid (a binary blob, optlab/viz/live.py); a drag
// only redraws. When a slider is released (or a key press settles), the chosen values go
// back to Python as the "lrs" state, one rerun that resends no race data.
//
// Drawn on canvases (measured: a redraw of 4 paths, 4 loss curves and 4 sensitivity strips
// takes a few ms; plotly.js would first have to be loaded into the page, 4.6 MB).

// The stylesheet, before the first draw measures the layout (a top-level await: the import of
// this module resolves once it has loaded). Its content-hashed path is filled in by the server.
await new Promise((resolve) => {
  if (document.querySelector("link[data-optlab-race]")) return resolve();
  const link = Object.assign(document.createElement("link"), { rel: "stylesheet" });
  link.href = new URL("__RACE_CSS__", window.location.href).href;
  link.dataset.optlabRace = "1";
  link.onload = link.onerror = () => resolve();
  document.head.appendChild(link);
});

const STORE = new Map(); // race id -> {meta, arrays}: the grids this page has received
const IMAGES = new Map(); // background id -> HTMLImageElement
const UI = new Map(); // component key -> what the user set (survives the reruns' re-invocations)
const MAX_KEPT = 6;
const DPR = () => window.devicePixelRatio || 1;
const perf = (window.__optlabRace = window.__optlabRace || {
  draws: 0, renders: 0, latencies: [], lastPaths: null, commits: 0, bands: {},
});

function decode(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(4, 4 + n)));
  let base = 4 + n;
  base += (4 - (base % 4)) % 4;
  // Copy the array section once into an aligned buffer (typed views need alignment).
  const section = u8.slice(base);
  const arrays = {};
  for (const [name, dtype, offset, count] of header.arrays || []) {
    const Type = dtype === "int32" ? Int32Array : Float32Array;
    arrays[name] = new Type(section.buffer, offset, count);
  }
  return { header, arrays };
}

function remember(map, id, value) {
  map.set(id, value);
  while (map.size > MAX_KEPT) map.delete(map.keys().next().value);
}

// ---------------------------------------------------------------------------------------------
// Small drawing helpers.

function niceTicks(lo, hi, n) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmt(v) {
  if (v === null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(1).replace("e+", "e");
  return String(+v.toPrecision(3));
}

function sizeCanvas(canvas, w, h) {
  const r = DPR();
  if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(h * r);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

function star(ctx, x, y, r) {
  ctx.beginPath();
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 ? r * 0.45 : r;
    ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
  }
  ctx.closePath();
}

function cross(ctx, x, y, r, color) {
  ctx.lineCap = "round";
  for (const [w, c] of [[6, "black"], [3, color]]) {
    ctx.lineWidth = w;
    ctx.strokeStyle = c;
    ctx.beginPath();
    ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
    ctx.stroke();
  }
}

// ---------------------------------------------------------------------------------------------
// One optimizer's run at grid position g, as the browser holds it.

function runOf(race, i, g) {
  const { meta, arrays } = race;
  const P = meta.points;
  const steps = arrays[`steps${i}`];
  const xy = arrays[`xy${i}`].subarray(g * P * 2, (g + 1) * P * 2);
  const loss = arrays[`loss${i}`].subarray(g * P, (g + 1) * P);
  const kept = arrays[`kept${i}`][g];
  const div = arrays[`div${i}`][g];
  let n = 0;
  while (n < P && steps[n] <= kept && !Number.isNaN(xy[2 * n])) n++;
  const last = n < P && !Number.isNaN(xy[2 * n]) ? n + 1 : n; // the last finite point, appended
  const stepAt = (p) => (p < n ? steps[p] : kept);
  const run = { xy, loss, n: last, stepAt, kept, div, final: arrays[`final${i}`][g] };
  if (meta.seeds) { // K seeds per lr: the band, the mini-batch loss, the end points
    const K = meta.seeds;
    run.std = arrays[`lstd${i}`].subarray(g * P, (g + 1) * P);
    run.seen = arrays[`smean${i}`] ? arrays[`smean${i}`].subarray(g * P, (g + 1) * P) : null;
    run.ends = arrays[`ends${i}`].subarray(g * K * 2, (g + 1) * K * 2);
    run.ndiv = arrays[`ndiv${i}`][g];
  }
  return run;
}

// Where ``value`` falls on an increasing grid, as a fractional index (log-linear between
// neighbours); ``null`` outside the grid.
function gridPosition(grid, value) {
  const G = grid.length;
  if (!(value >= grid[0] && value <= grid[G - 1])) return null;
  let g = 0;
  while (g + 1 < G - 1 && grid[g + 1] <= value) g++;
  const a = Math.log(grid[g]), b = Math.log(grid[g + 1]);
  return g + (b > a ? (Math.log(value) - a) / (b - a) : 0);
}

function pointAt(run, s) {
  let p = 0;
  while (p + 1 < run.n && run.stepAt(p + 1) <= s) p++;
  return p;
}

// ---------------------------------------------------------------------------------------------
// The component.

function build(root, header) {
  root.innerHTML = "";
  const el = (tag, cls, parent = root) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  };
  const charts = el("div", "olr-charts");
  const map = el("canvas", "olr-map", charts);
  map.setAttribute("role", "img");
  map.setAttribute("aria-label", "Map of the surface with each optimizer's path (click to start there)");
  const loss = el("canvas", "olr-loss", charts);
  loss.setAttribute("role", "img");
  loss.setAttribute("aria-label", "Loss against step");
  const bar = el("div", "olr-bar");
  const play = el("button", "olr-play", bar);
  play.type = "button";
  const step = el("input", "olr-step", bar);
  step.type = "range";
  step.min = "0";
  step.setAttribute("aria-label", "Step shown");
  const stepLabel = el("span", "olr-steplabel", bar);
  const readout = el("span", "olr-readout", bar);
  const opts = el("div", "olr-opts");
  const status = el("div", "olr-status");
  status.setAttribute("aria-live", "polite");
  return { charts, map, loss, bar, play, step, stepLabel, readout, opts, status };
}

function optionRows(dom, meta, ui, sliders) {
  dom.opts.innerHTML = "";
  dom.rows = meta.opts.map((o, i) => {
    const row = document.createElement("div");
    row.className = "olr-opt";
    const name = document.createElement("div");
    name.className = "olr-name";
    name.innerHTML = `<span class="olr-swatch"></span><b></b>`;
    name.firstChild.style.background = o.color;
    name.lastChild.textContent = o.label;
    row.appendChild(name);
    const input = document.createElement("input");
    input.type = "range";
    input.min = "0";
    input.max = String(o.grid.length - 1);
    input.step = "1";
    input.value = String(ui.g[o.name]);
    input.disabled = !sliders;
    input.setAttribute("aria-label", `${o.label} · learning rate η`);
    input.addEventListener("input", (ev) => dom.h.input(ev, o, i));
    input.addEventListener("change", () => dom.h.change());
    row.appendChild(input);
    const value = document.createElement("output");
    value.className = "olr-value";
    row.appendChild(value);
    const sens = document.createElement("canvas");
    sens.className = "olr-sens";
    sens.setAttribute("role", "img");
    sens.setAttribute("aria-label", `${o.label}: final loss against the learning rate`);
    row.appendChild(sens);
    const note = document.createElement("div");
    note.className = "olr-note";
    row.appendChild(note);
    dom.opts.appendChild(row);
    return { input, value, sens, note };
  });
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue, key } = component;
  if (!data) return;
  const { header, arrays } = decode(data);
  if (header.race_meta) remember(STORE, header.race, { meta: header.race_meta, arrays });
  if (header.image && !IMAGES.has(header.bg)) {
    const img = new Image();
    img.src = header.image.uri;
    remember(IMAGES, header.bg, Object.assign(img, { bounds: header.image.bounds }));
  }
  const race = STORE.get(header.race);
  const missing = [];
  if (header.race && !race) missing.push(header.race);
  if (header.bg && !IMAGES.has(header.bg)) missing.push(header.bg);
  if (missing.length) setTriggerValue("missing", missing);

  let root = parentElement.querySelector(":scope > .olr");
  if (!root) {
    root = document.createElement("div");
    root.className = "olr js-plotly-plot"; // the second class: see ``probe`` below
    parentElement.appendChild(root);
  }
  root.style.setProperty("--olr-font", `${header.ui.font}px`);
  root.classList.toggle("olr-fit", !!header.ui.fit);
  perf.renders += 1;

  // What the user set survives re-invocations. The server's values win, except while the
  // user is moving a slider (``pending``) or just after values were sent back and the server
  // has not echoed them yet (a rerun already in flight carries the old ones).
  let ui = UI.get(key);
  const fresh = !ui || ui.race !== header.race;
  if (!ui) ui = { g: {}, step: null, playing: false, pending: false, sent: null, sentAt: 0 };
  UI.set(key, ui);
  ui.setStateValue = setStateValue;
  const same = (a, b) => !!a && Object.keys(b).every((k) => a[k] === b[k]);
  const echoWait = ui.sent && !same(ui.sent, header.current) && performance.now() - ui.sentAt < 3000;
  if (fresh || (!ui.pending && !echoWait)) {
    ui.g = { ...header.current };
    ui.pending = false;
    if (same(ui.sent, header.current) || fresh) ui.sent = null;
  }
  ui.race = header.race;

  let dom = root._olr;
  if (!dom || fresh || !race || dom.raceId !== header.race) {
    dom = root._olr = build(root, header);
    dom.raceId = race ? header.race : null;
  }
  if (!race) {
    dom.status.textContent = "Loading the race…";
    return;
  }
  const meta = race.meta;
  const T = meta.steps;
  if (ui.step === null || ui.step > T || fresh) ui.step = T;
  dom.step.max = String(T);
  dom.step.value = String(ui.step);
  const img = IMAGES.get(header.bg);

  // --- geometry -------------------------------------------------------------------------
  const font = header.ui.font;
  // Projector mode (``ui.fit``): the sliders stand in a column beside the charts, and the
  // charts take the height left between the race's top and the bottom of the window, so
  // map, loss curves, Play and sliders are all seen without scrolling (``ui.height`` caps it).
  function layout() {
    const fit = !!header.ui.fit;
    const width = Math.max(320, (fit ? dom.charts.clientWidth : root.clientWidth) || 900);
    let h = header.ui.height;
    if (fit) {
      const top = root.getBoundingClientRect().top + window.scrollY;
      const room = window.innerHeight - top - dom.bar.offsetHeight - 1.2 * font;
      h = Math.round(Math.max(240, Math.min(h, room)));
      dom.opts.style.maxHeight = `${h + dom.bar.offsetHeight}px`; // more sliders: it scrolls
    }
    const mapW = Math.round(width * 0.56);
    return { width, h, mapW, lossW: width - mapW - 8 };
  }
  function mapFrame(w, h) {
    const m = { l: 3.6 * font, r: 10, t: 10, b: 2.6 * font };
    let [x0, x1, y0, y1] = meta.bounds;
    const pw = w - m.l - m.r;
    const ph = h - m.t - m.b;
    if (meta.equal) {
      const s = Math.min(pw / (x1 - x0), ph / (y1 - y0));
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      x0 = cx - pw / s / 2; x1 = cx + pw / s / 2; y0 = cy - ph / s / 2; y1 = cy + ph / s / 2;
    }
    const px = (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
    const py = (y) => m.t + ((y1 - y) / (y1 - y0)) * ph;
    const inv = (X, Y) => [x0 + ((X - m.l) / pw) * (x1 - x0), y1 - ((Y - m.t) / ph) * (y1 - y0)];
    return { m, pw, ph, px, py, inv, x0, x1, y0, y1 };
  }

  // --- drawing --------------------------------------------------------------------------
  function drawMap(L) {
    const ctx = sizeCanvas(dom.map, L.mapW, L.h);
    const f = (dom.frame = mapFrame(L.mapW, L.h));
    ctx.save();
    ctx.beginPath();
    ctx.rect(f.m.l, f.m.t, f.pw, f.ph);
    ctx.clip();
    ctx.fillStyle = "#f4f4f4";
    ctx.fillRect(f.m.l, f.m.t, f.pw, f.ph);
    if (img && img.complete && img.naturalWidth) {
      const [bx0, bx1, by0, by1] = img.bounds;
      ctx.drawImage(img, f.px(bx0), f.py(by1), f.px(bx1) - f.px(bx0), f.py(by0) - f.py(by1));
    } else if (img) {
      img.onload = () => draw();
    }
    const probe = [{ name: "click-grid" }];
    meta.opts.forEach((o, i) => {
      const run = runOf(race, i, ui.g[o.name]);
      ctx.lineJoin = "round";
      ctx.lineWidth = 3.5;
      ctx.strokeStyle = o.color;
      ctx.beginPath();
      const xs = [], ys = [];
      for (let p = 0; p < run.n; p++) {
        const X = f.px(run.xy[2 * p]), Y = f.py(run.xy[2 * p + 1]);
        xs.push(run.xy[2 * p]); ys.push(run.xy[2 * p + 1]);
        p ? ctx.lineTo(X, Y) : ctx.moveTo(X, Y);
      }
      ctx.stroke();
      probe.push({ name: o.label, x: xs, y: ys });
      if (run.ends && ui.step >= T) {
        for (let k = 0; k < meta.seeds; k++) {
          const ex = run.ends[2 * k], ey = run.ends[2 * k + 1];
          if (!isFinite(ex) || !isFinite(ey)) continue;
          ctx.beginPath();
          ctx.arc(f.px(ex), f.py(ey), 4, 0, 2 * Math.PI);
          ctx.fillStyle = o.color; ctx.fill();
          ctx.lineWidth = 1; ctx.strokeStyle = "white"; ctx.stroke();
        }
      }
      const p = pointAt(run, ui.step);
      ctx.beginPath();
      ctx.arc(f.px(run.xy[2 * p]), f.py(run.xy[2 * p + 1]), 7, 0, 2 * Math.PI);
      ctx.fillStyle = o.color;
      ctx.fill();
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "white";
      ctx.stroke();
    });
    for (const [x, y, kind] of meta.landmarks) {
      const X = f.px(x), Y = f.py(y);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "black";
      if (kind === "global") {
        star(ctx, X, Y, 11); ctx.fillStyle = "#ffd700"; ctx.fill(); ctx.stroke();
      } else if (kind === "start") {
        ctx.fillStyle = "white"; ctx.fillRect(X - 6, Y - 6, 12, 12); ctx.strokeRect(X - 6, Y - 6, 12, 12);
      } else {
        ctx.beginPath(); ctx.moveTo(X, Y - 7); ctx.lineTo(X + 7, Y); ctx.lineTo(X, Y + 7); ctx.lineTo(X - 7, Y);
        ctx.closePath(); ctx.fillStyle = "white"; ctx.fill(); ctx.stroke();
      }
      probe.push({ name: { global: "global minimum", start: "start" }[kind] || "local minimum", x: [x], y: [y] });
    }
    ctx.restore();
    // Diverged runs: a ✕ where the path leaves the map (or ends), inside the frame.
    meta.opts.forEach((o, i) => {
      const run = runOf(race, i, ui.g[o.name]);
      if (run.div < 0 || ui.step < run.kept) return;
      const p = run.n - 1;
      const X = Math.min(Math.max(f.px(run.xy[2 * p]), f.m.l + 8), f.m.l + f.pw - 8);
      const Y = Math.min(Math.max(f.py(run.xy[2 * p + 1]), f.m.t + 8), f.m.t + f.ph - 8);
      cross(ctx, X, Y, 8, o.color);
    });
    axes(ctx, f, meta.axis_titles[0], meta.axis_titles[1], (v) => fmt(v));
    root.data = probe; // the drawn traces, in the shape plotly's chart element holds them
    perf.lastPaths = probe;
  }

  function axes(ctx, f, xtitle, ytitle, label, ylog = false) {
    ctx.strokeStyle = "#444";
    ctx.lineWidth = 1;
    ctx.strokeRect(f.m.l, f.m.t, f.pw, f.ph);
    ctx.fillStyle = "#222";
    ctx.font = `${Math.round(font * 0.8)}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const v of niceTicks(f.x0, f.x1, 5)) ctx.fillText(label(v), f.px(v), f.m.t + f.ph + 4);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yt = ylog ? logTicks(f.y0, f.y1) : niceTicks(f.y0, f.y1, 5);
    for (const v of yt) ctx.fillText(ylog ? `1e${v}` : label(v), f.m.l - 4, f.py(v));
    ctx.font = `${Math.round(font * 0.85)}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(xtitle, f.m.l + f.pw / 2, f.m.t + f.ph + 2.5 * font);
    ctx.save();
    ctx.translate(Math.max(10, f.m.l - 3.2 * font), f.m.t + f.ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "top";
    ctx.fillText(ytitle, 0, 0);
    ctx.restore();
  }

  function logTicks(lo, hi) {
    const a = Math.ceil(lo), b = Math.floor(hi);
    const every = Math.max(1, Math.ceil((b - a + 1) / 6));
    const out = [];
    for (let e = a; e <= b; e += every) out.push(e);
    return out;
  }

  const ax = meta.axis;
  const yOf = (v) => {
    if (!isFinite(v)) return NaN;
    const y = v - ax.shift;
    return ax.log ? Math.log10(Math.max(y, ax.floor)) : y;
  };
  const yLo = ax.log ? Math.log10(ax.lo) : ax.lo;
  const yHi = ax.log ? Math.log10(ax.hi) : ax.hi;

  function drawLoss(L) {
    const ctx = sizeCanvas(dom.loss, L.lossW, L.h);
    const m = { l: 3.6 * font, r: Math.max(12, 1.1 * font), t: 10, b: 2.6 * font }; // r: room for the last step label
    const pw = L.lossW - m.l - m.r, ph = L.h - m.t - m.b;
    const f = { m, pw, ph, x0: 0, x1: T, y0: yLo, y1: yHi,
      px: (x) => m.l + (x / Math.max(T, 1)) * pw,
      py: (y) => m.t + ((yHi - y) / (yHi - yLo)) * ph };
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, pw, ph);
    ctx.clip();
    ctx.strokeStyle = "#e5e5e5";
    for (const v of ax.log ? logTicks(yLo, yHi) : niceTicks(yLo, yHi, 5)) {
      ctx.beginPath(); ctx.moveTo(m.l, f.py(v)); ctx.lineTo(m.l + pw, f.py(v)); ctx.stroke();
    }
    drawSchedule(ctx, f);
    const notes = [];
    let predicted = false;
    meta.opts.forEach((o, i) => {
      const run = runOf(race, i, ui.g[o.name]);
      const clampY = (y) => f.py(Math.min(Math.max(y, yLo - 1), yHi + 1));
      if (run.std) perf.bands[o.label] = Array.from(run.std.subarray(0, run.n)).map((v) => +v.toPrecision(4));
      if (run.std) { // mean ± one standard deviation over the seeds
        const up = [], down = [];
        for (let p = 0; p < run.n; p++) {
          const m = run.loss[p], sd = run.std[p];
          const hi = yOf(m + sd), lo = yOf(Math.max(m - sd, ax.shift + ax.floor));
          if (!isFinite(hi) || !isFinite(lo)) continue;
          up.push([f.px(run.stepAt(p)), clampY(hi)]);
          down.push([f.px(run.stepAt(p)), clampY(lo)]);
        }
        if (up.length) {
          ctx.beginPath();
          up.forEach(([X, Y], k) => (k ? ctx.lineTo(X, Y) : ctx.moveTo(X, Y)));
          for (let k = down.length - 1; k >= 0; k--) ctx.lineTo(down[k][0], down[k][1]);
          ctx.closePath();
          ctx.globalAlpha = 0.2; ctx.fillStyle = o.color; ctx.fill(); ctx.globalAlpha = 1;
        }
      }
      if (run.seen) { // the mini-batch loss each step saw (mean over seeds), dotted
        ctx.setLineDash([2, 4]); ctx.lineWidth = 2; ctx.strokeStyle = o.color;
        ctx.beginPath();
        let on = false;
        for (let p = 0; p < run.n; p++) {
          const y = yOf(run.seen[p]);
          if (!isFinite(y)) continue;
          on ? ctx.lineTo(f.px(run.stepAt(p)), clampY(y)) : ctx.moveTo(f.px(run.stepAt(p)), clampY(y));
          on = true;
        }
        ctx.stroke(); ctx.setLineDash([]);
      }
      const pred = race.arrays[`pred${i}`];
      if (pred) { // the theory's predicted loss at this lr, dashed
        const P = meta.points, g = ui.g[o.name];
        ctx.setLineDash([8, 5]); ctx.lineWidth = 2; ctx.strokeStyle = o.color;
        ctx.beginPath();
        let on = false;
        for (let p = 0; p < run.n; p++) {
          const y = yOf(pred[g * P + p]);
          if (!isFinite(y)) { on = false; continue; }
          on ? ctx.lineTo(f.px(run.stepAt(p)), clampY(y)) : ctx.moveTo(f.px(run.stepAt(p)), clampY(y));
          on = true;
        }
        ctx.stroke(); ctx.setLineDash([]);
        predicted = true;
      }
      ctx.lineWidth = 3;
      ctx.strokeStyle = o.color;
      ctx.beginPath();
      let started = false;
      for (let p = 0; p < run.n; p++) {
        const y = yOf(run.loss[p]);
        if (!isFinite(y)) continue;
        const X = f.px(run.stepAt(p)), Y = f.py(Math.min(Math.max(y, yLo - 1), yHi + 1));
        started ? ctx.lineTo(X, Y) : ctx.moveTo(X, Y);
        started = true;
      }
      ctx.stroke();
      const p = pointAt(run, ui.step);
      const y = yOf(run.loss[p]);
      if (isFinite(y)) {
        ctx.beginPath();
        ctx.arc(f.px(run.stepAt(p)), f.py(Math.min(Math.max(y, yLo), yHi)), 6, 0, 2 * Math.PI);
        ctx.fillStyle = o.color; ctx.fill();
        ctx.lineWidth = 2; ctx.strokeStyle = "white"; ctx.stroke();
      }
      if (run.div >= 0) notes.push([o, run]);
    });
    ctx.strokeStyle = "rgba(0,0,0,0.45)";
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(f.px(ui.step), m.t); ctx.lineTo(f.px(ui.step), m.t + ph); ctx.stroke();
    ctx.setLineDash([]);
    ctx.restore();
    ctx.font = `${Math.round(font * 0.8)}px sans-serif`;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    notes.forEach(([o, run], k) => {
      const X = f.px(run.kept), Y = m.t + 6 + k * (font + 4);
      ctx.fillStyle = o.color;
      ctx.fillText(`✕ ${o.label}: diverged at step ${run.div}`, Math.min(X + 6, m.l + pw * 0.5), Y);
    });
    if (predicted) {
      ctx.fillStyle = "#444";
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText("dashed: the theory's prediction", m.l + pw - 6, m.t + ph - 6);
    }
    axes(ctx, f, "step", ax.title, (v) => fmt(v), ax.log);
  }

  // The lr schedule (``sched``: η(t)/η per step, shipped when it is not constant), a grey
  // area along the bottom quarter of the loss plot on the same step axis, so warm-up and
  // decay line up with what they do to the loss.
  function drawSchedule(ctx, f) {
    const mult = race.arrays.sched;
    if (!mult || !mult.length) return;
    let top = 0;
    for (const v of mult) if (isFinite(v) && v > top) top = v;
    if (!(top > 0)) return;
    const base = f.m.t + f.ph, band = 0.25 * f.ph;
    const Y = (v) => base - (Math.max(0, isFinite(v) ? v : 0) / top) * band;
    ctx.beginPath();
    ctx.moveTo(f.px(0), base);
    mult.forEach((v, t) => ctx.lineTo(f.px(t), Y(v)));
    ctx.lineTo(f.px(mult.length - 1), base);
    ctx.closePath();
    ctx.fillStyle = "rgba(0, 0, 0, 0.07)";
    ctx.fill();
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    mult.forEach((v, t) => (t ? ctx.lineTo(f.px(t), Y(v)) : ctx.moveTo(f.px(t), Y(v))));
    ctx.stroke();
    ctx.fillStyle = "#555";
    ctx.font = `${Math.round(font * 0.72)}px sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(`grey: learning rate η(t)/η (${meta.schedule || "schedule"})`, f.m.l + f.pw - 6, base - band - 2);
    perf.schedule = mult.length;
  }

  function drawSensitivity(row, o, i) {
    const w = Math.max(160, row.sens.clientWidth || 240), h = Math.round((header.ui.fit ? 1.3 : 2.8) * font);
    row.sens.style.width = "";
    const ctx = sizeCanvas(row.sens, w, h);
    const G = o.grid.length;
    const div = race.arrays[`ndiv${i}`] || race.arrays[`div${i}`], fin = race.arrays[`final${i}`];
    const off = race.arrays[`ndiv${i}`] ? 1 : 0; // seeds: any diverged seed shades the lr
    const X = (g) => 4 + (g / (G - 1)) * (w - 8);
    const gone = (g) => div[g] >= off;
    const ys = Array.from(fin, (v, g) => (gone(g) ? NaN : yOf(v)));
    const ok = ys.filter(isFinite);
    const lo = ok.length ? Math.min(...ok) : 0, hi = ok.length ? Math.max(...ok) : 1;
    const Y = (y) => h - 4 - ((y - lo) / Math.max(hi - lo, 1e-9)) * (h - 8);
    ctx.fillStyle = "rgba(214, 39, 40, 0.16)";
    for (let g = 0; g < G; g++) if (gone(g)) ctx.fillRect(X(g - 0.5), 0, X(g + 0.5) - X(g - 0.5), h);
    ctx.strokeStyle = "#bbb";
    ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
    ctx.strokeStyle = o.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let pen = false;
    ys.forEach((y, g) => {
      if (!isFinite(y)) { pen = false; return; }
      pen ? ctx.lineTo(X(g), Y(y)) : ctx.moveTo(X(g), Y(y));
      pen = true;
    });
    ctx.stroke();
    if (o.bound) { // the theory's stability bound (e.g. 2/L): dotted red, its formula beside
      const gb = gridPosition(o.grid, o.bound[1]);
      if (gb !== null) {
        ctx.strokeStyle = "#d62728"; ctx.lineWidth = 1.5; ctx.setLineDash([3, 3]);
        ctx.beginPath(); ctx.moveTo(X(gb), 0); ctx.lineTo(X(gb), h); ctx.stroke(); ctx.setLineDash([]);
        ctx.fillStyle = "#d62728";
        ctx.font = `${Math.round(font * 0.7)}px sans-serif`;
        ctx.textBaseline = "top";
        ctx.textAlign = X(gb) > w / 2 ? "right" : "left";
        ctx.fillText(o.bound[0], X(gb) + (X(gb) > w / 2 ? -3 : 3), 2);
      }
    }
    const g = ui.g[o.name];
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(X(g), 0); ctx.lineTo(X(g), h); ctx.stroke();
    if (isFinite(ys[g])) {
      ctx.beginPath(); ctx.arc(X(g), Y(ys[g]), 4, 0, 2 * Math.PI); ctx.fillStyle = "#222"; ctx.fill();
    }
  }

  function drawRows() {
    meta.opts.forEach((o, i) => {
      const row = dom.rows[i];
      const g = ui.g[o.name];
      if (String(g) !== row.input.value) row.input.value = String(g);
      row.input.setAttribute("aria-valuetext", o.labels[g]);
      row.value.textContent = `η = ${o.labels[g]}`;
      const run = runOf(race, i, g);
      const bad = run.div >= 0 || run.ndiv > 0;
      if (run.ends) {
        row.note.textContent = run.ndiv > 0
          ? `diverged in ${run.ndiv} of ${meta.seeds} seeds`
          : `final loss ${fmt(run.final)} (mean of ${meta.seeds} seeds)`;
      } else {
        row.note.textContent = bad ? `diverged at step ${run.div}` : `final loss ${fmt(run.final)}`;
      }
      row.note.classList.toggle("olr-bad", bad);
      drawSensitivity(row, o, i);
    });
  }

  function draw() {
    const L = layout();
    drawMap(L);
    drawLoss(L);
    drawRows();
    dom.stepLabel.textContent = `step ${ui.step} / ${T}`;
    dom.play.textContent = ui.playing ? "❚❚ Pause" : "▶ Play";
    dom.play.setAttribute("aria-label", ui.playing ? "Pause the animation" : "Play the animation");
    dom.status.textContent = "";
    perf.draws += 1;
    perf.race = header.race;
  }

  // --- events ---------------------------------------------------------------------------
  function commit() {
    clearTimeout(ui.commitTimer);
    ui.commitTimer = setTimeout(() => {
      ui.pending = false;
      const lrs = {};
      meta.opts.forEach((o) => { lrs[o.name] = o.grid[ui.g[o.name]]; });
      ui.sent = { ...ui.g };
      ui.sentAt = performance.now();
      perf.commits += 1;
      ui.setStateValue("lrs", lrs);
    }, 120);
  }
  function onInput(ev, o) {
    const t0 = ev.timeStamp;
    ui.g[o.name] = Number(ev.target.value);
    ui.pending = true;
    clearTimeout(ui.commitTimer);
    draw();
    const drawn = performance.now();
    requestAnimationFrame(() => {
      perf.latencies.push({ input: t0, drawn, frame: performance.now() });
      if (perf.latencies.length > 5000) perf.latencies.shift();
    });
  }
  dom.h = { input: onInput, change: commit };
  if (!dom.rows || dom.rowsFor !== header.race) {
    optionRows(dom, meta, ui, header.ui.sliders);
    dom.rowsFor = header.race;
  }
  dom.rows.forEach((row) => { row.input.disabled = !header.ui.sliders; });
  dom.step.oninput = () => {
    ui.step = Number(dom.step.value);
    ui.playing = false;
    draw();
  };
  let last = null;
  function tick(now) {
    if (!ui.playing || !root.isConnected) return;
    const perFrame = Math.max(T / 60, 1);
    if (last === null || now - last >= header.ui.frame_ms) {
      last = now;
      ui.step = Math.min(T, Math.round(ui.step + perFrame));
      dom.step.value = String(ui.step);
      if (ui.step >= T) ui.playing = false;
      draw();
    }
    if (ui.playing) requestAnimationFrame(tick);
  }
  dom.play.onclick = () => {
    ui.playing = !ui.playing;
    if (ui.playing && ui.step >= T) ui.step = 0;
    last = null;
    draw();
    if (ui.playing) requestAnimationFrame(tick);
  };
  dom.map.onmousemove = (ev) => {
    const f = dom.frame;
    if (!f) return;
    const r = dom.map.getBoundingClientRect();
    const [x, y] = f.inv(ev.clientX - r.left, ev.clientY - r.top);
    dom.readout.textContent = `(${fmt(x)}, ${fmt(y)}) · click: start here`;
  };
  dom.map.onmouseleave = () => { dom.readout.textContent = ""; };
  dom.map.onclick = (ev) => {
    const f = dom.frame;
    if (!f || !header.ui.click) return;
    const r = dom.map.getBoundingClientRect();
    const [x, y] = f.inv(ev.clientX - r.left, ev.clientY - r.top);
    const [bx0, bx1, by0, by1] = meta.bounds;
    if (x < bx0 || x > bx1 || y < by0 || y > by1) return;
    setTriggerValue("start", [+x.toFixed(3), +y.toFixed(3)]);
  };
  if (ui.playing) requestAnimationFrame(tick);
  draw();
  const observer = new ResizeObserver(() => draw());
  observer.observe(root);
  const onWindow = () => draw(); // fit mode follows the window's height too
  window.addEventListener("resize", onWindow);
  // A commit still waiting on its timer is kept (it lives in ``ui``): the next invocation's
  // closures serve the same race.
  return () => {
    observer.disconnect();
    window.removeEventListener("resize", onWindow);
  };
}
