// The unit portal (role unit): the responsible unit's premises with its tier, credit and history, the
// self-check due (the inspectors' checklist), hazards it reports itself, its open hazards with a
// "rectified" report and evidence, the warning notices it received with a read receipt, its
// commitments, and its cases' documents.

import { api, badge, dueCell, el, evidenceInput, flash, forgetFields, ifClosedList, keptField, keptFiles, liveBadge, post, riskTier, table, tierBadge, when } from "/static/dom.js";
import { render, t, word } from "/static/i18n.js";
import { checklistPanel, checksOf, forget } from "/static/checklist.js";

const open = new Set();  // premises whose self-check panel is open, kept across live refreshes

function selfCheck(p, rerender) {
  const key = `self-${p.id}`;
  const panel = el("div", { class: "self-check-panel", hidden: !open.has(p.id) });
  const fill = () => checklistPanel(key, `/api/unit/premises/${encodeURIComponent(p.id)}/checklist`)
    .then((node) => panel.replaceChildren(node, el("button", { class: "primary submit-self-check", onclick: submit }, t("unit.submit_self_check"))))
    .catch(flash);
  const submit = async () => {
    try {
      await post(`/api/unit/premises/${encodeURIComponent(p.id)}/self-checks`, { checks: checksOf(key) });
      forget(key); open.delete(p.id); rerender();
    } catch (error) { flash(error); }
  };
  if (open.has(p.id)) fill();
  const toggle = () => { if (open.has(p.id)) { open.delete(p.id); panel.hidden = true; } else { open.add(p.id); panel.hidden = false; fill(); } };
  const s = p.self_check;
  return el("div", { class: `self-check ${s.due ? "due" : ""}` },
    el("strong", {}, t("unit.self_check")), ` · ${t("unit.every")} ${s.every_days} ${t("unit.days")} · ${t("unit.last")} ${when(s.last_at)} · `,
    el("span", { class: s.due ? "overdue" : "" }, `${t("col.due")} ${when(s.due_at)}`), " ",
    el("button", { class: "self-check-toggle", onclick: toggle }, t("unit.start_self_check")), panel);
}

function selfReport(p, rerender) {
  const key = `report-${p.id}`;
  return el("form", { class: "toolbar self-report", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await post(`/api/unit/premises/${encodeURIComponent(p.id)}/hazards`, { text: e.target.text.value.trim(), evidence: keptFiles(key) });
      forgetFields(key); rerender();
    } catch (error) { flash(error); }
  } },
  keptField("textarea", key, { name: "text", required: true, rows: 2, placeholder: t("unit.report_hint") }),
  evidenceInput(key),
  el("button", { type: "submit", class: "primary" }, t("unit.report")));
}

function commitments(p, rerender) {
  const key = `commit-${p.id}`;
  const form = el("form", { class: "toolbar commit", onsubmit: async (e) => {
    e.preventDefault();
    try { await post(`/api/unit/premises/${encodeURIComponent(p.id)}/commitments`, { text: e.target.text.value.trim() }); forgetFields(key); rerender(); } catch (error) { flash(error); }
  } }, keptField("textarea", key, { name: "text", required: true, rows: 2, placeholder: t("unit.commit_hint") }), el("button", { type: "submit" }, t("unit.commit")));
  return el("div", { class: "commitments" }, el("h3", {}, t("unit.commitments")),
    el("ul", {}, p.commitments.map((c) => el("li", {}, `${when(c.signed_at)} · ${c.text}`))), form);
}

function premisesCard(p, rerender) {
  return el("section", { class: "unit-premises", dataset: { premises: p.id } },
    el("h2", {}, `${p.name} (${p.id})`, " ", liveBadge(p.live), riskTier(p.tier), " ",
      el("span", { class: `badge credit credit-${p.credit_status}`, dataset: { credit: p.credit_status } }, `${t("unit.credit")}: ${word("credit", p.credit_status)}`)),
    el("div", { class: "muted" }, `${p.address} · ${word("category", p.category)}`),
    el("h3", {}, t("premises.if_closed")), ifClosedList(p.if_closed, p.tier),
    selfCheck(p, rerender), selfReport(p, rerender),
    el("h3", {}, t("unit.credit_history")),
    table(["col.time", "unit.from", "unit.to", "col.reason", "unit.case"], p.credit_history.map((h) => el("tr", { class: "credit-change" },
      el("td", {}, when(h.at)), el("td", {}, word("credit", h.from_status)), el("td", {}, word("credit", h.to_status)),
      el("td", {}, word("credit_event", h.reason)), el("td", {}, h.case_number ?? "–")))),
    commitments(p, rerender));
}

