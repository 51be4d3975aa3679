// The Firewarden console: one page, a view per hash route, kept current by server-sent events.
// Every piece of data comes from /api (which checks the user's role and jurisdiction); the DOM is
// built with el(), never from HTML strings, so nothing the server stores can inject markup.

import { lang, setLang, t, translate } from "/static/i18n.js";

const state = { me: null, meta: null, render: null, ticket: 0, live: null, drafts: new Map() };
const main = document.getElementById("view");

// ---- DOM and formatting -------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.startsWith("#") ? "num" : "" }, t(h.replace(/^#/, "")))))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, t("empty")))));
}

const badge = (kind, label) => el("span", { class: `badge ${kind}` }, label);
const classBadge = (cls) => badge(cls, t(`class.${cls}`));
const tierBadge = (tier) => badge(tier || "unscored", t(`tier.${tier || "unscored"}`));
// replaceChildren prints null and false as text: leave them out.
const show = (...nodes) => main.replaceChildren(...nodes.filter((n) => n !== null && n !== false && n !== undefined));
const premisesLink = (id, name) => el("a", { href: `#/premises/${encodeURIComponent(id)}` }, name ? `${name} (${id})` : id);

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// ---- the API --------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const answer = await fetch(path, { credentials: "same-origin", headers: { "Content-Type": "application/json" }, ...options });
  if (answer.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.hash);
    throw new ApiError(401, "not logged in");
  }
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? answer.statusText);
    throw new ApiError(answer.status, detail);
  }
  return answer.json();
}

const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body ?? {}) });
const canAct = () => state.me && (state.me.role === "operator" || state.me.role === "admin");

// A UITD's GB/T 26875.3 commands: duty check (查岗) and clock sync, with what it answered last.
function uitdCommands(deviceId) {
  const path = `/api/devices/${encodeURIComponent(deviceId)}/gb26875`;
  const status = el("span", { class: "muted uitd-status" });
  const describe = (c) => `${t(`uitd.${c.kind}`)} #${c.serial} ${when(c.sent_at)} · ` + (c.denied_at ? t("uitd.denied")
    : c.answered_at ? `${t("uitd.answered")} ${when(c.answered_at)}` : c.confirmed_at ? t("uitd.confirmed") : t("uitd.waiting"));
  const refresh = () => api(`${path}/commands?limit=1`).then((found) => { status.textContent = found.length ? describe(found[0]) : ""; }).catch(() => {});
  const send = (command) => post(`${path}/${command}`).then((c) => { status.textContent = describe(c); }).catch(flash);
  refresh();
  return el("div", { class: "uitd-commands" },
    el("button", { class: "duty-check", onclick: () => send("duty-check") }, t("uitd.duty_check")),
    el("button", { class: "sync-clock", onclick: () => send("sync-clock") }, t("uitd.sync_clock")),
    status);
}

function flash(error) {
  alert(`${t("error.generic")}: ${error.message}`);
}

// ---- confirmed fires: a banner over every page while any is unresolved ---------------------------

async function refreshFires() {
  const fires = await api("/api/incidents?class=fire&state=unresolved&limit=50");
  const banner = document.getElementById("fires");
  banner.replaceChildren(...fires.map((i) => el("div", { class: "fire-line", dataset: { incident: i.id } },
    el("span", {}, t("fire.banner")),
    premisesLink(i.premises_id, i.premises_name),
    el("span", {}, `${t("col.zone")} ${i.zone}`),
    el("span", { class: "age", dataset: { opened: i.opened_at } }, age((Date.now() - Date.parse(i.opened_at)) / 1000)),
    el("span", {}, t(`state.${i.state}`)),
    canAct() && i.state === "open" ? el("button", { onclick: () => acknowledge(i.id) }, t("acknowledge")) : null)));
  banner.hidden = fires.length === 0;
  banner.classList.toggle("blink", fires.some((i) => i.state === "open"));
  document.title = fires.length ? `(${fires.length}) ${t("fire.banner")} — Firewarden` : "Firewarden";
}

async function acknowledge(id) {
  try { await post(`/api/incidents/${id}/acknowledge`); } catch (error) { flash(error); }
  await Promise.all([refreshFires(), rerender()]);
}

// ---- the resolve dialog: the class's action plan, with its required notes -------------------------

