// The Firewarden console: one page, a view per hash route, kept current by server-sent events.
// Every piece of data comes from /api (which checks the user's role and jurisdiction); the DOM is
// built with el(), never from HTML strings, so nothing the server stores can inject markup.

import { actorName, detailsText, factorName, subjectName, lang, render, setLang, t, translate, word } from "/static/i18n.js";
import {
  age, api, badge, classBadge, dueCell, duration, el, flash, ifClosedList, liveBadge, pagedTable, post, premisesLink, relative,
  riskTier, table, tierBadge, when,
} from "/static/dom.js";
import { barChart, drawMap, LIVE_COLOURS, TIER_COLOURS, timeChart } from "/static/charts.js";
import { checklistPanel, checklistPanelNow, checksOf, forget } from "/static/checklist.js";
import { noticesAndDraws } from "/static/supervision.js";
import { unitView as unitPage } from "/static/portal.js";
import { casesView as casesPage } from "/static/enforcement.js";

const state = { me: null, meta: null, render: null, ticket: 0, live: null, drafts: new Map(), hours: 24, openChecklists: new Set() };
const main = document.getElementById("view");
// replaceChildren prints null and false as text: leave them out. The field being typed in (one with a
// data-field key) keeps the focus and the caret across the redraw, so a live refresh in the middle
// of a word loses no keystroke.
const show = (...nodes) => {
  const active = main.contains(document.activeElement) ? document.activeElement : null;
  const field = active?.dataset?.field;
  const caret = field ? [active.selectionStart, active.selectionEnd] : null;
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== false && n !== undefined));
  const again = field ? main.querySelector(`[data-field="${CSS.escape(field)}"]`) : null;
  if (!again) return;
  again.focus();
  if (caret[0] !== null && caret[0] !== undefined) again.setSelectionRange(...caret);
};
const titleOf = (row) => render(row.label, row.title);

// What an alarm decision relied on (scoring's evidence), one line each, in the order it happened.
const EVIDENCE_SHOWN = 8;
const evidenceLine = (e) => {
  const code = e.kind === "heat" ? `evidence.heat_${e.rule}` : `evidence.${e.kind}`;
  const round = (x) => (x === null || x === undefined ? x : Math.round(x * 10) / 10);
  return el("li", { class: `evidence-${e.kind}` }, render({ code, args: {
    time: e.time, device: e.device_id, point: e.point ?? "", component: e.component, note: e.note,
    value: round(e.value), limit: round(e.limit), rate: round(e.rate_c_per_min), rise: round(e.rise_c), span: Math.round(e.span_s ?? 0),
  } }));
};
function evidenceList(incident) {
  const evidence = incident.evidence ?? [];
  if (!evidence.length) return null;
  const more = evidence.length - EVIDENCE_SHOWN;
  return el("ul", { class: "evidence", title: t("evidence.title") },
    evidence.slice(0, EVIDENCE_SHOWN).map(evidenceLine), more > 0 ? el("li", { class: "muted" }, `… +${more}`) : null);
}

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


// ---- confirmed fires: a banner over every page while any is unresolved ---------------------------

