// Enforcement (执法): cases with their steps and documents, the next step an inspector takes, approvals
// by an admin who did not propose the step (法制审核), units' rectification reports to verify or
// reject, and the major hazards listed for supervision (挂牌督办).

import { api, dueCell, el, flash, forgetFields, keptField, pagedTable, post, premisesLink, table, when } from "/static/dom.js";
import { actorName, lang, render, t, word } from "/static/i18n.js";

let discretion = null;
const offenceName = (id) => {
  const o = discretion?.offences.find((x) => x.id === id);
  return o ? (lang() === "zh" ? o.zh : o.en) : id;
};

function newCaseForm(hazardId) {
  const circumstances = ["light", "general", "serious"];
  const fields = [`case-target-${hazardId}`, "case-offence", "case-circumstance", "case-deadline", "case-requirements"];
  return el("form", { class: "new-case", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    const target = f.target.value.trim();
    const body = { offence: f.offence.value, circumstance: f.circumstance.value, requirements: f.requirements.value.trim(),
      ...(/^\d+$/.test(target) ? { hazard_id: Number(target) } : { premises_id: target }) };
    if (f.deadline.value) body.deadline_days = Number(f.deadline.value);
    try {
      const made = await post("/api/cases", body);
      forgetFields(...fields); location.hash = `#/cases/${made.id}`;
    } catch (error) { flash(error); }
  } },
  el("h2", {}, t("cases.new")),
  el("label", {}, t("cases.target"), " ", keptField("input", `case-target-${hazardId}`, { name: "target", required: true, value: hazardId ?? "", placeholder: t("cases.target_hint") })),
  el("label", {}, t("cases.offence"), " ", keptField("select", "case-offence", { name: "offence" }, discretion.offences.map((o) => el("option", { value: o.id }, offenceName(o.id))))),
  el("label", {}, t("cases.circumstance"), " ", keptField("select", "case-circumstance", { name: "circumstance" }, circumstances.map((c) => el("option", { value: c, selected: c === "general" }, word("circumstance", c))))),
  el("label", {}, t("cases.deadline_days"), " ", keptField("input", "case-deadline", { name: "deadline", type: "number", min: "0.001", step: "any", placeholder: "15" })),
  keptField("textarea", "case-requirements", { name: "requirements", rows: 2, placeholder: t("cases.requirements") }),
  el("button", { type: "submit", class: "primary" }, t("cases.open")));
}

// Only the steps the case allows now (the server's `next.steps`); the fine box with a penalty, the
// measure to lift with a lift.
function nextStep(c, rerender) {
  const allowed = c.next?.steps ?? [];
  if (c.state !== "open" || !allowed.length) return null;
  const measures = c.steps.filter((s) => (c.next.measures ?? []).includes(s.id));
  const keys = ["kind", "fine", "measure", "note"].map((name) => `step-${c.id}-${name}`);
  const choices = allowed.flatMap((k) => (k === "recheck" ? ["recheck:fail", "recheck:pass"] : [k]));
  const kind = keptField("select", keys[0], { name: "kind" }, choices.map((k) =>
    el("option", { value: k }, k.startsWith("recheck") ? `${word("case_step", "recheck")}: ${t(`cases.${k.split(":")[1]}`)}` : word("case_step", k))));
  if (!choices.includes(kind.value)) kind.value = choices[0];
  const fine = el("label", { class: "fine" }, t("cases.fine"), " ", keptField("input", keys[1], { name: "fine", type: "number", min: "0", step: "1" }));
  const measure = el("label", { class: "measure" }, t("cases.lifts"), " ",
    keptField("select", keys[2], { name: "measure" }, measures.map((m) => el("option", { value: m.id }, `${word("case_step", m.kind)} ${m.number ?? m.id}`))));
  const shown = () => { fine.hidden = kind.value !== "penalty"; measure.hidden = kind.value !== "lift"; };
  kind.addEventListener("change", shown);
  shown();
  return el("form", { class: "toolbar next-step", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    const [chosen, passed] = f.kind.value.split(":");
    const body = { kind: chosen, note: f.note.value.trim() };
    if (chosen === "recheck") body.passed = passed === "pass";
    if (chosen === "penalty" && f.fine.value) body.fine_yuan = Number(f.fine.value);
    if (chosen === "lift") body.measure = Number(f.measure.value);
    try { await post(`/api/cases/${c.id}/steps`, body); forgetFields(...keys); rerender(); } catch (error) { flash(error); }
  } },
  el("label", {}, t("cases.step"), " ", kind), fine, measure,
  keptField("input", keys[3], { name: "note", placeholder: t("check.note") }),
  el("button", { type: "submit", class: "primary" }, t("cases.take_step")));
}

// What the case waits for and who acts: an admin's approval, the inspector's re-check, a decision
// after a failed re-check, a lift, the close.
function nextUp(c) {
  const n = c.next;
  if (!n) return null;
  const step = c.steps.find((s) => s.id === n.step);
  return el("p", { class: "next-up", dataset: { waiting: n.waiting, who: n.who ?? "" } },
    el("strong", {}, `${t("cases.next")}: `), n.who ? `${t(`cases.who_${n.who}`)} · ` : "", t(`cases.wait_${n.waiting}`),
    step ? ` (${word("case_step", step.kind)}${step.number ? ` ${step.number}` : ""})` : "",
    n.waiting === "recheck" ? [" · ", t("col.deadline"), " ", when(c.deadline)] : "");
}

