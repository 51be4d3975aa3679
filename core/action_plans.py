"""Action plans: what a monitoring-centre operator must do, step by step, for each incident class.

Part of the policy file (``[[action_plans.<class>]]``), as the fire authority writes its own
procedures; the defaults follow DOMAIN.md's norms (NFPA 72's positive alarm sequence: investigate
within 180 s; supervisory follow-up within 2 h, trouble within 4 h). A step with ``note_required``
cannot be skipped: resolving the incident is refused until the operator has written what they did
for it. Every step carries its text in Chinese and English, as the console shows either.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    note_required: bool = False


def _step(ident: str, zh: str, en: str, note: bool = False) -> PlanStep:
    return PlanStep(id=ident, zh=zh, en=en, note_required=note)


def default_action_plans() -> dict[str, tuple[PlanStep, ...]]:
    """Incident class -> its steps, in order."""
    s = _step
    return {
        "fire": (
            s(
                "call_control_room",
                "电话联系单位消防控制室或值班人员，核实火情",
                "Phone the premises' fire control room or duty staff and confirm the fire",
                note=True,
            ),
            s(
                "call_119",
                "向119指挥中心报警，说明确认依据",
                "Report to 119 dispatch, saying how the fire was confirmed",
                note=True,
            ),
            s("inspector_informed", "确认责任区监督员已收到推送", "Check that the on-duty inspector got the page"),
            s(
                "watch_systems",
                "在场所页面关注喷淋、消防泵和水压变化",
                "Watch sprinkler flow, fire pumps and water pressure on the premises page",
            ),
            s("outcome", "记录起火原因和处置结果", "Record the cause and the outcome", note=True),
        ),
        "alarm": (
            s(
                "verify_on_site",
                "联系单位消防控制室，3分钟内到报警区域现场核实",
                "Ask the fire control room to check the alarm zone on site within 3 minutes",
                note=True,
            ),
            s(
                "second_signal",
                "查看场所页面有无第二个探测器、水流指示器或温升",
                "Look for a second detector, a flow switch or a heat rise on the premises page",
            ),
            s(
                "decide",
                "确认起火或3分钟内无人应答：立即向119报警",
                "Fire confirmed, or nobody answers within 3 minutes: report to 119 at once",
                note=True,
            ),
        ),
        "nuisance": (
            s(
                "confirm_cause",
                "电话确认误报原因（烹饪、蒸汽、粉尘、测试）",
                "Phone the unit and confirm the cause (cooking, steam, dust, a test)",
                note=True,
            ),
            s(
                "advise_unit",
                "提醒单位整改；30天内多次误报将立案为隐患",
                "Advise the unit; repeated false alarms in 30 days open a hazard",
            ),
        ),
        "hazard": (
            s(
                "inform_unit",
                "通知责任单位和监督员，约定整改期限",
                "Inform the responsible unit and the inspector; agree the fix deadline",
                note=True,
            ),
            s("hazard_recorded", "确认隐患已立案并有整改期限", "Check that the hazard is recorded with its deadline"),
        ),
        "supervisory": (
            s(
                "person_on_site",
                "联系单位，2小时内派人到场",
                "Phone the unit: a person on site within 2 hours",
                note=True,
            ),
            s("follow_up", "跟踪至监管信号恢复", "Follow up until the supervisory signal clears"),
        ),
        "trouble": (
            s(
                "maintenance",
                "联系单位维保，4小时内检查设备",
                "Phone the unit's maintenance: check the device within 4 hours",
                note=True,
            ),
            s("outage", "超过8小时未恢复：通知监督员", "Not cleared after 8 hours: tell the inspector"),
        ),
    }