function openResolve(incident) {
  const dialog = document.getElementById("resolve-dialog");
  const plan = state.meta.action_plans[incident.class] || [];
  document.getElementById("resolve-what").textContent = `${incident.premises_name} · ${incident.zone} · ${incident.title}`;
  document.getElementById("resolve-steps").replaceChildren(...plan.map((step) => el("li", {},
    el("div", {}, step[lang()], step.note_required ? el("span", { class: "required" }, ` * ${t("resolve.required")}`) : null),
    el("textarea", { rows: 1, name: `step-${step.id}`, dataset: { step: step.id }, required: step.note_required }))));
  const codes = Object.keys(state.meta.resolutions);
  document.getElementById("resolve-code").replaceChildren(...codes.map((code) => el("option", { value: code }, t(`res.${code}`))));
  document.getElementById("resolve-note").value = "";
  const error = document.getElementById("resolve-error");
  error.hidden = true;
  const form = document.getElementById("resolve-form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const steps = {};
    for (const box of form.querySelectorAll("textarea[data-step]")) if (box.value.trim()) steps[box.dataset.step] = box.value.trim();
    try {
      await post(`/api/incidents/${incident.id}/resolve`, {
        code: document.getElementById("resolve-code").value, note: document.getElementById("resolve-note").value, steps,
      });
      dialog.close();
      await Promise.all([refreshFires(), rerender()]);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  };
  document.getElementById("resolve-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

// ---- views ----------------------------------------------------------------------------------------

function ageClass(incident) {
  if (incident.state !== "open") return "";
  const limit = state.meta.ack_within_s[incident.class];
  if (!limit) return "age-ok";
  const seconds = (Date.now() - Date.parse(incident.opened_at)) / 1000;
  return seconds > limit ? "age-late" : seconds > limit / 2 ? "age-warn" : "age-ok";
}

const queueFilter = { state: "unresolved", cls: "" };

async function queueView(_, show) {
  const params = new URLSearchParams({ state: queueFilter.state, limit: "1000" });
  if (queueFilter.cls) params.set("class", queueFilter.cls);
  const incidents = await api(`/api/incidents?${params}`);
  const select = (values, current, prefix, onchange) => el("select", { onchange },
    values.map((v) => el("option", { value: v, selected: v === current }, v ? t(`${prefix}${v}`) : t("filter.all"))));
  const rows = incidents.map((i) => el("tr", {
    class: `incident cls-${i.class} ${i.state} ${ageClass(i)}`,
    dataset: { incident: i.id, cls: i.class, opened: i.opened_at, state: i.state, age: ageClass(i) },
  },
    el("td", {}, classBadge(i.class)),
    el("td", {}, premisesLink(i.premises_id, i.premises_name)),
    el("td", {}, i.zone),
    el("td", {}, i.title, i.inhibited_by ? el("span", { class: "muted" }, ` (⇣ #${i.inhibited_by})`) : null),
    el("td", {}, t(`state.${i.state}`), i.acknowledged_by ? el("div", { class: "muted" }, i.acknowledged_by) : null),
    el("td", { class: "num" }, i.events),
    el("td", { class: "num age", dataset: { opened: i.opened_at } }, age((Date.now() - Date.parse(i.opened_at)) / 1000)),
    el("td", {}, canAct() && i.state === "open" ? el("button", { class: "ack", onclick: () => acknowledge(i.id) }, t("acknowledge")) : null,
      canAct() && i.state !== "resolved" ? el("button", { class: "resolve", onclick: () => openResolve(i) }, t("resolve")) : null)));
  show(
    el("h1", {}, t("nav.queue"), el("span", { class: "muted" }, ` (${incidents.length})`)),
    el("div", { class: "toolbar" },
      select(["unresolved", "open", "acknowledged", "resolved"], queueFilter.state, "state.", (e) => { queueFilter.state = e.target.value; rerender(); }),
      select(["", "fire", "alarm", "hazard", "supervisory", "trouble", "nuisance"], queueFilter.cls, "class.", (e) => { queueFilter.cls = e.target.value; rerender(); })),
    table(["col.class", "col.premises", "col.zone", "col.title", "col.state", "#col.events", "#col.age", "col.actions"], rows, { id: "queue" }));
}
queueView.tables = ["incidents"];

const CHARTS = [
  ["water_pressure_mpa", ["water_pressure_mpa"]],
  ["residual_current_ma", ["residual_current_ma"]],
  ["temperature", ["cable_temp_c", "temperature_c"]],
  ["tank_level_m", ["tank_level_m"]],
];
const PALETTE = ["#2563eb", "#c81e1e", "#15803d", "#e8740c", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];

function chart(title, series, width, range) {
  // uPlot wants one shared x axis: the union of the series' times, null where a series has no point.
  const xs = [...new Set(series.flatMap((s) => s.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, n) => [x, n]));
  const columns = series.map((s) => { const ys = new Array(xs.length).fill(null); s.t.forEach((x, n) => { ys[index.get(x)] = s.v[n]; }); return ys; });
  const box = el("div", { class: "chart", dataset: { chart: title } }, el("h3", {}, title));
  const metrics = new Set(series.map((s) => s.metric));
  new uPlot({
    width, height: 180,
    scales: { x: { time: true, range: () => range } },
    legend: { show: series.length <= 6 },
    series: [{}, ...series.map((s, n) => ({
      label: metrics.size > 1 ? `${s.device_id} ${s.metric}` : s.device_id || s.metric,
      stroke: PALETTE[n % PALETTE.length], width: 1.5, spanGaps: true, points: { show: s.t.length < 3 },
    }))],
    axes: [{}, { size: 60 }],
  }, [xs, ...columns], box);
  return box;
}

async function premisesView(id, show) {
  const [p, readings, risk] = await Promise.all([
    api(`/api/premises/${encodeURIComponent(id)}`),
    api(`/api/premises/${encodeURIComponent(id)}/readings?hours=24`),
    api(`/api/premises/${encodeURIComponent(id)}/risk?days=30`),
  ]);
  const incidents = await api(`/api/incidents?premises=${encodeURIComponent(id)}`);
  const width = Math.max(320, Math.floor((main.clientWidth - 60) / 2));
  const factors = p.risk?.factors ?? [];
  const devices = p.devices.map((d) => el("tr", { dataset: { device: d.id, state: d.state } },
    el("td", {}, d.id), el("td", {}, d.type), el("td", {}, d.location, d.zone ? ` · ${d.zone}` : ""),
    el("td", {}, badge(d.state === "trouble" ? "trouble-device" : d.state, t(`device.${d.state}`))),
    el("td", {}, Object.entries(d.latest).map(([metric, [value, at]]) => el("div", { title: when(at) }, `${metric} ${Number(value).toFixed(3).replace(/\.?0+$/, "")}`))),
    el("td", {}, d.signals.map((s) => el("div", {}, `${s.rule}${s.subject ? " " + s.subject : ""} · ${when(s.time)}`)),
      d.type === "uitd" && canAct() ? uitdCommands(d.id) : null)));
  const charts = CHARTS.map(([name, metrics]) => [name, readings.filter((s) => metrics.includes(s.metric))])
    .filter(([, series]) => series.length)
    .map(([name, series]) => chart(t(`chart.${name}`), series, width, [Date.now() / 1000 - 24 * 3600, Date.now() / 1000]));
  const riskChart = risk.length
    ? chart(t("chart.score"), [{ device_id: "", metric: t("chart.score"), t: risk.map((r) => Date.parse(r.time) / 1000), v: risk.map((r) => r.score) }],
      width, [Math.min(Date.parse(risk[0].time) / 1000, Date.now() / 1000 - 3600), Date.now() / 1000])
    : el("p", { class: "muted" }, t("empty"));
  show(
    el("h1", {}, p.name, " ", tierBadge(p.tier), p.score !== null && p.score !== undefined ? el("span", { class: "muted" }, ` ${t("col.score")} ${p.score.toFixed(1)}`) : null),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h2", {}, t("premises.profile")),
        el("div", {}, `${t("premises.address")}: ${p.address}`),
        el("div", {}, `${t("premises.category")}: ${p.category}`, p.floors ? ` · ${t("premises.floors")} ${p.floors}` : ""),
        el("div", {}, `${t("col.jurisdiction")}: ${p.jurisdiction_name} (${p.jurisdiction_id})`),
        el("div", {}, `${t("premises.unit")}: ${p.unit_name} · ${p.unit_contact}${p.unit_phone ? " · " + p.unit_phone : ""}`)),
      el("div", { class: "panel" }, el("h2", {}, t("premises.factors")),
        factors.length ? el("ul", { class: "factors" }, factors.map((f) => el("li", {}, `${f.name} = ${f.value} (+${f.points.toFixed(1)})`))) : el("p", { class: "muted" }, t("empty")))),
    el("h2", {}, t("premises.incidents")),
    table(["col.class", "col.zone", "col.title", "col.state", "#col.age"], incidents.map((i) => el("tr", {},
      el("td", {}, classBadge(i.class)), el("td", {}, i.zone), el("td", {}, i.title), el("td", {}, t(`state.${i.state}`)),
      el("td", { class: "num" }, age((Date.now() - Date.parse(i.opened_at)) / 1000))))),
    el("h2", {}, t("premises.devices")),
    table(["col.device", "col.type", "col.location", "col.state", "col.value", "col.signals"], devices, { id: "devices" }),
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, t("premises.readings")), charts.length ? charts : el("p", { class: "muted" }, t("empty"))),
      el("div", {}, el("h2", {}, t("premises.risk")), riskChart)),
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, t("premises.hazards")), table(["col.hazard", "col.state", "col.deadline"], p.hazards.map((h) => el("tr", {},
        el("td", {}, h.title), el("td", {}, t(`hazard.${h.state}`)), el("td", { class: h.overdue_at ? "overdue" : "" }, when(h.deadline)))))),
      el("div", {}, el("h2", {}, t("premises.tasks")), table(["col.kind", "col.reason", "col.due"], p.tasks.map((task) => el("tr", {},
        el("td", {}, task.kind), el("td", {}, task.reason), el("td", {}, when(task.due_at))))))));
}
premisesView.tables = ["incidents", "hazards", "tasks", "premises_schedule"];

