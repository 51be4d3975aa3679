// A task's inspection checklist (the items of its premises' category): pass, fail or not applicable per
// item, with a note and a photo; a failed item opens a hazard when the visit is recorded. Works on a
// phone. The unit's self-check uses the same panel, keyed "self-<premises>" and read from its portal.

import { api, el, uploadAs, uploadStatus } from "/static/dom.js";
import { lang, t } from "/static/i18n.js";

// What was ticked and typed, per task and item, kept across the live refreshes until recorded.
const drafts = new Map();
// Each open task's checklist as read once, so a live refresh redraws the panel at once instead of
// showing it empty while the list is read again.
const loaded = new Map();

export function checksOf(taskId) {
  const ticked = drafts.get(taskId);
  if (!ticked) return [];
  return [...ticked.entries()].filter(([, c]) => c.result)
    .map(([item, c]) => ({ item, result: c.result, note: c.note ?? "", photo: c.photo ?? null }));
}

export function forget(taskId) {
  drafts.delete(taskId);
  loaded.delete(taskId);
}

// The panel now if the task's checklist was read before, else null.
export function checklistPanelNow(taskId) {
  const data = loaded.get(taskId);
  return data ? draw(taskId, data) : null;
}

export async function checklistPanel(taskId, path = `/api/tasks/${taskId}/checklist`) {
  if (!loaded.has(taskId)) loaded.set(taskId, await api(path));
  return draw(taskId, loaded.get(taskId));
}

function draw(taskId, data) {
  const ticked = drafts.get(taskId) ?? new Map();
  drafts.set(taskId, ticked);
  const text = (item) => (lang() === "zh" ? item.zh : item.en);
  const row = (item) => {
    const current = ticked.get(item.id) ?? {};
    const choice = (result) => el("label", { class: `check-choice ${result}` },
      el("input", { type: "radio", name: `check-${taskId}-${item.id}`, value: result, checked: current.result === result,
        onchange: () => ticked.set(item.id, { ...(ticked.get(item.id) ?? {}), result }) }),
      t(`check.${result}`));
    const note = el("input", { class: "check-note", placeholder: t("check.note"), value: current.note ?? "", dataset: { field: `note-${taskId}-${item.id}` },
      oninput: (e) => ticked.set(item.id, { ...(ticked.get(item.id) ?? {}), note: e.target.value }) });
    const key = `check-${taskId}-${item.id}`;
    const photoState = uploadStatus(key, current.photo ? t("check.photo_kept") : "");
    const photo = el("input", { type: "file", class: "check-photo", accept: "image/jpeg,image/png", onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const sha = await uploadAs(key, file);
      if (sha) ticked.set(item.id, { ...(ticked.get(item.id) ?? {}), photo: sha });
    } });
    return el("li", { class: `check-item ${item.severity}`, dataset: { item: item.id } },
      el("div", { class: "check-text" }, text(item), item.severity === "major" ? el("span", { class: "badge red" }, t("check.major")) : null),
      el("div", { class: "muted check-basis" }, `${t("check.basis")}: ${item.basis}`),
      el("div", { class: "check-choices" }, ["pass", "fail", "na"].map(choice), note),
      el("div", { class: "check-evidence" }, el("label", { class: "check-photo-label" }, t("check.photo"), photo), photoState));
  };
  return el("div", { class: "checklist", dataset: { task: taskId, version: data.version } },
    el("div", { class: "muted" }, `${t("tasks.checklist")} · v${data.version} · ${data.items.length}`),
    el("ol", {}, data.items.map(row)));
}