async function refreshFires() {
  if (state.me?.role === "unit") return;  // a unit sees its own premises only, in its portal
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
  document.getElementById("resolve-what").textContent = `${incident.premises_name} · ${incident.zone} · ${titleOf(incident)}`;
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
  const select = (values, current, label, onchange) => el("select", { onchange },
    values.map((v) => el("option", { value: v, selected: v === current }, v ? label(v) : t("filter.all"))));
  const row = (i) => el("tr", {
    class: `incident cls-${i.class} ${i.state} ${ageClass(i)}`,
    dataset: { incident: i.id, cls: i.class, opened: i.opened_at, state: i.state, age: ageClass(i) },
  },
    el("td", {}, classBadge(i.class)),
    el("td", {}, premisesLink(i.premises_id, i.premises_name)),
    el("td", {}, i.zone),
    el("td", { class: "title" }, titleOf(i), i.inhibited_by ? el("span", { class: "muted inhibited" }, ` (${t("queue.inhibited_by").replace("{n}", i.inhibited_by)})`) : null,
      evidenceList(i)),
    el("td", {}, t(`state.${i.state}`), i.acknowledged_by ? el("div", { class: "muted" }, actorName(i.acknowledged_by)) : null),
    el("td", { class: "num" }, i.events),
    el("td", { class: "num age", dataset: { opened: i.opened_at }, title: when(i.opened_at) }, age((Date.now() - Date.parse(i.opened_at)) / 1000)),
    el("td", {}, canAct() && i.state === "open" ? el("button", { class: "ack", onclick: () => acknowledge(i.id) }, t("acknowledge")) : null,
      canAct() && i.state !== "resolved" ? el("button", { class: "resolve", onclick: () => openResolve(i) }, t("resolve")) : null));
  show(
    el("h1", {}, t("nav.queue"), el("span", { class: "muted" }, ` (${incidents.length})`)),
    el("div", { class: "toolbar" },
      select(["unresolved", "open", "acknowledged", "resolved"], queueFilter.state, (v) => t(`state.${v}`), (e) => { queueFilter.state = e.target.value; rerender(); }),
      select(["", "fire", "alarm", "hazard", "supervisory", "trouble", "nuisance"], queueFilter.cls, (v) => word("class", v), (e) => { queueFilter.cls = e.target.value; rerender(); })),
    pagedTable(["col.class", "col.premises", "col.zone", "col.title", "col.state", "#col.events", "#col.age", "col.actions"], incidents, row, { id: "queue" }));
}
queueView.tables = ["incidents"];

const CHARTS = [
  ["water_pressure_mpa", ["water_pressure_mpa"]],
  ["residual_current_ma", ["residual_current_ma"]],
  ["temperature", ["cable_temp_c", "temperature_c"]],
  ["tank_level_m", ["tank_level_m"]],
];
const RANGES = [1, 6, 24, 168];

// What a device is doing, in words: its fire alarm, values beyond a limit, active signals.
function deviceSignals(d) {
  return [
    d.alarm ? el("div", { class: "signal alarm" }, `${t("signal.fire_alarm")}${d.alarm.zone ? ` · ${d.alarm.zone}` : ""} · ${when(d.alarm.time)}`) : null,
    ...(d.over ?? []).map((o) => el("div", { class: "signal over" }, `${word("metric", o.metric)} ${Number(o.value).toFixed(1)} ${o.direction === "below" ? "<" : ">"} ${o.limit} · ${t("signal.over")}`)),
    ...d.signals.map((s) => el("div", { class: "signal" }, `${word("rule", s.rule)}${s.subject ? " " + s.subject : ""} · ${when(s.time)}`)),
  ];
}

