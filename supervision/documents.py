"""The documents of an enforcement case (执法文书), generated from the case's data as HTML (Jinja2)
and PDF (WeasyPrint): 责令改正通知书, 复查意见书, 临时查封决定书, 责令停产停业停止使用决定书,
行政处罚决定书, 不予行政处罚决定书 and 解除决定书, numbered when they take effect."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

import jinja2

from core.pdf import html_to_pdf
from core.policy import Policy
from core.words import render, word
from supervision.case_store import Case, CaseStep
from supervision.cases import DOCUMENTED
from supervision.discretion import DiscretionTable, MeasureText, Offence
from supervision.errors import CaseError

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("supervision", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)
TITLES = {
    "order": "责令改正通知书",
    "recheck": "复查意见书",
    "seal_up": "临时查封决定书",
    "stop": "责令停产停业停止使用决定书",
    "penalty": "行政处罚决定书",
    "exemption": "不予行政处罚决定书",
    "lift": "解除强制措施决定书",
}
_EXEMPTIONS = {
    "self_reported": "该火灾隐患系你单位主动发现并申报，且已按要求整改",
    "first_offence": "你单位系初次违法且情节轻微，并已及时改正",
}
_REMEDY = "如不服本决定，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。"


def _date(at: datetime | None, tz: ZoneInfo) -> str:
    if at is None:
        return "____年__月__日"
    local = at.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日"


_LAW = "《中华人民共和国消防法》"


def _body(kind: str, case: Case, step: CaseStep, offence: Offence, tz: ZoneInfo) -> list[str]:
    detail = step["detail"]
    found = f"经检查，你单位（场所）存在下列违反消防法律法规的行为：{offence.zh}。"
    if kind == "order":
        deadline = _date(datetime.fromisoformat(str(detail["deadline"])), tz)
        demand = detail.get("requirements") or "消除上述火灾隐患"
        return [
            found,
            f"根据{offence.basis}的规定，现责令你单位于{deadline}前改正。整改要求：{demand}。",
            "改正期间，你单位应当采取措施，确保消防安全。对此，我机构将进行复查。",
        ]
    if kind == "recheck":
        verdict = "已按要求改正" if detail.get("passed") else "未按要求改正"
        late = "，已逾改正期限" if detail.get("overdue") else ""
        return [
            f"根据{case['number']}案件的责令改正通知书，我机构对你单位整改情况进行了复查。",
            f"经复查，上述违法行为{verdict}{late}。",
        ]
    if kind == "seal_up":
        return [
            found,
            f"经复查未改正，该火灾隐患不及时消除可能严重威胁公共安全。根据{_LAW}第五十四条的规定，"
            "决定对危险部位或者场所予以临时查封。",
            "查封期间，你单位不得擅自启封、使用被查封的部位或者场所。",
        ]
    if kind == "stop":
        return [
            found,
            f"经复查未改正。根据{_LAW}的有关规定，决定责令你单位停产停业（停止使用），"
            "至火灾隐患消除并经我机构复查合格为止。",
        ]
    if kind == "penalty":
        fine = f"{float(step['fine_yuan'] or 0):,.2f}"
        return [
            found,
            f"以上事实有现场检查记录、复查记录等证据证实。根据{offence.basis}的规定，决定对你单位处人民币{fine}元罚款。",
            "罚款应于收到本决定书之日起十五日内缴纳。",
        ]
    if kind == "exemption":
        reason = _EXEMPTIONS.get(str(detail.get("exemption", "")), "")
        return [found, f"鉴于{reason}，根据《中华人民共和国行政处罚法》第三十三条的规定，决定不予行政处罚。"]
    if kind == "lift":
        return [
            "经复查，你单位已消除火灾隐患。",
            f"根据{_LAW}的有关规定，决定解除{case['number']}案件中采取的强制措施。",
        ]
    raise CaseError(f"a {kind} step has no document")


def html(case: Case, step_id: int, table: DiscretionTable, policy: Policy,
         timezone: str = "Asia/Shanghai") -> str:  # fmt: skip
    """The document of step ``step_id`` of ``case`` (as :func:`supervision.case_store.get_case` gives it)."""
    step = next((s for s in case["steps"] if s["id"] == step_id), None)
    if step is None:
        raise CaseError(f"no step {step_id} in case {case['number']}")
    if step["kind"] not in DOCUMENTED:
        raise CaseError(f"a {step['kind']} step has no document")
    offence = table.offence(case["offence"])
    if offence is None:
        raise CaseError(f"offence {case['offence']!r} is no longer in the discretion table")
    tz = ZoneInfo(timezone)
    low, high = offence.ranges[case["circumstance"]]
    hazard_label = case["hazard_label"]
    return _ENV.get_template("document.html.j2").render(
        authority=policy.enforcement.authority,
        title=TITLES[step["kind"]],
        case=case,
        step=step,
        offence=offence,
        measure=cast(Mapping[str, MeasureText], table.measures).get(step["kind"]),
        hazard=render("zh", hazard_label) if hazard_label else None,
        circumstance=word("zh", "circumstance", case["circumstance"]),
        range=f"{low:,.0f} 至 {high:,.0f} 元",
        body=_body(step["kind"], case, step, offence, tz),
        remedy=_REMEDY if step["kind"] in ("seal_up", "stop", "penalty") else None,
        date=_date(step["decided_at"] or step["proposed_at"], tz),
        proposed=_date(step["proposed_at"], tz),
        decided=_date(step["decided_at"], tz),
    )


def pdf(case: Case, step_id: int, table: DiscretionTable, policy: Policy) -> bytes:
    return html_to_pdf(html(case, step_id, table, policy))