const TIER_COLOURS = { red: "#c81e1e", orange: "#e8740c", yellow: "#d4a80b", blue: "#2563eb", unscored: "#9ca3af" };

function drawMap(canvas, points) {
  // Premises with coordinates are placed by longitude and latitude; the others on a schematic grid
  // along the bottom, so that every premises is on the map.
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const located = points.filter((p) => p[2] !== null && p[3] !== null);
  const unplaced = points.filter((p) => p[2] === null || p[3] === null);
  const band = unplaced.length ? 80 : 0;
  const lats = located.map((p) => p[2]), lons = located.map((p) => p[3]);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const placed = [];
  for (const p of located) {
    const x = 10 + ((p[3] - minLon) / (maxLon - minLon || 1)) * (w - 20);
    const y = 10 + (1 - (p[2] - minLat) / (maxLat - minLat || 1)) * (h - band - 20);
    placed.push([x, y, p]);
  }
  const perRow = Math.max(1, Math.floor((w - 20) / 8));
  unplaced.forEach((p, n) => placed.push([10 + (n % perRow) * 8, h - band + 10 + Math.floor(n / perRow) * 8, p]));
  const order = ["unscored", "blue", "yellow", "orange", "red"];
  placed.sort((a, b) => order.indexOf(a[2][4]) - order.indexOf(b[2][4]));
  for (const [x, y, p] of placed) {
    g.fillStyle = TIER_COLOURS[p[4]] || TIER_COLOURS.unscored;
    const radius = (points.length < 500 ? 2 : 1) * (p[4] === "red" ? 4 : 2.5);
    g.beginPath(); g.arc(x, y, radius, 0, 2 * Math.PI); g.fill();
    if (p[5]) { g.strokeStyle = "#c81e1e"; g.lineWidth = 3; g.beginPath(); g.arc(x, y, 10, 0, 2 * Math.PI); g.stroke(); }
  }
  canvas.onclick = (event) => {
    const box = canvas.getBoundingClientRect();
    const cx = event.clientX - box.left, cy = event.clientY - box.top;
    let best = null, bestD = 144;
    for (const [x, y, p] of placed) { const d = (x - cx) ** 2 + (y - cy) ** 2; if (d < bestD) { best = p; bestD = d; } }
    if (best) location.hash = `#/premises/${encodeURIComponent(best[0])}`;
  };
  canvas.title = `${points.length}`;
}