async function premisesView(id, show) {
  const hours = state.hours;
  const [p, readings, risk] = await Promise.all([
    api(`/api/premises/${encodeURIComponent(id)}`),
    api(`/api/premises/${encodeURIComponent(id)}/readings?hours=${hours}`),
    api(`/api/premises/${encodeURIComponent(id)}/risk?days=30`),
  ]);
  const incidents = await api(`/api/incidents?premises=${encodeURIComponent(id)}`);
  const width = Math.max(320, Math.floor((main.clientWidth - 60) / 2));
  const factors = p.risk?.factors ?? [];
  const devices = p.devices.map((d) => el("tr", { dataset: { device: d.id, state: d.state }, class: `device-${d.state}` },
    el("td", {}, d.id), el("td", {}, word("device_type", d.type)), el("td", {}, d.location, d.zone ? ` · ${d.zone}` : ""),
    el("td", {}, badge(d.state === "trouble" ? "trouble-device" : `device-${d.state}`, t(`device.${d.state}`))),
    el("td", {}, Object.entries(d.latest).map(([metric, [value, at]]) => el("div", { title: `${metric} · ${when(at)}` }, `${word("metric", metric)} ${Number(value).toFixed(3).replace(/\.?0+$/, "")}`))),
    el("td", { class: "signals" }, deviceSignals(d), d.type === "uitd" && canAct() ? uitdCommands(d.id) : null)));
  const charts = CHARTS.map(([name, metrics]) => [name, readings.filter((s) => metrics.includes(s.metric))])
    .filter(([, series]) => series.length)
    .map(([name, series]) => timeChart(t(`chart.${name}`), series, width));
  const riskChart = risk.length
    ? timeChart(t("chart.score"), [{ device_id: "", metric: t("chart.score"), t: risk.map((r) => Date.parse(r.time) / 1000), v: risk.map((r) => r.score) }], width)
    : el("p", { class: "muted" }, t("empty"));
  const ranges = el("span", { class: "ranges" }, RANGES.map((h) => el("button", {
    class: h === hours ? "range active" : "range", dataset: { hours: h }, onclick: () => { state.hours = h; rerender(); },
  }, t(`range.${h}`))));
  show(
    el("h1", {}, p.name, " ", liveBadge(p.live), riskTier(p.tier), p.score !== null && p.score !== undefined ? el("span", { class: "muted" }, ` ${t("col.score")} ${p.score.toFixed(1)}`) : null),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h2", {}, t("premises.profile")),
        el("div", {}, `${t("premises.address")}: ${p.address}`),
        el("div", {}, `${t("premises.category")}: ${word("category", p.category)}`, p.floors ? ` · ${t("premises.floors")} ${p.floors}` : ""),
        el("div", {}, `${t("col.jurisdiction")}: ${p.jurisdiction_name} (${p.jurisdiction_id})`),
        el("div", {}, `${t("premises.unit")}: ${p.unit_name} · ${p.unit_contact}${p.unit_phone ? " · " + p.unit_phone : ""}`)),
      el("div", { class: "panel" }, el("h2", {}, t("premises.factors")),
        factors.length ? el("ul", { class: "factors" }, factors.map((f) => el("li", {}, `${factorName(f.name)}${f.name.includes("=") ? "" : ` = ${f.value}`} (+${f.points.toFixed(1)})`))) : el("p", { class: "muted" }, t("empty")),
        el("h2", {}, t("premises.if_closed")), ifClosedList(p.risk?.if_closed, p.tier))),
    el("h2", {}, t("premises.incidents")),
    table(["col.class", "col.zone", "col.title", "col.state", "#col.age"], incidents.map((i) => el("tr", {},
      el("td", {}, classBadge(i.class)), el("td", {}, i.zone), el("td", {}, titleOf(i), evidenceList(i)), el("td", {}, t(`state.${i.state}`)),
      el("td", { class: "num" }, age((Date.now() - Date.parse(i.opened_at)) / 1000))))),
    el("h2", {}, t("premises.devices")),
    table(["col.device", "col.type", "col.location", "col.state", "col.value", "col.signals"], devices, { id: "devices" }),
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, t("premises.readings"), " ", ranges), charts.length ? charts : el("p", { class: "muted" }, t("empty"))),
      el("div", {}, el("h2", {}, t("premises.risk")), riskChart)),
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, t("premises.hazards")), table(["col.hazard", "col.state", "col.deadline"], p.hazards.map((h) => el("tr", {},
        el("td", {}, titleOf(h)), el("td", {}, t(`hazard.${h.state}`)), dueCell(h.deadline))))),
      el("div", {}, el("h2", {}, t("premises.tasks")), table(["col.kind", "col.reason", "col.due"], p.tasks.map((task) => el("tr", {},
        el("td", {}, word("task_type", task.kind)), el("td", {}, render(task.label, task.reason)), dueCell(task.due_at)))))),
    ...(p.cases.length ? [el("h2", {}, t("premises.cases")), table(["cases.number", "col.deadline", "cases.pending"], p.cases.map((c) => el("tr", { dataset: { case: c.id } },
      el("td", {}, el("a", { href: `#/cases/${c.id}` }, c.number)), dueCell(c.deadline), el("td", { class: "num" }, c.pending || ""))), { id: "premises-cases" })] : []));
}
premisesView.tables = ["incidents", "hazards", "tasks", "premises_schedule", "cases"];

