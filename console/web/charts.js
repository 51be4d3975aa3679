// Charts (uPlot, vendored) and the city map (a canvas, optional tiles from the centre's own server).

import { el } from "/static/dom.js";
import { lang, t, word } from "/static/i18n.js";

export const PALETTE = ["#2563eb", "#c81e1e", "#15803d", "#e8740c", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];
export const TIER_COLOURS = { red: "#c81e1e", orange: "#e8740c", yellow: "#d4a80b", blue: "#2563eb", unscored: "#9ca3af" };
// A live state's ring on the map: the colours of the class badges (style.css).
export const LIVE_COLOURS = { fire: "#c81e1e", alarm: "#e8740c", hazard: "#e8740c", supervisory: "#d4a80b", trouble: "#7c3aed" };

// Time series on one shared x axis (the union of the series' times, null where a series has no point).
// Both axes fit the data shown: a few minutes of data fill the chart, not a sliver of a day. Times read
// in the page's language, 24-hour, the year only when it is not this one (uPlot's own are US-style).
const locale = () => (lang() === "zh" ? "zh-CN" : "en-GB");
const dateOf = (x) => new Date(x * 1000);
const thisYear = (x) => dateOf(x).getFullYear() === new Date().getFullYear();
const day = (x) => dateOf(x).toLocaleDateString(locale(), { day: "numeric", month: "short", ...(thisYear(x) ? {} : { year: "numeric" }) });
const clock = (x) => dateOf(x).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const moment = (x) => `${day(x)} ${clock(x)}`;
const tick = (x, step) => (step >= 86_400 ? day(x) : clock(x));
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];  // counts tick whole
export function timeChart(title, series, width, { height = 180, legend = series.length <= 6, label, integer = false } = {}) {
  const xs = [...new Set(series.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, n) => [x, n]));
  const columns = series.map((s) => { const ys = new Array(xs.length).fill(null); s.t.forEach((x, n) => { ys[index.get(x)] = s.v[n]; }); return ys; });
  const box = el("div", { class: "chart", dataset: { chart: title } }, el("h3", {}, title));
  const metrics = new Set(series.map((s) => s.metric));
  // The data's own extent, a little padded (uPlot stretches a single point over 1000 days).
  const [first, last] = xs.length ? [xs[0], xs[xs.length - 1]] : [Date.now() / 1000 - 3600, Date.now() / 1000];
  const pad = Math.max((last - first) * 0.02, 30);
  new uPlot({
    width, height,
    scales: { x: { time: true, range: () => [first - pad, last + pad] } },
    legend: { show: legend },
    series: [{ label: t("chart.time"), value: (u, v) => (v === null || v === undefined ? "–" : moment(v)) }, ...series.map((s, n) => ({
      label: label ? label(s) : metrics.size > 1 ? `${s.device_id} ${word("metric", s.metric)}` : s.device_id || word("metric", s.metric),
      stroke: s.stroke ?? PALETTE[n % PALETTE.length], width: 1.5, spanGaps: true, points: { show: s.t.length < 3 },
    }))],
    axes: [{ values: (u, splits, axis, space, step) => splits.map((x) => tick(x, step)) }, { size: 60, ...(integer ? { incrs: COUNT_STEPS } : {}) }],
  }, [xs, ...columns], box);
  return box;
}

// Bars per category (a jurisdiction): one group per category, one bar per series; plain SVG, the
// numbers in each bar's tooltip and in the table under the chart.
const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

// How wide a label is at 11 px: a Chinese character about 11 px, another about 6.5.
const widthOf = (text) => [...text].reduce((w, c) => w + (c.codePointAt(0) >= 0x2e80 ? 11 : 6.5), 0);

// A label in lines no wider than ``px``, broken at spaces when it has them (a Chinese name, which has
// none, between any two characters); past three lines the third ends in … (the whole name is the title).
function wrap(text, px) {
  const spaced = text.includes(" ");
  const parts = spaced ? text.split(" ") : [...text];
  const lines = [];
  let line = "";
  for (const part of parts) {
    const next = line ? line + (spaced ? " " : "") + part : part;
    if (widthOf(next) > px && line) { lines.push(line); line = part; } else line = next;
  }
  if (line) lines.push(line);
  return lines.length > 3 ? [...lines.slice(0, 2), `${lines[2]}…`] : lines;
}

// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``raw`` (and whole: counts tick 0, 1, 2).
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= raw - 1e-9);
  return step < 1 ? 1 : step;
}

export function barChart(title, categories, series, width, { height = 220, format = (v) => String(v) } = {}) {
  const box = el("div", { class: "chart bars", dataset: { chart: title } }, el("h3", {}, title));
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  if (!values.length) {  // nothing measured: say so, rather than an axis of made-up ticks
    box.append(el("p", { class: "muted empty-chart" }, t("empty")));
    return box;
  }
  const top = 4 * niceStep((Math.max(...values, 0) || 1) / 4);  // ticks at round numbers: 0, 5, 10, 15, 20
  // at least four slots, so a lone jurisdiction's bars are bars, not the chart's width
  const left = 56, slot = (width - left - 10) / Math.max(4, categories.length);
  const names = categories.map((name) => wrap(name, slot - 6));  // a name is not cut: it takes more lines
  const extra = 12 * (Math.max(1, ...names.map((lines) => lines.length)) - 1);
  height += extra;
  const bottom = 40 + extra, plot = [width - left - 10, height - bottom - 24];
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  for (let k = 0; k <= 4; k++) {
    const y = 10 + plot[1] - (plot[1] * k) / 4;
    root.append(svg("line", { x1: left, x2: left + plot[0], y1: y, y2: y, stroke: "#e5e7eb" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" }, format((top * k) / 4)));
  }
  const bar = (slot * 0.8) / Math.max(1, series.length);
  categories.forEach((name, n) => {
    series.forEach((s, m) => {
      const v = s.values[n];
      if (v === null || v === undefined) return;
      const hgt = (plot[1] * v) / top, x = left + n * slot + slot * 0.1 + m * bar;
      root.append(svg("rect", { x, y: 10 + plot[1] - hgt, width: Math.max(1, bar - 2), height: hgt, fill: PALETTE[m % PALETTE.length] },
        svg("title", {}, `${name} · ${s.label}: ${format(v)}`)));
    });
    root.append(svg("text", { x: left + n * slot + slot / 2, y: 10 + plot[1] + 16, "text-anchor": "middle", "font-size": 11, fill: "#374151" },
      ...names[n].map((line, k) => svg("tspan", { x: left + n * slot + slot / 2, dy: k ? 12 : 0 }, line)), svg("title", {}, name)));
  });
  series.forEach((s, m) => {
    const x = left + m * 150;
    root.append(svg("rect", { x, y: height - 14, width: 10, height: 10, fill: PALETTE[m % PALETTE.length] }),
      svg("text", { x: x + 14, y: height - 5, "font-size": 11, fill: "#374151" }, s.label));
  });
  box.append(root);
  return box;
}

// ---- the map: Web Mercator, fitted to the premises and the boundaries, tiles only when configured ----

const mercator = (lon, lat) => {
  const phi = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
  return [(lon + 180) / 360, (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2];
};

function rings(boundary) {
  return boundary.type === "Polygon" ? boundary.coordinates : boundary.coordinates.flat();
}

export function drawMap(box, data, tileUrl, onPick) {
  const canvas = el("canvas", { class: "map", id: "map" });
  box.replaceChildren(canvas);
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const located = data.premises.filter((p) => p[2] !== null && p[3] !== null);
  const unplaced = data.premises.filter((p) => p[2] === null || p[3] === null);
  const band = unplaced.length ? 60 : 0;
  // The extent of everything drawn, padded so that no point or outline touches the edge.
  const projected = [
    ...located.map((p) => mercator(p[3], p[2])),
    ...data.boundaries.flatMap((j) => rings(j.boundary).flat().map(([lon, lat]) => mercator(lon, lat))),
  ];
  const xs = projected.map((p) => p[0]), ys = projected.map((p) => p[1]);
  let [x0, x1, y0, y1] = projected.length ? [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)] : [0, 1, 0, 1];
  const padX = (x1 - x0) * 0.06 || 0.0005, padY = (y1 - y0) * 0.06 || 0.0005;
  x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
  const area = [w - 20, h - band - 20];
  const scale = Math.min(area[0] / (x1 - x0), area[1] / (y1 - y0));  // one scale: shapes keep their form
  const offX = 10 + (area[0] - (x1 - x0) * scale) / 2, offY = 10 + (area[1] - (y1 - y0) * scale) / 2;
  const at = (lon, lat) => { const [x, y] = mercator(lon, lat); return [offX + (x - x0) * scale, offY + (y - y0) * scale]; };

  const placed = located.map((p) => [...at(p[3], p[2]), p]);
  const perRow = Math.max(1, Math.floor((w - 20) / 8));
  unplaced.forEach((p, n) => placed.push([10 + (n % perRow) * 8, h - band + 10 + Math.floor(n / perRow) * 8, p]));
  const order = ["unscored", "blue", "yellow", "orange", "red"];
  placed.sort((a, b) => order.indexOf(a[2][4]) - order.indexOf(b[2][4]));

  const overlay = () => {
    for (const j of data.boundaries) {
      g.strokeStyle = j.kind === "city" ? "#374151" : j.kind === "district" ? "#6b7280" : "#9ca3af";
      g.lineWidth = j.kind === "city" ? 2 : j.kind === "district" ? 1.5 : 1;
      g.setLineDash(j.kind === "grid" ? [4, 3] : []);
      for (const ring of rings(j.boundary)) {
        g.beginPath();
        ring.forEach(([lon, lat], n) => { const [x, y] = at(lon, lat); if (n) g.lineTo(x, y); else g.moveTo(x, y); });
        g.closePath(); g.stroke();
      }
    }
    g.setLineDash([]);
    for (const [x, y, p] of placed) {
      g.fillStyle = TIER_COLOURS[p[4]] || TIER_COLOURS.unscored;
      const radius = (data.premises.length < 500 ? 2 : 1) * (p[4] === "red" ? 4 : 2.5);
      g.beginPath(); g.arc(x, y, radius, 0, 2 * Math.PI); g.fill();
      if (p[6]) {  // a live state rings the tier's dot in its class's colour (a fire pulses besides)
        g.strokeStyle = LIVE_COLOURS[p[6]] || LIVE_COLOURS.trouble; g.lineWidth = 2;
        g.beginPath(); g.arc(x, y, radius + 3, 0, 2 * Math.PI); g.stroke();
      }
    }
  };
  const tiles = tileUrl ? tileLayer(g, tileUrl, [x0, x1, y0, y1], scale, offX, offY, w, h, overlay) : null;
  if (!tiles) overlay();

  // Fires pulse: rings animated by CSS over the canvas, so the map itself is drawn once.
  for (const [x, y, p] of placed) {
    if (p[5]) box.append(el("span", { class: "fire-pulse", style: `left:${x}px;top:${y}px`, title: p[1], dataset: { premises: p[0] } }));
  }
  box.dataset.boundaries = String(data.boundaries.length);
  canvas.onclick = (event) => {
    const rect = canvas.getBoundingClientRect();
    const cx = event.clientX - rect.left, cy = event.clientY - rect.top;
    let best = null, bestD = 144;
    for (const [x, y, p] of placed) { const d = (x - cx) ** 2 + (y - cy) ** 2; if (d < bestD) { best = p; bestD = d; } }
    if (best) onPick(best[0]);
  };
  canvas.title = `${data.premises.length} · ${data.boundaries.map((j) => j.name).join(", ")}`;
}

// Tiles of the centre's own server ({z}/{x}/{y}) under the overlay; redrawn as they arrive.
function tileLayer(g, url, [x0, x1, y0, y1], scale, offX, offY, w, h, overlay) {
  const z = Math.max(0, Math.min(19, Math.round(Math.log2(scale / 256))));
  const n = 2 ** z;
  const images = [];
  const draw = () => {
    g.clearRect(0, 0, w, h);
    for (const image of images) if (image.complete && image.naturalWidth) g.drawImage(image, image.dataset.x, image.dataset.y, image.dataset.s, image.dataset.s);
    overlay();
  };
  for (let tx = Math.floor(x0 * n); tx <= Math.floor(x1 * n); tx++) {
    for (let ty = Math.floor(y0 * n); ty <= Math.floor(y1 * n); ty++) {
      const image = new Image();
      Object.assign(image.dataset, { x: offX + (tx / n - x0) * scale, y: offY + (ty / n - y0) * scale, s: scale / n });
      image.onload = draw;
      image.src = url.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
      images.push(image);
    }
  }
  draw();
  return images;
}

export const tierName = (tier) => word("tier", tier);