async function overviewView(_, show) {
  const data = await api("/api/overview");
  const card = (kind, label, n) => el("div", { class: `card ${kind}`, dataset: { tier: kind } }, el("div", { class: "muted" }, label), el("div", { class: "n" }, n));
  const canvas = el("canvas", { class: "map", id: "map" });
  const top = data.premises.filter((p) => p[4] === "red" || p[4] === "orange").slice(0, 100);
  show(
    el("h1", {}, t("nav.overview")),
    el("h2", {}, t("overview.tiers")),
    el("div", { class: "cards", id: "tiers" }, ["red", "orange", "yellow", "blue", "unscored"].map((tier) => card(tier, t(`tier.${tier}`), data.tiers[tier] ?? 0))),
    el("div", { class: "cards" },
      card("", t("overview.incidents"), Object.values(data.incidents).reduce((a, b) => a + b, 0)),
      card("", t("class.fire"), data.incidents.fire ?? 0),
      el("a", { href: "#/offline" }, card("", t("overview.offline"), data.offline_devices))),
    el("h2", {}, t("overview.map")), canvas,
    el("h2", {}, t("overview.top")),
    table(["col.premises", "col.tier"], top.map((p) => el("tr", {}, el("td", {}, premisesLink(p[0], p[1])), el("td", {}, tierBadge(p[4]))))));
  drawMap(canvas, data.premises);
}
overviewView.tables = ["incidents", "premises_schedule"];