// What the map's marks mean: a dot's colour is the tier (long-run risk), a ring the live state, a pulse a fire.
function mapLegend() {
  const dot = (colour) => el("span", { class: "legend-dot", style: `background:${colour}` });
  const ring = (colour) => el("span", { class: "legend-ring", style: `border-color:${colour}` });
  return el("div", { class: "map-legend", id: "map-legend" },
    el("span", { class: "muted" }, `${t("tier.long_run")}:`),
    ["red", "orange", "yellow", "blue", "unscored"].map((tier) => el("span", { class: "legend-item" }, dot(TIER_COLOURS[tier]), word("tier", tier))),
    el("span", { class: "muted" }, `${t("live.now")}:`),
    ["alarm", "hazard", "supervisory", "trouble"].map((cls) => el("span", { class: "legend-item" }, ring(LIVE_COLOURS[cls]), word("class", cls))),
    el("span", { class: "legend-item" }, el("span", { class: "legend-pulse" }), word("class", "fire")));
}

async function overviewView(_, show) {
  const data = await api("/api/overview");
  const card = (kind, label, n) => el("div", { class: `card ${kind}`, dataset: { tier: kind } }, el("div", { class: "muted" }, label), el("div", { class: "n" }, n));
  const mapBox = el("div", { class: "map-box", id: "map-box" });
  // what is happening now first (any premises with an open incident), then the red and orange ones
  const urgent = (p) => (p[6] ? 0 : 1);
  const top = data.premises.filter((p) => p[6] || p[4] === "red" || p[4] === "orange")
    .sort((a, b) => urgent(a) - urgent(b)).slice(0, 100);
  show(
    el("h1", {}, t("nav.overview")),
    el("h2", {}, t("overview.tiers")),
    el("div", { class: "cards", id: "tiers" }, ["red", "orange", "yellow", "blue", "unscored"].map((tier) => card(tier, word("tier", tier), data.tiers[tier] ?? 0))),
    el("div", { class: "cards" },
      card("", t("overview.incidents"), Object.values(data.incidents).reduce((a, b) => a + b, 0)),
      card("", word("class", "fire"), data.incidents.fire ?? 0),
      el("a", { href: "#/offline" }, card("", t("overview.offline"), data.offline_devices))),
    el("h2", {}, t("overview.map")), mapBox, mapLegend(),
    el("h2", {}, t("overview.top")),
    pagedTable(["col.premises", "col.now", "col.tier"], top, (p) => el("tr", { dataset: { live: p[6] || "" } }, el("td", {}, premisesLink(p[0], p[1])),
      el("td", {}, liveBadge(p[6])), el("td", {}, tierBadge(p[4]))), { id: "top" }));
  drawMap(mapBox, data, state.meta.tile_url, (id) => { location.hash = `#/premises/${encodeURIComponent(id)}`; });
}
overviewView.tables = ["incidents", "premises_schedule"];

async function offlineView(_, show) {
  const devices = await api("/api/devices/offline");
  show(el("h1", {}, t("nav.offline"), el("span", { class: "muted" }, ` (${devices.length})`)),
    pagedTable(["col.premises", "col.device", "col.type", "col.location", "col.since"], devices, (d) => el("tr", {},
      el("td", {}, premisesLink(d.premises_id, d.premises_name)), el("td", {}, d.device_id), el("td", {}, d.type ? word("device_type", d.type) : "–"),
      el("td", {}, d.location ?? "–"), el("td", { title: d.since }, when(d.since), ` · ${relative(d.since)}`)), { id: "offline" }));
}
offlineView.tables = [];