function hazardRow(h, rerender) {
  const key = `rectify-${h.id}`;
  const report = el("form", { class: "rectify", onsubmit: async (e) => {
    e.preventDefault();
    try { await post(`/api/unit/hazards/${h.id}/rectification`, { note: e.target.note.value.trim(), evidence: keptFiles(key) }); forgetFields(key); rerender(); } catch (error) { flash(error); }
  } }, keptField("input", key, { name: "note", required: true, placeholder: t("unit.rectified_hint") }), evidenceInput(key),
  el("button", { type: "submit", class: "primary" }, t("unit.rectified")));
  const waiting = h.rectification === "submitted";
  return el("tr", { dataset: { hazard: h.id } },
    el("td", {}, h.premises_id), el("td", {}, render(h.label, h.title), h.self_reported ? [" ", badge("self", t("unit.self_reported"))] : null,
      h.listed_at ? [" ", badge("red", t("cases.major"))] : null),
    dueCell(h.deadline),
    el("td", { class: "rectification" }, h.rectification ? word("rectification", h.rectification) : "–",
      h.decision_note ? el("div", { class: "muted" }, h.decision_note) : null),
    el("td", {}, waiting ? null : report));
}

// What the unit must do, soonest first: each open hazard not yet reported fixed (or whose report was
// sent back) by its deadline, each self-check by when it is due, each open case's order by its deadline,
// each warning notice not yet read. Overdue ones first, in red.
function toDo(data) {
  const items = [];
  for (const h of data.hazards) {
    if (h.rectification === "submitted") continue;  // reported fixed: the inspector acts next
    items.push({ due: h.deadline, what: [t("unit.todo_fix"), " ", render(h.label, h.title), ` (${h.premises_id})`] });
  }
  for (const p of data.premises) items.push({ due: p.self_check.due_at, what: [t("unit.todo_self_check"), ` (${p.name})`] });
  for (const c of data.cases) {
    if (c.state === "open") items.push({ due: c.deadline, what: [t("unit.todo_case"), ` ${c.number}`] });
  }
  for (const n of data.notices) if (!n.read_at) items.push({ due: null, what: [t("unit.todo_notice"), " ", render(n.label, n.text)] });
  items.sort((a, b) => (a.due === null) - (b.due === null) || new Date(a.due) - new Date(b.due));
  return el("section", { class: "panel todo", id: "unit-todo" }, el("h2", {}, t("unit.todo")),
    items.length ? el("ul", {}, items.map((i) => el("li", {}, ...i.what, " ", i.due ? dueCell(i.due, { class: "by" }, "span") : el("span", { class: "muted" }, ` · ${t("unit.todo_now")}`))))
      : el("p", { class: "muted" }, t("unit.todo_none")));
}

export async function unitView(me, rerender) {
  const data = await api("/api/unit");
  const read = async (n) => { try { await post(`/api/unit/notices/${n.id}/read`); rerender(); } catch (error) { flash(error); } };
  const doc = (c, d, format) => el("a", { href: `/api/cases/${c.id}/steps/${d.id}/document?format=${format}`, target: "_blank" }, format.toUpperCase());
  return [
    el("h1", {}, t("nav.unit")),
    toDo(data),
    ...data.premises.map((p) => premisesCard(p, rerender)),
    el("h2", {}, t("unit.hazards"), el("span", { class: "muted" }, ` (${data.hazards.length})`)),
    table(["col.premises", "col.hazard", "col.deadline", "unit.rectification", "col.actions"], data.hazards.map((h) => hazardRow(h, rerender)), { id: "unit-hazards" }),
    el("h2", {}, t("notices.title")),
    table(["col.issued", "col.tier", "col.notice", "unit.read"], data.notices.map((n) => el("tr", { dataset: { notice: n.id } },
      el("td", {}, when(n.issued_at)), el("td", {}, tierBadge(n.tier)), el("td", { class: "notice-text" }, render(n.label, n.text)),
      el("td", {}, n.read_at ? `${t("unit.read_at")} ${when(n.read_at)}` : el("button", { class: "read", onclick: () => read(n) }, t("unit.mark_read")))))),
    el("h2", {}, t("unit.cases")),
    table(["cases.number", "col.state", "col.deadline", "cases.documents"], data.cases.map((c) => el("tr", { dataset: { case: c.id } },
      el("td", {}, c.number), el("td", {}, t(`case_state.${c.state}`)), dueCell(c.deadline),
      el("td", { class: "documents" }, c.documents.filter((d) => d.number).map((d) => el("div", { class: "document" },
        `${word("case_step", d.kind)} ${d.number} `, doc(c, d, "html"), " ", doc(c, d, "pdf"))))))),
  ];
}