async function offlineView(_, show) {
  const devices = await api("/api/devices/offline");
  show(el("h1", {}, t("nav.offline"), el("span", { class: "muted" }, ` (${devices.length})`)),
    table(["col.premises", "col.device", "col.type", "col.location", "col.since"], devices.map((d) => el("tr", {},
      el("td", {}, premisesLink(d.premises_id, d.premises_name)), el("td", {}, d.device_id), el("td", {}, d.type ?? "–"),
      el("td", {}, d.location ?? "–"), el("td", {}, when(d.since))))));
}
offlineView.tables = [];

let kpiDays = 30;
async function kpisView(_, show) {
  const data = await api(`/api/kpis?days=${kpiDays}`);
  const share = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
  const row = (r, name, attrs = {}) => el("tr", attrs, el("td", {}, name),
    ...[r.incidents, r.alarms, r.fires].map((n) => el("td", { class: "num" }, n ?? 0)),
    el("td", { class: "num" }, duration(r.ack_p50_s)), el("td", { class: "num" }, duration(r.ack_p90_s)),
    el("td", { class: "num" }, r.unacknowledged ?? 0), el("td", { class: "num" }, share(r.false_alarm_share)),
    el("td", { class: "num" }, r.open_hazards ?? 0), el("td", { class: "num" }, r.overdue_hazards ?? 0));
  show(el("h1", {}, t("nav.kpis")),
    el("div", { class: "toolbar" }, t("kpi.period"), el("select", { onchange: (e) => { kpiDays = Number(e.target.value); rerender(); } },
      [7, 30, 90, 365].map((d) => el("option", { value: d, selected: d === kpiDays }, `${d} ${t("kpi.days")}`)))),
    table(["col.jurisdiction", "#kpi.incidents", "#kpi.alarms", "#kpi.fires", "#kpi.ack_p50", "#kpi.ack_p90", "#kpi.unacknowledged",
      "#kpi.false_share", "#kpi.open_hazards", "#kpi.overdue_hazards"],
    [...data.jurisdictions.map((r) => row(r, r.jurisdiction_name ?? r.jurisdiction_id)), row(data.total, t("kpi.total"), { class: "total" })], { id: "kpis" }));
}
kpisView.tables = ["incidents", "hazards"];

