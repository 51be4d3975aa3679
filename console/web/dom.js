// The console's building blocks: DOM construction (never from HTML strings, so nothing the server
// stores can inject markup), dates and durations, long tables in pages, and the API.

import { dateText, factorName, lang, t, word } from "/static/i18n.js";

export function el(tag, attrs = {}, ...children) {
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

export function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.startsWith("#") ? "num" : "" }, t(h.replace(/^#/, "")))))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, t("empty")))));
}

// A long table shows PAGE rows at a time, built only for the page shown; its page is kept per id
// across re-renders (a live update re-reads the data but leaves the operator on the page they read).
const PAGE = 100;
const pages = new Map();

export function pagedTable(headers, items, makeRow, attrs) {
  const id = attrs.id;
  const count = Math.max(1, Math.ceil(items.length / PAGE));
  const page = Math.min(pages.get(id) ?? 0, count - 1);
  const box = el("div", { class: "paged", dataset: { table: id } });
  const draw = (n) => {
    pages.set(id, n);
    const from = n * PAGE, to = Math.min(items.length, from + PAGE);
    const pager = items.length <= PAGE ? null : el("div", { class: "pager" },
      el("button", { class: "prev", disabled: n === 0, onclick: () => draw(n - 1) }, t("pager.prev")),
      el("span", { class: "muted" }, `${from + 1}–${to} ${t("pager.of")} ${items.length}`),
      el("button", { class: "next", disabled: n >= count - 1, onclick: () => draw(n + 1) }, t("pager.next")));
    box.replaceChildren(table(headers, items.slice(from, to).flatMap(makeRow), attrs), pager ?? "");
  };
  draw(page);
  return box;
}

export const badge = (kind, label) => el("span", { class: `badge ${kind}` }, label);
export const classBadge = (cls) => badge(cls, word("class", cls));
export const tierBadge = (tier) => badge(tier || "unscored", word("tier", tier || "unscored"));
// What is happening at a premises now (its most urgent open incident's class), always before its tier:
// the tier is the long-run risk, and a fire in a blue premises is not a contradiction.
export const liveBadge = (live) => (live ? el("span", { class: `badge live ${live}`, dataset: { live } }, `${t("live.now")}: ${word("class", live)}`) : null);
// Each open item the unit can close, with the score and tier it would leave (the model's counterfactual);
// the ones that would lower the tier first, marked.
const TIER_RANK = { blue: 0, yellow: 1, orange: 2, red: 3 };
export function ifClosedList(items, tier) {
  const lowers = (c) => TIER_RANK[c.tier] < (TIER_RANK[tier] ?? 0);
  const sorted = [...(items || [])].sort((a, b) => lowers(b) - lowers(a) || a.score - b.score);
  if (!sorted.length) return el("p", { class: "muted if-closed-none" }, t("premises.if_closed_none"));
  return el("ul", { class: "if-closed" }, sorted.map((c) => el("li", { dataset: { item: c.item, lowers: String(lowers(c)) } },
    `${factorName(c.item)} (${typeof c.value === "number" ? Number(c.value.toFixed(2)) : word("credit", c.value)}) → `,
    tierBadge(c.tier), ` ${c.score.toFixed(1)}`, lowers(c) ? el("strong", {}, ` ${t("premises.lowers")}`) : null)));
}
// The tier with what it means, where it stands beside a live state.
export const riskTier = (tier) => el("span", { class: "risk-tier", dataset: { tier: tier || "unscored" } }, `${t("tier.long_run")} `, tierBadge(tier));
export const premisesLink = (id, name) => el("a", { href: `#/premises/${encodeURIComponent(id)}` }, name ? `${name} (${id})` : id);

// A date and time, with the year when it is not this year's (the same as in rendered labels).
export const when = dateText;

// "in 3 days", "2 hours ago": the unit that reads best for the distance.
export function relative(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = (Date.parse(iso) - now) / 1000;
  const format = new Intl.RelativeTimeFormat(lang() === "zh" ? "zh-CN" : "en", { numeric: "auto" });
  const size = Math.abs(seconds);
  if (size < 60) return format.format(Math.round(seconds), "second");
  if (size < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (size < 48 * 3600) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

// A deadline or due date: the date, how far it is, red once passed.
export function dueCell(iso, attrs = {}, tag = "td") {
  const late = iso && Date.parse(iso) < Date.now();
  return el(tag, { ...attrs, class: `${attrs.class ?? ""} ${late ? "overdue" : ""}`.trim(), title: iso ?? "" },
    when(iso), iso ? el("span", { class: "relative" }, ` · ${relative(iso)}`) : null);
}

export function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 120) return `${seconds.toFixed(0)} ${t("unit_s")}`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} ${t("unit_min")}`;
  return `${(seconds / 3600).toFixed(1)} ${t("unit_h")}`;
}

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function api(path, options = {}) {
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

export const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body ?? {}) });

// A photo or document kept as evidence (POST /api/evidence): its sha256, media_type and size.
export async function upload(file) {
  const answer = await fetch("/api/evidence", { method: "POST", credentials: "same-origin", headers: { "Content-Type": file.type }, body: file });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(answer.status, body.detail ?? answer.statusText);
  return body;
}

// What was typed or chosen in a form, by field key, so that a live refresh redrawing the page keeps
// it until the form is sent (forgetFields).
const typed = new Map();
const files = new Map();

// An input, textarea or select (with its options as children) that keeps its value across redraws
// (and, through its data-field, its focus: see show() in app.js).
export function keptField(tag, key, attrs = {}, ...children) {
  const remember = (e) => typed.set(key, e.target.value);
  const node = el(tag, { ...attrs, dataset: { ...attrs.dataset, field: key }, oninput: remember, onchange: remember }, ...children);
  if (typed.has(key)) node.value = typed.get(key);
  return node;
}

export function forgetFields(...keys) {
  for (const key of keys) { typed.delete(key); files.delete(key); }
}

// The evidence uploaded so far for a form (kept across redraws like its fields).
export const keptFiles = (key) => { if (!files.has(key)) files.set(key, []); return files.get(key); };

// Uploads under way, by key: a redraw while one is in flight says so, and its end is told to the
// status shown then (not to the one of the page it started on, which a live refresh may have replaced).
const uploading = new Set();
const statusOf = (key) => document.querySelectorAll(`.photo-state[data-upload="${CSS.escape(key)}"]`);

// The status line of the uploads under `key`: "loading" while one is in flight, else `settled`.
export function uploadStatus(key, settled = "") {
  return el("span", { class: "photo-state muted", dataset: { upload: key } }, uploading.has(key) ? t("loading") : settled);
}

// Upload `file` as evidence under `key`; its sha256, or null (the status says why).
export async function uploadAs(key, file) {
  uploading.add(key);
  for (const node of statusOf(key)) node.textContent = t("loading");
  try {
    const kept = await upload(file);
    uploading.delete(key);
    for (const node of statusOf(key)) node.textContent = t("check.photo_kept");
    return kept.sha256;
  } catch (error) {
    uploading.delete(key);
    for (const node of statusOf(key)) node.textContent = error.message;
    return null;
  }
}

// A file input that uploads what is chosen at once (evidence) and adds its sha256 to keptFiles(key).
export function evidenceInput(key, accept = "image/jpeg,image/png,application/pdf") {
  const kept = keptFiles(key);
  const input = el("input", { type: "file", class: "evidence-file", accept, onchange: async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const sha = await uploadAs(key, file);
    if (sha) kept.push(sha);
  } });
  return el("label", { class: "evidence" }, t("check.photo"), " ", input, " ", uploadStatus(key, kept.length ? t("check.photo_kept") : ""));
}

export function flash(error) {
  alert(`${t("error.generic")}: ${error.message}`);
}