let kpiDays = 30;
async function kpisView(_, show) {
  const [data, trend] = await Promise.all([api(`/api/kpis?days=${kpiDays}`), api(`/api/kpis/trend?days=${kpiDays}`)]);
  const share = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
  const row = (r, name, attrs = {}) => el("tr", attrs, el("td", {}, name),
    ...[r.incidents, r.alarms, r.fires].map((n) => el("td", { class: "num" }, n ?? 0)),
    el("td", { class: "num" }, duration(r.ack_p50_s)), el("td", { class: "num" }, duration(r.ack_p90_s)),
    el("td", { class: "num" }, r.unacknowledged ?? 0), el("td", { class: "num" }, share(r.false_alarm_share)),
    el("td", { class: "num" }, r.open_hazards ?? 0), el("td", { class: "num" }, r.overdue_hazards ?? 0));
  const width = Math.max(320, Math.floor((main.clientWidth - 60) / 2));
  const days = trend.map((d) => Date.parse(`${d.day}T12:00:00`) / 1000);
  const trendChart = timeChart(t("kpi.trend"), [
    { metric: t("kpi.incidents"), t: days, v: trend.map((d) => d.incidents) },
    { metric: t("kpi.alarms"), t: days, v: trend.map((d) => d.alarms) },
    { metric: t("kpi.fires"), t: days, v: trend.map((d) => d.fires), stroke: "#c81e1e" },
    { metric: t("kpi.false_alarms"), t: days, v: trend.map((d) => d.false_alarms) },
  ], width, { height: 220, label: (s) => s.metric, integer: true });
  const rows = data.jurisdictions.filter((r) => r.incidents || r.open_hazards);
  const names = rows.map((r) => r.jurisdiction_name ?? r.jurisdiction_id);
  const ackChart = barChart(`${t("kpi.compare")}: ${t("kpi.ack_p50")} / ${t("kpi.ack_p90")}`, names, [
    { label: t("kpi.ack_p50"), values: rows.map((r) => r.ack_p50_s ?? null) },
    { label: t("kpi.ack_p90"), values: rows.map((r) => r.ack_p90_s ?? null) },
  ], width, { format: (v) => duration(v) });
  const loadChart = barChart(`${t("kpi.compare")}: ${t("kpi.alarms")} / ${t("kpi.open_hazards")}`, names, [
    { label: t("kpi.alarms"), values: rows.map((r) => r.alarms ?? 0) },
    { label: t("kpi.false_alarms"), values: rows.map((r) => r.false_alarms ?? 0) },
    { label: t("kpi.open_hazards"), values: rows.map((r) => r.open_hazards ?? 0) },
  ], width, { format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) });
  const report = state.me.role !== "admin" ? null : el("form", { class: "toolbar report", id: "report-form", target: "_blank", action: "/api/report", method: "get" },
    el("strong", {}, t("kpi.report")),
    el("input", { name: "period", required: true, value: String(new Date().getFullYear()), placeholder: t("kpi.report_period"), title: t("kpi.report_period") }),
    el("input", { type: "hidden", name: "lang", value: lang() }),
    el("button", { type: "submit", name: "format", value: "html" }, t("kpi.report_html")),
    el("button", { type: "submit", name: "format", value: "pdf" }, t("kpi.report_pdf")));
  show(el("h1", {}, t("nav.kpis")),
    el("div", { class: "toolbar" }, t("kpi.period"), el("select", { onchange: (e) => { kpiDays = Number(e.target.value); rerender(); } },
      [7, 30, 90, 365].map((d) => el("option", { value: d, selected: d === kpiDays }, `${d} ${t("kpi.days")}`)))),
    report,
    el("div", { class: "grid2" }, trendChart, ackChart),
    el("div", { class: "grid2" }, loadChart, el("div")),
    table(["col.jurisdiction", "#kpi.incidents", "#kpi.alarms", "#kpi.fires", "#kpi.ack_p50", "#kpi.ack_p90", "#kpi.unacknowledged",
      "#kpi.false_share", "#kpi.open_hazards", "#kpi.overdue_hazards"],
    [...data.jurisdictions.map((r) => row(r, r.jurisdiction_name ?? r.jurisdiction_id)), row(data.total, t("kpi.total"), { class: "total" })], { id: "kpis" }));
}
kpisView.tables = ["incidents", "hazards"];