let tasksInspector = "";
async function tasksView(_, show) {
  const own = state.me.role === "inspector";
  const who = own ? "" : tasksInspector;
  const picker = own ? null : el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); tasksInspector = e.target.inspector.value.trim(); rerender(); } },
    el("input", { name: "inspector", placeholder: t("tasks.inspector"), value: tasksInspector }), el("button", { type: "submit" }, t("tasks.show")));
  if (!own && !who) { show(el("h1", {}, t("nav.tasks")), picker); return; }
  const query = who ? `&inspector=${encodeURIComponent(who)}` : "";
  const [today, week, hazards] = await Promise.all([
    api(`/api/tasks?days=1${query}`), api(`/api/tasks?days=7${query}`), api(`/api/hazards?mine=${own}`),
  ]);
  const todayIds = new Set(today.map((x) => x.id));
  const item = (task) => {
    const draft = state.drafts.get(task.id) ?? "";
    const box = el("textarea", { class: "findings", rows: 2, placeholder: t("tasks.findings"), oninput: (e) => state.drafts.set(task.id, e.target.value) });
    box.value = draft;
    const record = async () => {
      const findings = box.value.split("\n").map((s) => s.trim()).filter(Boolean);
      try { await post(`/api/tasks/${task.id}/result`, { findings }); state.drafts.delete(task.id); rerender(); } catch (error) { flash(error); }
    };
    return el("tr", { dataset: { task: task.id } },
      el("td", {}, tierBadge(task.tier)), el("td", {}, premisesLink(task.premises_id, task.premises_name), el("div", { class: "muted" }, task.address)),
      el("td", {}, task.kind), el("td", { class: "reason" }, task.reason), el("td", {}, when(task.due_at)),
      el("td", {}, task.kind === "hazard" ? null : box,
        own || state.me.role === "admin" ? el("button", { class: "primary record", onclick: record }, task.kind === "hazard" ? t("tasks.confirm_fixed") : t("tasks.record")) : null));
  };
  const head = ["col.tier", "col.premises", "col.kind", "col.reason", "col.due", "col.actions"];
  show(el("h1", {}, t("nav.tasks"), who ? ` · ${who}` : ""), picker,
    el("h2", {}, t("tasks.today"), ` (${today.length})`), table(head, today.map(item), { id: "tasks-today" }),
    el("h2", {}, t("tasks.upcoming")), table(head, week.filter((x) => !todayIds.has(x.id)).map(item), { id: "tasks-week" }),
    el("h2", {}, t("nav.hazards")), hazardTable(hazards));
}
tasksView.tables = ["tasks", "hazards"];

function hazardTable(hazards) {
  const close = async (h) => {
    const note = prompt(t("hazards.close"), "");
    if (note === null) return;
    try { await post(`/api/hazards/${h.id}/close`, { note }); rerender(); } catch (error) { flash(error); }
  };
  return table(["col.premises", "col.hazard", "col.state", "col.deadline", "col.inspector", "col.actions"], hazards.map((h) => el("tr", { dataset: { hazard: h.id } },
    el("td", {}, premisesLink(h.premises_id, h.premises_name)), el("td", {}, h.title), el("td", {}, t(`hazard.${h.state}`)),
    el("td", { class: h.overdue ? "overdue" : "" }, when(h.deadline), h.overdue ? ` · ${t("hazards.overdue")}` : ""),
    el("td", {}, h.inspector_id ?? "–"), el("td", {}, el("button", { onclick: () => close(h) }, t("hazards.close"))))));
}

async function hazardsView(_, show) {
  const hazards = await api("/api/hazards");
  show(el("h1", {}, t("nav.hazards"), el("span", { class: "muted" }, ` (${hazards.length})`)), hazardTable(hazards));
}
hazardsView.tables = ["hazards"];

const auditFilter = { subject: "", actor: "", action: "", before: null };
async function auditView(_, show) {
  const params = new URLSearchParams({ limit: "200" });
  for (const key of ["subject", "actor", "action"]) if (auditFilter[key]) params.set(key, auditFilter[key]);
  if (auditFilter.before) params.set("before", auditFilter.before);
  const rows = await api(`/api/audit?${params}`);
  const form = el("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    for (const key of ["subject", "actor", "action"]) auditFilter[key] = e.target[key].value.trim();
    auditFilter.before = null; rerender();
  } }, ["subject", "actor", "action"].map((key) => el("input", { name: key, placeholder: t(`col.${key}`), value: auditFilter[key] })),
  el("button", { type: "submit" }, t("audit.filter")));
  show(el("h1", {}, t("nav.audit")), form,
    table(["col.time", "col.actor", "col.action", "col.subject", "col.details"], rows.map((r) => el("tr", {},
      el("td", {}, when(r.at)), el("td", {}, r.actor), el("td", {}, r.action), el("td", {}, r.subject),
      el("td", { class: "muted" }, JSON.stringify(r.details))))),
    rows.length === 200 ? el("button", { onclick: () => { auditFilter.before = rows[rows.length - 1].id; rerender(); } }, t("audit.older")) : null);
}
auditView.tables = [];

