// archsmith report page: draws the JSON in <script id="data"> with Plotly (inlined).
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const T = D.trials;
  const M = T.metrics;
  const N = T.number.length;
  const OBJ = D.objectives;
  const P = OBJ[0].name;
  const DIR = OBJ[0].direction;
  const MULTI = OBJ.length > 1;
  const CFG = { displaylogo: false, responsive: true };
  const PARCOORDS_LINES = 1000;
  // background scatter points drawn at most (every k-th beyond it): SVG, no WebGL start-up
  const MAX_POINTS = 2000;
  const thin = (arr) => { const k = Math.ceil(arr.length / MAX_POINTS); return k <= 1 ? arr : arr.filter((_, j) => j % k === 0); };
  const rendered = {};
  const index = new Map(T.number.map((n, i) => [n, i]));
  let selected = null;

  const fmt = (v) => {
    if (v === null || v === undefined || v === "") return "";
    if (typeof v !== "number") return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(5));
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const stateOf = (i) => {
    if (!T.feasible[i]) return "infeasible";
    if (T.state[i] === "complete" && D.config.scheduler && T.budget[i] !== null &&
        T.budget[i] !== D.config.epochs) return "pruned";
    return T.state[i];
  };
  const good = (i) => stateOf(i) === "complete" && M[P][i] !== null;
  const better = (a, b) => (DIR === "max" ? a > b : a < b);
  const axisTitle = (o) => `${o.name} (${o.direction})`;
  const layout = (extra) => Object.assign({
    margin: { l: 60, r: 16, t: 36, b: 48 }, hovermode: "closest",
    font: { size: 12 }, showlegend: false,
  }, extra);

  const timings = {};
  function view(name, fn) {
    const t0 = performance.now();
    try { fn(); } catch (e) { console.error(`archsmith report: view ${name} failed`, e); }
    timings[name] = Math.round(performance.now() - t0);
  }

  // -- header ---------------------------------------------------------------------------
  function header() {
    document.getElementById("title").textContent = D.title;
    const c = D.config;
    const done = T.state.filter((s) => s === "complete").length;
    const failed = T.state.filter((s) => s === "failed").length;
    const bits = [
      `strategy <b>${esc(c.strategy)}</b>`, c.scheduler ? `scheduler <b>${esc(c.scheduler)}</b>` : "",
      `objective${MULTI ? "s" : ""} <b>${OBJ.map((o) => esc(axisTitle(o))).join(", ")}</b>`,
      D.constraints.length ? `constraints <b>${D.constraints.map(esc).join(", ")}</b>` : "",
      `<b>${N}</b> trials (${done} complete, ${failed} failed)`, `status <b>${esc(c.status)}</b>`,
      D.knee !== null && MULTI ? `knee: trial <b>${D.knee}</b>` : "",
      D.best !== null ? `exported best: trial <b>${D.best}</b>` : "",
    ];
    document.getElementById("summary").innerHTML = bits.filter(Boolean).join(" · ");
  }

  // -- best so far ------------------------------------------------------------------------
  function progress() {
    const xs = [], ys = [], ts = [], tys = [], allx = [], ally = [];
    let best = null;
    for (let i = 0; i < N; i++) {
      if (!good(i)) continue;
      const v = M[P][i];
      allx.push(T.number[i]); ally.push(v);
      if (best === null || better(v, best)) best = v;
      xs.push(T.number[i]); ys.push(best);
    }
    const order = [...Array(N).keys()].filter((i) => good(i) && T.finished[i] !== null)
      .sort((a, b) => T.finished[a] - T.finished[b]);
    best = null;
    for (const i of order) {
      if (best === null || better(M[P][i], best)) best = M[P][i];
      ts.push(T.finished[i]); tys.push(best);
    }
    Plotly.newPlot("plot-trials", [
      { x: thin(allx), y: thin(ally), type: "scatter", mode: "markers", marker: { size: 4, color: "#cbd5e1" }, name: "trials", hoverinfo: "x+y" },
      { x: xs, y: ys, type: "scatter", mode: "lines", line: { shape: "hv", width: 2, color: "#2563eb" }, name: "best" },
    ], layout({ title: { text: `best ${P} against trials`, font: { size: 13 } },
      xaxis: { title: { text: "trial" } }, yaxis: { title: { text: axisTitle(OBJ[0]) } } }), CFG);
    Plotly.newPlot("plot-time", [
      { x: ts, y: tys, type: "scatter", mode: "lines+markers", marker: { size: 3 }, line: { shape: "hv", width: 2, color: "#059669" } },
    ], layout({ title: { text: `best ${P} against wall-clock time`, font: { size: 13 } },
      xaxis: { title: { text: "seconds since the first trial started" } }, yaxis: { title: { text: axisTitle(OBJ[0]) } } }), CFG);
    rendered.progress = { trials: xs.length, time: ts.length };
  }

  // -- front --------------------------------------------------------------------------------
  let frontTraces = null;
  function front() {
    const hasParams = M.params && M.params.some((v) => v !== null);
    const xo = MULTI ? OBJ[1] : { name: hasParams ? "params" : P, direction: "min" };
    const xm = M[xo.name] || M[P];
    document.getElementById("front-title").textContent = MULTI
      ? `Pareto front: ${axisTitle(OBJ[0])} against ${axisTitle(OBJ[1])} (click a point to select its trial)`
      : `${P} against ${xo.name} (click a point to select its trial)`;
    const pts = { x: [], y: [], n: [], t: [] }, bad = { x: [], y: [], n: [], t: [] }, fr = { x: [], y: [], n: [], t: [] };
    const onFront = new Set(D.pareto);
    for (let i = 0; i < N; i++) {
      if (T.state[i] !== "complete" || M[P][i] === null || xm[i] === null) continue;
      const dst = !T.feasible[i] ? bad : (MULTI && onFront.has(T.number[i])) ? fr : pts;
      dst.x.push(xm[i]); dst.y.push(M[P][i]); dst.n.push(T.number[i]);
      dst.t.push(`trial ${T.number[i]}<br>${esc(T.summary[i]).slice(0, 160)}`);
    }
    const tr = (p, extra) => Object.assign({ x: thin(p.x), y: thin(p.y), customdata: thin(p.n), text: thin(p.t), hoverinfo: "text+x+y" }, extra);
    const traces = [
      tr(pts, { type: "scatter", mode: "markers", name: "trials", marker: { size: 6, color: MULTI ? "#94a3b8" : "#2563eb", opacity: 0.7 } }),
      tr(bad, { type: "scatter", mode: "markers", name: "infeasible", marker: { size: 6, symbol: "x", color: "#7c3aed" } }),
      tr(fr, { type: "scatter", mode: "markers", name: "Pareto front", marker: { size: 10, color: "#dc2626", line: { width: 1, color: "#7f1d1d" } } }),
      { x: [], y: [], customdata: [], type: "scatter", mode: "markers", name: "knee", hoverinfo: "skip", marker: { size: 18, symbol: "star-open", color: "#111", line: { width: 2 } } },
      { x: [], y: [], customdata: [], type: "scatter", mode: "markers", name: "selected", hoverinfo: "skip", marker: { size: 22, symbol: "circle-open", color: "#f59e0b", line: { width: 3 } } },
    ];
    const knee = D.knee !== null && index.has(D.knee) ? index.get(D.knee) : null;
    if (MULTI && knee !== null && xm[knee] !== null) { traces[3].x = [xm[knee]]; traces[3].y = [M[P][knee]]; }
    Plotly.newPlot("plot-front", traces, layout({
      showlegend: true, legend: { orientation: "h", y: -0.2 },
      xaxis: { title: { text: axisTitle(xo) } }, yaxis: { title: { text: axisTitle(OBJ[0]) } },
    }), CFG);
    const el = document.getElementById("plot-front");
    el.on("plotly_click", (ev) => {
      const p = ev && ev.points && ev.points[0];
      if (p && p.customdata !== undefined && p.customdata !== null) select(p.customdata);
    });
    frontTraces = { xm };
    rendered.front = { trials: pts.x.length, infeasible: bad.x.length, pareto: fr.x.length };
    if (MULTI && D.hypervolume) {
      Plotly.newPlot("plot-hv", [{ x: T.number, y: D.hypervolume, type: "scatter", mode: "lines", line: { shape: "hv", color: "#dc2626" } }],
        layout({ title: { text: "hypervolume of the feasible trials so far", font: { size: 13 } },
          xaxis: { title: { text: "trial" } }, yaxis: { title: { text: "hypervolume" } } }), CFG);
      rendered.hypervolume = D.hypervolume.length;
    } else {
      document.getElementById("plot-hv").style.display = "none";
    }
  }

  // -- learning curves ------------------------------------------------------------------------
  function curves() {
    const traces = [];
    const kinds = { complete: 0, pruned: 0, failed: 0, infeasible: 0 };
    for (const [num, pts] of Object.entries(D.curves)) {
      const i = index.get(+num);
      if (i === undefined || !pts.length) continue;
      const k = stateOf(i);
      kinds[k] = (kinds[k] || 0) + 1;
      const style = {
        complete: { dash: "solid", color: "#2563eb" }, pruned: { dash: "dash", color: "#d97706" },
        failed: { dash: "dot", color: "#b91c1c" }, infeasible: { dash: "dot", color: "#7c3aed" },
      }[k] || { dash: "solid", color: "#64748b" };
      traces.push({
        x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), type: "scatter", mode: "lines+markers",
        name: `trial ${num} (${k})`, customdata: pts.map(() => +num), hovertemplate: `trial ${num} (${k}): %{y}<extra></extra>`,
        line: { width: 1.5, dash: style.dash, color: style.color },
        marker: { size: pts.map((_, j) => (j === pts.length - 1 && k === "failed" ? 10 : 3)), symbol: pts.map((_, j) => (j === pts.length - 1 && k === "failed" ? "x" : "circle")) },
      });
    }
    if (!traces.length) {  // e.g. a tabular benchmark: it records final results only
      document.getElementById("plot-curves").innerHTML =
        '<p class="note">No learning curves: the evaluator recorded final results only (a tabular benchmark records no epochs).</p>';
      document.getElementById("plot-curves").style.height = "auto";
      rendered.curves = { lines: 0, ...kinds };
      return;
    }
    Plotly.newPlot("plot-curves", traces, layout({
      title: { text: `${D.curve_metric} per epoch: top trials (solid), stopped early (dashed), failed (dotted, ×)`, font: { size: 13 } },
      xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: D.curve_metric } },
    }), CFG);
    document.getElementById("plot-curves").on("plotly_click", (ev) => {
      const p = ev && ev.points && ev.points[0];
      if (p) select(p.customdata);
    });
    rendered.curves = { lines: traces.length, ...kinds };
  }

  // -- parallel coordinates ----------------------------------------------------------------------
  // drawn on a 2-D canvas: thousands of lines in tens of milliseconds, no WebGL
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(t) {
    const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
    return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f));
  }
  function parcoords() {
    const rows = [...Array(N).keys()].filter(good)
      .sort((a, b) => (DIR === "max" ? M[P][b] - M[P][a] : M[P][a] - M[P][b]));
    const slider = document.getElementById("top-pct");
    // the best PARCOORDS_LINES lines at first; the slider shows more (or fewer)
    slider.value = String(Math.min(100, Math.max(1, Math.floor(100 * PARCOORDS_LINES / Math.max(rows.length, 1)))));
    const box = document.getElementById("plot-parcoords");
    const canvas = document.createElement("canvas");
    box.appendChild(canvas);
    const draw = () => {
      const pct = +slider.value;
      document.getElementById("top-pct-label").textContent = `${pct} %`;
      const keep = rows.slice(0, Math.max(1, Math.ceil(rows.length * pct / 100)));
      const axes = D.decisions.map((d, k) => ({
        label: d.name, ticks: [...(keep.some((i) => T.decisions[i][k] < 0) ? [[-1, "—"]] : []), ...d.choices.map((c, j) => [j, c])],
        value: (i) => T.decisions[i][k],
      }));
      const vals = keep.map((i) => M[P][i]);
      const lo = Math.min(...vals), hi = Math.max(...vals);
      axes.push({ label: P, ticks: null, value: (i) => M[P][i], lo, hi });
      const W = box.clientWidth || 1000, H = box.clientHeight || 380, dpr = window.devicePixelRatio || 1;
      canvas.width = W * dpr; canvas.height = H * dpr;
      canvas.style.width = `${W}px`; canvas.style.height = `${H}px`;
      const g = canvas.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, W, H);
      const left = 70, right = 110, top = 44, bottom = 24;
      const xs = axes.map((_, a) => left + (axes.length > 1 ? a * (W - left - right) / (axes.length - 1) : 0));
      const yOf = (ax, v) => {
        if (ax.ticks) {
          const n = ax.ticks.length, j = ax.ticks.findIndex((t) => t[0] === v);
          return top + (H - top - bottom) * (n > 1 ? 1 - j / (n - 1) : 0.5);
        }
        return top + (H - top - bottom) * (ax.hi > ax.lo ? 1 - (v - ax.lo) / (ax.hi - ax.lo) : 0.5);
      };
      g.lineWidth = 1;
      g.globalAlpha = keep.length > 2000 ? 0.25 : 0.5;
      for (let r = keep.length - 1; r >= 0; r--) {  // the best drawn last, on top
        const i = keep[r];
        const t = hi > lo ? (M[P][i] - lo) / (hi - lo) : 1;
        const [cr, cg, cb] = viridis(DIR === "max" ? t : 1 - t);
        g.strokeStyle = `rgb(${cr},${cg},${cb})`;
        g.beginPath();
        axes.forEach((ax, a) => { const y = yOf(ax, ax.value(i)); if (a) g.lineTo(xs[a], y); else g.moveTo(xs[a], y); });
        g.stroke();
      }
      g.globalAlpha = 1;
      g.fillStyle = "#111"; g.strokeStyle = "#444"; g.font = "11px system-ui, sans-serif";
      axes.forEach((ax, a) => {
        g.beginPath(); g.moveTo(xs[a], top); g.lineTo(xs[a], H - bottom); g.stroke();
        g.textAlign = "center"; g.fillText(ax.label, xs[a], top - (axes.length > 12 && a % 2 ? 4 : 18));
        g.textAlign = "left";
        const ticks = ax.ticks || [[ax.lo, fmt(ax.lo)], [ax.hi, fmt(ax.hi)]];
        for (const [v, text] of ticks) g.fillText(String(text).slice(0, 12), xs[a] + 4, yOf(ax, v) + 4);
      });
      const gx = W - 28;  // colour scale of the objective
      for (let k = 0; k <= 100; k++) {
        const [cr, cg, cb] = viridis(DIR === "max" ? k / 100 : 1 - k / 100);
        g.fillStyle = `rgb(${cr},${cg},${cb})`;
        g.fillRect(gx, top + (H - top - bottom) * (1 - k / 100), 12, (H - top - bottom) / 100 + 1);
      }
      rendered.parcoords = { lines: keep.length, dimensions: axes.length, percent: pct };
    };
    slider.addEventListener("input", draw);
    window.addEventListener("resize", draw);
    draw();
  }

  // -- table ---------------------------------------------------------------------------------------
  const table = { sortKey: null, desc: true, page: 0, size: 50, rows: [] };
  const columns = () => {
    const cols = [{ key: "number", label: "trial", get: (i) => T.number[i] },
      { key: "state", label: "state", get: (i) => stateOf(i) }];
    const shown = [...OBJ.map((o) => o.name), ...Object.keys(M).filter((k) => !OBJ.some((o) => o.name === k))];
    for (const k of shown) if (M[k].some((v) => v !== null)) cols.push({ key: k, label: k, get: (i) => M[k][i] });
    if (D.config.scheduler) cols.push({ key: "budget", label: "epochs", get: (i) => T.budget[i] });
    cols.push({ key: "finished", label: "finished (s)", get: (i) => T.finished[i] });
    cols.push({ key: "arch", label: "architecture", get: (i) => T.summary[i] });
    return cols;
  };
  function filterRows(cols) {
    const q = document.getElementById("table-filter").value.trim();
    let rows = [...Array(N).keys()];
    for (const tok of q.split(/\s+/).filter(Boolean)) {
      const m = tok.match(/^([\w.()-]+)(>=|<=|=|>|<)(.+)$/);
      const col = m && cols.find((c) => c.key === m[1] || c.label === m[1]);
      if (col) {
        const num = Number(m[3]);
        rows = rows.filter((i) => {
          const v = col.get(i);
          if (v === null || v === undefined) return false;
          if (m[2] === "=") return String(v) === m[3] || (!isNaN(num) && v === num);
          const a = Number(v);
          return m[2] === ">" ? a > num : m[2] === "<" ? a < num : m[2] === ">=" ? a >= num : a <= num;
        });
      } else {
        const low = tok.toLowerCase();
        rows = rows.filter((i) => cols.some((c) => String(c.get(i) ?? "").toLowerCase().includes(low)));
      }
    }
    return rows;
  }
  function drawTable() {
    const cols = columns();
    let rows = filterRows(cols);
    const key = table.sortKey || P;
    const col = cols.find((c) => c.key === key) || cols[0];
    const dir = table.sortKey ? (table.desc ? -1 : 1) : (DIR === "max" ? -1 : 1);
    rows.sort((a, b) => {
      const va = col.get(a), vb = col.get(b);
      if (va === null || va === undefined) return 1;
      if (vb === null || vb === undefined) return -1;
      return (va < vb ? -1 : va > vb ? 1 : 0) * dir || T.number[a] - T.number[b];
    });
    table.rows = rows;
    const pages = Math.max(1, Math.ceil(rows.length / table.size));
    table.page = Math.min(table.page, pages - 1);
    const head = document.querySelector("#trials thead");
    head.innerHTML = "<tr>" + cols.map((c) => `<th data-key="${esc(c.key)}">${esc(c.label)}${c.key === table.sortKey ? (table.desc ? " ▼" : " ▲") : ""}</th>`).join("") + "</tr>";
    const body = document.querySelector("#trials tbody");
    body.innerHTML = rows.slice(table.page * table.size, (table.page + 1) * table.size).map((i) => {
      const st = stateOf(i);
      return `<tr data-n="${T.number[i]}" class="${T.number[i] === selected ? "selected" : ""}">` + cols.map((c) => {
        const v = c.get(i);
        const cls = c.key === "arch" ? "arch" : c.key === "state" ? `state-${st}` : "";
        return `<td class="${cls}">${esc(fmt(v))}</td>`;
      }).join("") + "</tr>";
    }).join("");
    document.getElementById("table-count").textContent = `${rows.length} of ${N} trials`;
    document.getElementById("page-label").textContent = `page ${table.page + 1} / ${pages}`;
    rendered.table = { rows: rows.length, shown: body.children.length };
  }
  function tableEvents() {
    document.querySelector("#trials thead").addEventListener("click", (ev) => {
      const th = ev.target.closest("th");
      if (!th) return;
      if (table.sortKey === th.dataset.key) table.desc = !table.desc;
      else { table.sortKey = th.dataset.key; table.desc = true; }
      drawTable();
    });
    document.querySelector("#trials tbody").addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr) select(+tr.dataset.n);
    });
    document.getElementById("table-filter").addEventListener("input", () => { table.page = 0; drawTable(); });
    document.getElementById("page-prev").addEventListener("click", () => { table.page = Math.max(0, table.page - 1); drawTable(); });
    document.getElementById("page-next").addEventListener("click", () => { table.page += 1; drawTable(); });
  }

  // -- the selected trial ----------------------------------------------------------------------------
  function drawGraph(i) {
    const [ids, flat] = T.graph[i];
    const labels = ids.map((k) => D.labels[k]);
    const edges = [];
    for (let k = 0; k + 1 < flat.length; k += 2) edges.push([flat[k], flat[k + 1]]);
    const depth = labels.map(() => 0);
    for (const [a, b] of [...edges].sort((x, y) => x[0] - y[0] || x[1] - y[1])) depth[b] = Math.max(depth[b], depth[a] + 1);
    for (let pass = 0; pass < labels.length; pass++) {
      let changed = false;
      for (const [a, b] of edges) if (depth[b] < depth[a] + 1) { depth[b] = depth[a] + 1; changed = true; }
      if (!changed) break;
    }
    const layers = [];
    labels.forEach((_, n) => { (layers[depth[n]] = layers[depth[n]] || []).push(n); });
    const W = 150, H = 26, DX = 170, DY = 44;
    const width = Math.max(...layers.map((l) => (l ? l.length : 0))) * DX + 20;
    const pos = {};
    layers.forEach((l, d) => (l || []).forEach((n, k) => {
      pos[n] = { x: 10 + k * DX + (width - 20 - l.length * DX) / 2, y: 10 + d * DY };
    }));
    const svg = document.getElementById("arch-graph");
    const height = layers.length * DY + 10;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.style.height = `${Math.min(height, 900)}px`;
    const parts = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#9ca3af"/></marker></defs>'];
    for (const [a, b] of edges) {
      const p = pos[a], q = pos[b];
      const x1 = p.x + W / 2, y1 = p.y + H, x2 = q.x + W / 2, y2 = q.y;
      parts.push(`<path class="edge" d="M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}"/>`);
    }
    labels.forEach((lab, n) => {
      const p = pos[n];
      const io = n === 0 || n === labels.length - 1 ? " io" : "";
      const text = lab.length > 24 ? lab.slice(0, 23) + "…" : lab;
      parts.push(`<g class="node${io}"><title>${esc(lab)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}"/><text x="${p.x + W / 2}" y="${p.y + 17}" text-anchor="middle">${esc(text)}</text></g>`);
    });
    svg.innerHTML = parts.join("");
    rendered.graph = { nodes: labels.length, edges: edges.length };
  }
  function details(i) {
    const n = T.number[i];
    document.getElementById("selected-title").textContent =
      `Selected trial ${n}${n === D.knee && MULTI ? " (knee)" : ""}${n === D.best ? " (exported best)" : ""} — ${stateOf(i)}`;
    const rows = Object.keys(M).filter((k) => M[k][i] !== null).map((k) => `<tr><td>${esc(k)}</td><td><b>${esc(fmt(M[k][i]))}</b></td></tr>`);
    const dec = D.decisions.map((d, k) => (T.decisions[i][k] >= 0 ? `${esc(d.name)}=${esc(d.choices[T.decisions[i][k]])}` : "")).filter(Boolean);
    const err = D.errors[String(n)];
    document.getElementById("selected-details").innerHTML =
      `<table>${rows.join("")}</table><p>${dec.join(" · ")}</p>` +
      (err ? `<p class="state-failed">${esc(err)}</p>` : "") +
      `<p>export it: <code>archsmith export OUT --trial ${n}</code></p>`;
  }
  function select(n) {
    const i = index.get(+n);
    if (i === undefined) return;
    selected = +n;
    view("graph", () => drawGraph(i));
    view("details", () => details(i));
    if (frontTraces) {  // the ring marks the selected trial (none for one not plotted)
      const shown = T.state[i] === "complete" && frontTraces.xm[i] !== null && M[P][i] !== null;
      Plotly.restyle("plot-front", { x: [shown ? [frontTraces.xm[i]] : []], y: [shown ? [M[P][i]] : []] }, [4]);
    }
    document.querySelectorAll("#trials tbody tr").forEach((tr) => tr.classList.toggle("selected", +tr.dataset.n === selected));
  }

  // -- go ------------------------------------------------------------------------------------------------
  const t0 = performance.now();
  view("header", header);
  view("progress", progress);
  view("front", front);
  view("curves", curves);
  view("parcoords", parcoords);
  view("table", () => { tableEvents(); drawTable(); });
  const first = D.knee !== null ? D.knee : D.best !== null ? D.best : (T.number.find((_, i) => good(i)) ?? T.number[0]);
  if (first !== undefined) select(first);
  window.archsmithReport = { data: D, rendered, select, selected: () => selected, timings, renderMs: performance.now() - t0 };
  document.body.setAttribute("data-ready", "1");
})();