let tasksInspector = "";
async function tasksView(_, show) {
  const own = state.me.role === "inspector";
  const who = own ? "" : tasksInspector;
  const people = own ? [] : await api("/api/inspectors");
  const choose = (e) => { tasksInspector = e.target.value; rerender(); };
  const picker = own ? null : el("form", { class: "toolbar", onsubmit: (e) => e.preventDefault() },
    el("label", {}, t("tasks.inspector"), " ",
      el("select", { name: "inspector", onchange: choose },
        el("option", { value: "" }, t("tasks.choose")),
        ...people.map((p) => el("option", { value: p.id, selected: p.id === tasksInspector },
          `${p.name} · ${p.jurisdiction_name ?? p.jurisdiction_id} (${p.open_tasks})`)))));
  if (!own && !who) { show(el("h1", {}, t("nav.tasks")), picker); return; }
  const query = who ? `&inspector=${encodeURIComponent(who)}` : "";
  const [today, week, hazards] = await Promise.all([
    api(`/api/tasks?days=1${query}`), api(`/api/tasks?days=7${query}`), api(`/api/hazards?mine=${own}`),
  ]);
  const todayIds = new Set(today.map((x) => x.id));
  const item = (task) => {
    const draft = state.drafts.get(task.id) ?? "";
    const box = el("textarea", { class: "findings", rows: 2, placeholder: t("tasks.findings"), dataset: { field: `findings-${task.id}` },
      oninput: (e) => state.drafts.set(task.id, e.target.value) });
    box.value = draft;
    const record = async () => {
      const findings = box.value.split("\n").map((s) => s.trim()).filter(Boolean);
      try {
        await post(`/api/tasks/${task.id}/result`, { findings, checks: checksOf(task.id) });
        state.drafts.delete(task.id); forget(task.id); state.openChecklists.delete(task.id); rerender();
      } catch (error) { flash(error); }
    };
    const panel = el("td", { colspan: 6, class: "checklist-cell" });
    const panelRow = el("tr", { class: "checklist-row", hidden: !state.openChecklists.has(task.id) }, panel);
    const fill = () => {
      const now = checklistPanelNow(task.id);
      if (now) panel.replaceChildren(now);
      else checklistPanel(task.id).then((node) => panel.replaceChildren(node)).catch(flash);
    };
    if (state.openChecklists.has(task.id)) fill();
    const toggle = () => {
      if (state.openChecklists.has(task.id)) { state.openChecklists.delete(task.id); panelRow.hidden = true; return; }
      state.openChecklists.add(task.id); panelRow.hidden = false; fill();
    };
    return [el("tr", { dataset: { task: task.id } },
      el("td", {}, liveBadge(task.live), tierBadge(task.tier)), el("td", {}, premisesLink(task.premises_id, task.premises_name), el("div", { class: "muted" }, task.address)),
      el("td", {}, word("task_type", task.kind)), el("td", { class: "reason" }, render(task.label, task.reason)), dueCell(task.due_at),
      el("td", {}, task.kind === "hazard" ? null : box,
        task.kind === "hazard" ? null : el("button", { class: "checklist-toggle", onclick: toggle }, t("tasks.checklist")),
        own || state.me.role === "admin" ? el("button", { class: "primary record", onclick: record }, task.kind === "hazard" ? t("tasks.confirm_fixed") : t("tasks.record")) : null)),
    task.kind === "hazard" ? null : panelRow].filter(Boolean);
  };
  const head = ["col.tier", "col.premises", "col.kind", "col.reason", "col.due", "col.actions"];
  const whose = people.find((p) => p.id === who)?.name ?? who;
  show(el("h1", {}, t("nav.tasks"), who ? ` · ${whose}` : ""), picker,
    el("h2", {}, t("tasks.today"), ` (${today.length})`), table(head, today.flatMap(item), { id: "tasks-today" }),
    el("h2", {}, t("tasks.upcoming")), pagedTable(head, week.filter((x) => !todayIds.has(x.id)), item, { id: "tasks-week" }),
    el("h2", {}, t("nav.hazards")), hazardTable(hazards, "my-hazards"));
}
tasksView.tables = ["tasks", "hazards"];

