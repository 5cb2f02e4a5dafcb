// archsmith bench page: strategies side by side (data in <script id="data">).
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const CFG = { displaylogo: false, responsive: true };
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const names = Object.keys(D.curves);
  const color = (s) => COLORS[names.indexOf(s) % COLORS.length];
  const rendered = {};
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const fmt = (v) => (v === null || v === undefined ? "—" : typeof v === "number" ? String(+v.toPrecision(4)) : String(v));
  const what = D.multi ? "normalised hypervolume" : `best-so-far ${D.objective}`;
  const layout = (extra) => Object.assign({ margin: { l: 60, r: 16, t: 36, b: 48 }, hovermode: "x unified", legend: { orientation: "h", y: -0.22 } }, extra);
  function view(name, fn) { try { fn(); } catch (e) { console.error(`archsmith bench page: view ${name} failed`, e); } }

  function bands(xs, c, s) {
    const up = c.mean.map((m, i) => (m === null ? null : m + (c.sem[i] || 0)));
    const lo = c.mean.map((m, i) => (m === null ? null : m - (c.sem[i] || 0)));
    return [
      { x: xs, y: up, mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false, type: "scatter" },
      { x: xs, y: lo, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: color(s) + "33", hoverinfo: "skip", showlegend: false, type: "scatter" },
      { x: xs, y: c.mean, mode: "lines", name: s, line: { color: color(s), width: 2 }, type: "scatter" },
    ];
  }
  function header() {
    document.getElementById("title").textContent = D.title;
    document.getElementById("summary").innerHTML = `${esc(what)} · ${D.seeds} seeds · ${D.budget} queries per run · <code>${esc(D.command)}</code>`;
    document.getElementById("curves-title").textContent = `${what}: mean ± s.e. over ${D.seeds} seeds`;
  }
  function queries() {
    const traces = names.flatMap((s) => bands(D.curves[s].mean.map((_, i) => i + 1), D.curves[s], s));
    Plotly.newPlot("plot-queries", traces, layout({ title: { text: "against queries", font: { size: 13 } }, xaxis: { title: { text: "queries" } }, yaxis: { title: { text: what } } }), CFG);
    rendered.curves = names.length;
    if (D.time) {
      const xs = D.time.grid_seconds.map((t) => t / 3600);
      Plotly.newPlot("plot-time", names.flatMap((s) => bands(xs, D.time.curves[s], s)), layout({ title: { text: `against simulated time, ${D.time.workers_sim} workers`, font: { size: 13 } }, xaxis: { title: { text: "hours" } }, yaxis: { title: { text: D.multi ? `best-so-far ${D.multi.objectives[0]}` : what } } }), CFG);
      rendered.time = names.length;
    } else {
      document.getElementById("plot-time").style.display = "none";
    }
  }
  function fronts() {
    if (!D.multi) { document.getElementById("panel-fronts").style.display = "none"; return; }
    const traces = [];
    let points = 0;
    for (const s of names) {
      const runs = D.fronts[s] || [];
      const xs = [], ys = [], txt = [];
      runs.forEach((run, k) => run.forEach((p) => { xs.push(p[1]); ys.push(p[0]); txt.push(`${s}, seed ${k}`); }));
      points += xs.length;
      traces.push({ x: xs, y: ys, text: txt, type: xs.length > 3000 ? "scattergl" : "scatter", mode: "markers", name: s, marker: { size: 5, color: color(s), opacity: 0.55 }, hoverinfo: "text+x+y" });
    }
    const [o0, o1] = D.multi.objectives, [d0, d1] = D.multi.directions;
    const tf = [...D.true_front].sort((a, b) => a[1] - b[1]);
    // a staircase only for two objectives (with more, the 2-D view of the front is points)
    const two = D.multi.objectives.length === 2;
    traces.push({ x: tf.map((p) => p[1]), y: tf.map((p) => p[0]), type: "scatter", mode: two ? "lines+markers" : "markers", line: { shape: d1 === "max" ? "vh" : "hv", dash: "dash", color: "#111" }, marker: { size: 7, color: "#111" }, name: "true front" });
    Plotly.newPlot("plot-fronts", traces, layout({ hovermode: "closest", xaxis: { title: { text: `${o1} (${d1})` } }, yaxis: { title: { text: `${o0} (${d0})` } } }), CFG);
    rendered.fronts = { strategies: names.length, points, true_front: tf.length };
  }
  function table() {
    const cps = Object.keys(D.stats[names[0]].at);
    const refs = Object.keys(D.references);
    const cols = [["strategy", (s) => s], ...cps.map((c) => [`@${c}`, (s) => D.stats[s].at[c].mean]),
      ...refs.map((r) => [`vs ${r} [95 % CI]`, (s) => { const v = D.stats[s].vs_reference[r]; return v ? v.diff : null; }]),
      ["s/query", (s) => D.stats[s].seconds_per_query]];
    let key = 1, desc = true;
    const draw = () => {
      const rows = [...names].sort((a, b) => { const va = cols[key][1](a), vb = cols[key][1](b); return ((va < vb ? -1 : va > vb ? 1 : 0) * (desc ? -1 : 1)); });
      document.querySelector("#trials thead").innerHTML = "<tr>" + cols.map((c, i) => `<th data-i="${i}">${esc(c[0])}${i === key ? (desc ? " ▼" : " ▲") : ""}</th>`).join("") + "</tr>";
      document.querySelector("#trials tbody").innerHTML = rows.map((s) => "<tr>" + cols.map((c, i) => {
        if (i > cps.length && i <= cps.length + refs.length) {
          const v = D.stats[s].vs_reference[refs[i - cps.length - 1]];
          return `<td>${v ? `${fmt(v.diff)} [${fmt(v.low)}, ${fmt(v.high)}]` : "—"}</td>`;
        }
        const v = c[1](s);
        return `<td>${esc(i > 0 && i <= cps.length ? `${fmt(v)} ± ${fmt(D.stats[s].at[cps[i - 1]].sem)}` : fmt(v))}</td>`;
      }).join("") + "</tr>").join("");
      rendered.table = rows.length;
    };
    document.querySelector("#trials thead").addEventListener("click", (ev) => {
      const th = ev.target.closest("th"); if (!th) return;
      const i = +th.dataset.i; if (i === key) desc = !desc; else { key = i; desc = true; } draw();
    });
    draw();
  }
  view("header", header); view("queries", queries); view("fronts", fronts); view("table", table);
  window.archsmithReport = { data: D, rendered };
  document.body.setAttribute("data-ready", "1");
})();
