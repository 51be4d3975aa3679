// Notices and draws: the warning notices sent to units with their deliveries and read receipts, and the
// random draws (双随机、一公开) with their published beacon, a check anyone can run, and the publication
// as CSV; admins make a new draw and edit the inspection checklists (a new version each time).

import { api, el, flash, forgetFields, keptField, pagedTable, post, premisesLink, table, tierBadge, when } from "/static/dom.js";
import { actorName, lang, render, t, word } from "/static/i18n.js";

export async function noticesAndDraws(me, rerender) {
  const [notices, draws] = await Promise.all([api("/api/notices"), api("/api/draws")]);
  const periods = [...new Set(draws.map((d) => d.period))];
  const verdicts = el("div", { class: "verdicts" });
  const check = async (period) => {
    try {
      const v = await api(`/api/draws/${encodeURIComponent(period)}/verify`);
      verdicts.replaceChildren(el("p", { class: v.intact ? "verdict ok" : "verdict error", dataset: { period } },
        `${period}: ${v.intact ? t("draws.intact") : t("draws.broken")} · seed ${v.seed} · ${t("draws.beacon")} ${v.beacon ?? "–"} · ${v.drawn}/${v.pool}`));
    } catch (error) { flash(error); }
  };
  const form = me.role !== "admin" ? null : el("form", { class: "toolbar new-draw", onsubmit: async (e) => {
    e.preventDefault();
    try { await post("/api/draws", { period: e.target.period.value.trim(), beacon: e.target.beacon.value.trim() }); rerender(); } catch (error) { flash(error); }
  } },
  el("strong", {}, t("draws.new")),
  el("input", { name: "period", required: true, placeholder: t("col.period"), value: new Date().toISOString().slice(0, 7) }),
  el("input", { name: "beacon", required: true, placeholder: t("draws.beacon_hint"), title: t("draws.beacon_hint") }),
  el("button", { type: "submit", class: "primary" }, t("draws.make")));
  return [
    el("h1", {}, t("nav.notices")),
    el("h2", {}, t("notices.title"), el("span", { class: "muted" }, ` (${notices.length})`)),
    pagedTable(["col.issued", "col.premises", "col.tier", "col.notice", "col.recipients", "unit.read"], notices, (n) => el("tr", { dataset: { notice: n.id } },
      el("td", { title: n.issued_at }, when(n.issued_at)), el("td", {}, premisesLink(n.premises_id, n.premises_name)),
      el("td", {}, tierBadge(n.tier)), el("td", { class: "notice-text" }, render(n.label, n.text)),
      el("td", { class: "recipients" }, (n.deliveries ?? []).map((d) => el("div", { class: `delivery ${d.state}` },
        `${d.recipient} · ${d.channel} · ${t(`delivery.${d.state}`)}`))),
      el("td", { class: "reads" }, (n.reads ?? []).map((r) => el("div", {}, `${r.user_id} · ${when(r.read_at)}`)))), { id: "notices" }),
    el("h2", {}, t("draws.title"), el("span", { class: "muted" }, ` (${draws.length})`)),
    form,
    el("div", { class: "toolbar" }, periods.map((period) => el("span", { class: "period" }, period, " ",
      el("button", { class: "verify", dataset: { period }, onclick: () => check(period) }, t("draws.verify")), " ",
      el("a", { href: `/api/draws/${encodeURIComponent(period)}/publication?format=csv` }, "CSV")))),
    verdicts,
    pagedTable(["col.period", "col.premises", "col.inspectors", "col.seed", "col.time", "col.done"], draws, (d) => el("tr", {},
      el("td", {}, d.period), el("td", {}, premisesLink(d.premises_id, d.premises_name)), el("td", {}, d.inspectors.join(", ")),
      el("td", { class: "num" }, d.seed), el("td", {}, when(d.drawn_at)), el("td", {}, t(d.done ? "yes" : "no"))), { id: "draws" }),
    me.role === "admin" ? await checklistEditor(rerender) : null,
  ];
}

// The checklists in use and, for an admin, the whole set as JSON to edit and save as the next version
// (PUT /api/checklists; every problem is named with its place, and past visits keep their version).
// A live refresh redrawing the page while the admin edits keeps the editor open and the text typed.
let editorOpen = false;
async function checklistEditor(rerender) {
  const current = await api("/api/checklists");
  const key = `checklists-json-v${current.version}`;
  const text = keptField("textarea", key, { class: "checklists-json", rows: 16, spellcheck: "false" });
  if (!text.value) text.value = JSON.stringify(current.checklists, null, 2);
  const save = async () => {
    let document;
    try { document = JSON.parse(text.value); } catch (error) { flash(error); return; }
    try {
      await api("/api/checklists", { method: "PUT", body: JSON.stringify(document) });
      forgetFields(key); editorOpen = false; rerender();
    } catch (error) { flash(error); }
  };
  return el("section", { class: "checklists-admin" },
    el("h2", {}, `${t("checklists.title")} · v${current.version}`, el("span", { class: "muted" }, ` (${current.checklists.items.length}) ${actorName(current.created_by)} ${when(current.created_at)}`)),
    // the items by their text; an item's id (what the editor below names it by) is its row's title
    table(["check.severity", "col.check", "check.basis", "check.categories"], current.checklists.items.map((i) => el("tr", { dataset: { item: i.id }, title: i.id },
      el("td", {}, t(`check.${i.severity}`)), el("td", {}, lang() === "zh" ? i.zh : i.en), el("td", {}, i.basis),
      el("td", {}, i.categories === "all" ? t("check.all") : i.categories.map((c) => word("category", c)).join(lang() === "zh" ? "、" : ", "))))),
    el("details", { open: editorOpen, ontoggle: (e) => { editorOpen = e.target.open; } }, el("summary", {}, t("checklists.edit")), text, el("button", { class: "primary save-checklists", onclick: save }, t("checklists.save"))));
}