function caseDetail(c, me, rerender) {
  const decide = async (s, verdict) => {
    const note = prompt(t(`cases.${verdict}`), "");
    if (note === null) return;
    try { await post(`/api/case-steps/${s.id}/${verdict}`, { note }); rerender(); } catch (error) { flash(error); }
  };
  const doc = (s, format) => el("a", { href: `/api/cases/${c.id}/steps/${s.id}/document?format=${format}`, target: "_blank" }, format.toUpperCase());
  return [
    el("h1", {}, `${c.number} · ${t(`case_state.${c.state}`)}`),
    el("p", {}, premisesLink(c.premises_id, c.premises_name), ` · ${c.unit_name} · ${t("unit.credit")}: `, el("span", { class: "credit" }, word("credit", c.credit_status))),
    el("p", {}, `${offenceName(c.offence)} · ${word("circumstance", c.circumstance)}`, c.hazard_label ? ` · ${render(c.hazard_label, c.hazard_title)}` : "",
      c.self_reported ? ` · ${t("unit.self_reported")}` : ""),
    el("p", {}, `${t("col.deadline")}: `, when(c.deadline)),
    nextUp(c),
    table(["cases.step", "col.state", "cases.number", "cases.fine", "check.note", "cases.by", "cases.documents"], c.steps.map((s) => el("tr", { dataset: { step: s.id, kind: s.kind, state: s.state } },
      el("td", {}, word("case_step", s.kind), s.kind === "recheck" ? ` (${t(s.detail.passed ? "cases.pass" : "cases.fail")})` : "",
        s.detail.exemption ? ` · ${word("exemption", s.detail.exemption)}` : ""),
      el("td", { class: "step-state" }, word("step_state", s.state)), el("td", { class: "number" }, s.number ?? "–"),
      el("td", { class: "num" }, s.fine_yuan ?? "–"), el("td", {}, s.detail.note ?? "", s.decision_note ? ` · ${s.decision_note}` : ""),
      el("td", {}, `${actorName(s.proposed_by)} ${when(s.proposed_at)}`, s.decided_by && s.decided_by !== s.proposed_by ? el("div", { class: "muted" }, `${actorName(s.decided_by)} ${when(s.decided_at)}`) : null),
      el("td", {}, s.kind !== "close" ? [doc(s, "html"), " ", doc(s, "pdf")] : null,
        s.state === "pending" && me.role === "admin" ? [" ", el("button", { class: "primary approve", onclick: () => decide(s, "approve") }, t("cases.approve")),
          " ", el("button", { class: "refuse", onclick: () => decide(s, "refuse") }, t("cases.refuse"))] : null))), { id: "steps" }),
    me.role === "operator" ? null : nextStep(c, rerender),
  ];
}

export async function casesView(arg, me, rerender) {
  discretion ??= await api("/api/discretion");
  if (arg && /^\d+$/.test(arg)) return caseDetail(await api(`/api/cases/${arg}`), me, rerender);
  const [cases, reports, major] = await Promise.all([api("/api/cases"), api("/api/rectifications"), api("/api/major-hazards")]);
  const verdict = async (r, kind) => {
    const note = prompt(t(`cases.${kind}`), "");
    if (note === null) return;
    try { await post(`/api/rectifications/${r.id}/${kind}`, { note }); rerender(); } catch (error) { flash(error); }
  };
  const pending = cases.filter((c) => c.pending > 0);
  const caseRow = (c) => el("tr", { dataset: { case: c.id } },
    el("td", {}, el("a", { href: `#/cases/${c.id}` }, c.number)), el("td", {}, premisesLink(c.premises_id, c.premises_name)),
    el("td", {}, offenceName(c.offence)), el("td", {}, t(`case_state.${c.state}`)), dueCell(c.deadline), el("td", { class: "num" }, c.pending || ""));
  const head = ["cases.number", "col.premises", "cases.offence", "col.state", "col.deadline", "cases.pending"];
  return [
    el("h1", {}, t("nav.cases")),
    pending.length ? [el("h2", {}, t("cases.awaiting"), ` (${pending.length})`), table(head, pending.map(caseRow), { id: "pending-cases" })] : null,
    el("h2", {}, t("cases.reports"), ` (${reports.length})`),
    table(["col.premises", "col.hazard", "check.note", "cases.evidence", "col.time", "col.actions"], reports.map((r) => el("tr", { dataset: { report: r.id } },
      el("td", {}, premisesLink(r.premises_id, r.premises_name)), el("td", {}, render(r.label, r.title)), el("td", {}, r.note),
      el("td", {}, r.evidence.map((sha) => el("a", { href: `/api/evidence/${sha}`, target: "_blank" }, sha.slice(0, 8), " "))),
      el("td", {}, when(r.submitted_at)),
      el("td", {}, me.role === "operator" ? null : [el("button", { class: "primary verify", onclick: () => verdict(r, "verify") }, t("cases.verify")), " ",
        el("button", { class: "reject", onclick: () => verdict(r, "reject") }, t("cases.reject"))]))), { id: "reports" }),
    el("h2", {}, t("cases.major_list"), ` (${major.length})`),
    table(["col.premises", "col.hazard", "col.deadline", "cases.listed"], major.map((h) => el("tr", { dataset: { hazard: h.id } },
      el("td", {}, premisesLink(h.premises_id, h.premises_name)), el("td", {}, render(h.label, h.title)), dueCell(h.deadline), el("td", {}, when(h.listed_at))))),
    me.role === "operator" ? null : newCaseForm(arg?.startsWith("hazard-") ? arg.slice(7) : null),
    el("div", { class: "toolbar publication" }, el("strong", {}, t("cases.publication")), ["inspection", "penalty", "coercive", "licence"].flatMap((kind) =>
      [" ", el("a", { href: `/api/publication/enforcement?kind=${kind}&format=csv`, dataset: { kind } }, t(`cases.publish_${kind}`))])),
    el("h2", {}, t("cases.all"), ` (${cases.length})`),
    pagedTable(head, cases, caseRow, { id: "cases" }),
  ];
}