function hazardTable(hazards, id = "hazards") {
  const close = async (h) => {
    const note = prompt(t("hazards.close"), "");
    if (note === null) return;
    try { await post(`/api/hazards/${h.id}/close`, { note }); rerender(); } catch (error) { flash(error); }
  };
  const list = async (h) => {
    const note = prompt(t("cases.list_major"), "");
    if (note === null) return;
    try { await post(`/api/hazards/${h.id}/listing`, { note }); rerender(); } catch (error) { flash(error); }
  };
  const decides = state.me.role === "inspector" || state.me.role === "admin";
  return pagedTable(["col.premises", "col.hazard", "col.state", "col.deadline", "col.inspector", "col.actions"], hazards, (h) => el("tr", { dataset: { hazard: h.id } },
    el("td", {}, premisesLink(h.premises_id, h.premises_name)), el("td", {}, titleOf(h)), el("td", {}, t(`hazard.${h.state}`)),
    dueCell(h.deadline), el("td", {}, h.inspector_id ?? "–"), el("td", {}, el("button", { onclick: () => close(h) }, t("hazards.close")),
      decides ? [" ", el("a", { class: "open-case", href: `#/cases/hazard-${h.id}` }, t("cases.open")), " ",
        el("button", { class: "list-major", onclick: () => list(h) }, t("cases.list_major"))] : null)), { id });
}

async function hazardsView(_, show) {
  const hazards = await api("/api/hazards");
  show(el("h1", {}, t("nav.hazards"), el("span", { class: "muted" }, ` (${hazards.length})`)), hazardTable(hazards));
}
hazardsView.tables = ["hazards"];

async function noticesView(_, show) {
  show(...await noticesAndDraws(state.me, rerender));
}
noticesView.tables = ["tasks", "notices"];

async function unitView(_, show) {
  show(...await unitPage(state.me, rerender));
}
unitView.tables = ["hazards", "notices", "cases", "rectifications", "credit_changes", "tasks"];

async function casesView(arg, show) {
  show(...(await casesPage(arg, state.me, rerender)).flat().filter(Boolean));
}
casesView.tables = ["cases", "rectifications", "hazards", "credit_changes"];

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
      el("td", {}, when(r.at)), el("td", { title: r.actor }, actorName(r.actor)),
      el("td", { title: r.action }, word("audit", r.action)), el("td", { title: r.subject }, subjectName(r.subject)),
      el("td", { class: "muted" }, detailsText(r.details))))),
    rows.length === 200 ? el("button", { onclick: () => { auditFilter.before = rows[rows.length - 1].id; rerender(); } }, t("audit.older")) : null);
}
auditView.tables = [];

// ---- routing and navigation -----------------------------------------------------------------------

const VIEWS = {
  queue: queueView, premises: premisesView, overview: overviewView, offline: offlineView,
  kpis: kpisView, tasks: tasksView, hazards: hazardsView, notices: noticesView, audit: auditView,
  unit: unitView, cases: casesView,
};

function navItems() {
  if (state.me.role === "unit") return ["unit"];
  return state.me.role === "inspector"
    ? ["tasks", "queue", "overview", "hazards", "cases", "offline", "kpis", "notices"]
    : ["queue", "overview", "offline", "kpis", "hazards", "cases", "tasks", "notices", "audit"];
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
  const allowed = state.me.role === "unit" ? navItems() : Object.keys(VIEWS);
  const view = VIEWS[name] && allowed.includes(name) ? name : navItems()[0];
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
  const showMe = () => { document.getElementById("me").textContent = `${state.me.name} · ${word("role", state.me.role)}`; };
  showMe();
  for (const button of document.querySelectorAll("[data-lang]")) button.addEventListener("click", showMe);
  window.addEventListener("hashchange", route);
  await Promise.all([route(), refreshFires()]);
  connectLive();
}

start();