// ---- routing and navigation -----------------------------------------------------------------------

const VIEWS = {
  queue: queueView, premises: premisesView, overview: overviewView, offline: offlineView,
  kpis: kpisView, tasks: tasksView, hazards: hazardsView, audit: auditView,
};

function navItems() {
  const items = state.me.role === "inspector"
    ? ["tasks", "queue", "overview", "hazards", "offline", "kpis"]
    : ["queue", "overview", "offline", "kpis", "hazards", "tasks", "audit"];
  return items;
}

function drawNav(current) {
  document.getElementById("nav").replaceChildren(...navItems().map((name) =>
    el("a", { href: `#/${name}`, class: name === current ? "active" : "", dataset: { nav: name } }, t(`nav.${name}`))));
}

// Every render gets a ticket; a view puts its page up only while its ticket is the newest, so a slow
// render that a route change or a live update overtook cannot cover the page that came after it.
async function rerender() {
  if (!state.render) return;
  const ticket = ++state.ticket;
  const current = (...nodes) => { if (ticket === state.ticket) show(...nodes); };
  try {
    await state.render(current);
  } catch (error) {
    if (error.status !== 401) current(el("p", { class: "error" }, `${error.status ?? ""} ${error.message}`));
  }
}

async function route() {
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const view = VIEWS[name] ? name : navItems()[0];
  drawNav(view);
  state.view = VIEWS[view];
  state.render = (current) => VIEWS[view](arg, current);
  show(el("p", { class: "muted" }, t("loading")));
  const began = performance.now();
  await rerender();
  await new Promise((done) => requestAnimationFrame(() => done()));  // drawn, not only built
  // How long the view took, from the route change to its first frame: read by bench/console.py.
  window.fwRendered = { view, seq: (window.fwRendered?.seq ?? 0) + 1, ms: performance.now() - began };
}

// ---- live updates ---------------------------------------------------------------------------------

let pending = null;
function onChange(change) {
  // Fold bursts: at most one re-read per half second, of the current view and the fire banner.
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    const tables = change.tables;
    if (tables.includes("incidents") || tables.includes("resync")) await refreshFires();
    if (tables.includes("resync") || state.view?.tables?.some((name) => tables.includes(name))) await rerender();
  }, 500);
}

function connectLive() {
  const indicator = document.getElementById("live");
  const set = (on) => { indicator.className = `live ${on ? "on" : "off"}`; indicator.dataset.i18n = on ? "live.on" : "live.off"; indicator.textContent = t(indicator.dataset.i18n); };
  const source = new EventSource("/api/live");
  source.addEventListener("hello", () => { set(true); onChange({ tables: ["resync"] }); });
  source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
  source.onerror = () => set(false);  // EventSource reconnects by itself
  state.live = source;
}

// The ageing colours and ages tick every second without asking the server.
setInterval(() => {
  for (const cell of document.querySelectorAll("[data-opened].age, .age[data-opened]")) {
    cell.textContent = age((Date.now() - Date.parse(cell.dataset.opened)) / 1000);
  }
  if (!state.meta) return;
  for (const row of document.querySelectorAll("tr.incident")) {
    const cls = ageClass({ class: row.dataset.cls, opened_at: row.dataset.opened, state: row.dataset.state });
    if (row.dataset.age === cls) continue;  // touch only the rows whose colour changes
    row.classList.remove("age-ok", "age-warn", "age-late");
    if (cls) row.classList.add(cls);
    row.dataset.age = cls;
  }
}, 1000);

async function start() {
  translate();
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.onclick = () => { setLang(button.dataset.lang); translate(); route(); refreshFires(); };
  }
  document.getElementById("logout").onclick = async () => { await post("/api/auth/logout"); location.href = "/login"; };
  [state.me, state.meta] = await Promise.all([api("/api/me"), api("/api/meta")]);
  document.getElementById("me").textContent = `${state.me.name} · ${state.me.role}`;
  window.addEventListener("hashchange", route);
  await Promise.all([route(), refreshFires()]);
  connectLive();
}

start();
