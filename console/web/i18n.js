// Console labels in Chinese and English, and the domain's vocabulary (tiers, classes, rules, categories,
// message templates) from /static/vocabulary.json, the same file the report and the notices use. The
// choice is kept in localStorage ("fw-lang"); Chinese is the default, as the users are Chinese fire
// services. What the server decided arrives as a label {code, args}: render() puts it in words.

const LABELS = {
  zh: {
    brand: "消防物联网监控中心",
    "nav.queue": "警情队列", "nav.overview": "全市总览", "nav.offline": "离线设备", "nav.kpis": "考核指标",
    "nav.tasks": "我的任务", "nav.hazards": "隐患", "nav.audit": "操作日志",
    logout: "退出", login: "登录", user: "用户名", password: "密码", "login.failed": "用户名或密码错误",
    "live.on": "实时", "live.off": "连接中断", "live.now": "当前", "tier.long_run": "长期风险", "col.now": "当前状态",
    "premises.if_closed": "整改后的风险", "premises.if_closed_none": "没有可整改的未结事项", "premises.lowers": "可降低风险等级",
    "fire.banner": "确认火警", acknowledge: "受理", resolve: "办结", cancel: "取消", save: "提交",
    "col.class": "类别", "col.premises": "场所", "col.zone": "区域", "col.title": "警情", "col.state": "状态",
    "col.events": "次数", "col.age": "时长", "col.actions": "操作", "col.device": "设备", "col.type": "类型",
    "col.location": "位置", "col.since": "开始时间", "col.value": "最新值", "col.signals": "活动信号",
    "col.deadline": "整改期限", "col.due": "到期", "col.reason": "原因", "col.kind": "任务类型",
    "col.jurisdiction": "辖区", "col.time": "时间", "col.actor": "操作人", "col.action": "动作",
    "col.subject": "对象", "col.details": "详情", "col.inspector": "监督员", "col.tier": "风险等级",
    "col.score": "风险分",
    "filter.all": "全部", "filter.unresolved": "未办结",
        "state.open": "未受理", "state.acknowledged": "已受理", "state.resolved": "已办结", "state.recovered": "信号已恢复",
    "state.closed": "已销案", "state.unclosed": "未销案", "state.unresolved": "未办结",
    "hazard.open": "待整改", "hazard.recovered": "信号已恢复，待确认", "hazard.closed": "已销案", "col.hazard": "隐患",
        "device.ok": "正常", "device.offline": "离线", "device.trouble": "故障", "device.supervisory": "监管",
    "device.hazard": "隐患", "device.silent": "无数据", "device.alarm": "火警", "device.disabled": "屏蔽",
    "device.over_limit": "超限", "signal.fire_alarm": "火警", "signal.over": "超过限值",
    "uitd.duty_check": "查岗", "uitd.sync_clock": "校时", "uitd.confirmed": "已确认", "uitd.denied": "被否认",
    "uitd.answered": "已应答", "uitd.waiting": "等待回复",
    "res.real_fire": "真实火警", "res.false_alarm_cooking": "误报：烹饪、蒸汽或吸烟",
    "res.false_alarm_dust": "误报：粉尘、昆虫或施工", "res.false_alarm_malfunction": "误报：探测器或主机故障",
    "res.false_alarm_test": "误报：未通知的测试或维保", "res.false_alarm_other": "误报：其他原因（请在备注说明）",
    "res.device_fault": "设备故障，转维保", "res.hazard_handled": "隐患，转隐患流程",
    "res.condition_cleared": "信号自行恢复", "res.duplicate": "重复警情",
    "resolve.title": "办结警情", "resolve.plan": "处置预案", "resolve.code": "办结结论", "resolve.note": "备注",
    "resolve.required": "必填说明",
    "premises.profile": "场所档案", "premises.unit": "责任单位", "premises.factors": "主要风险因素",
    "premises.devices": "设备状态", "premises.readings": "监测数据", "premises.risk": "风险分变化",
    "premises.incidents": "未办结警情", "premises.hazards": "未销案隐患", "premises.tasks": "待办检查任务", "premises.cases": "办理中的执法案件",
    "premises.category": "类别", "premises.address": "地址", "premises.floors": "层数",
    "chart.water_pressure_mpa": "水压 (MPa)", "chart.residual_current_ma": "剩余电流 (mA)",
    "chart.temperature": "温度 (°C)", "chart.tank_level_m": "水箱液位 (m)", "chart.score": "风险分",
    "overview.tiers": "风险等级分布", "overview.map": "场所分布（按风险等级着色，点击查看）",
    "overview.incidents": "未办结警情", "overview.offline": "离线设备", "overview.top": "当前有警情的场所，及重大、较大风险场所",
    "kpi.period": "统计周期", "kpi.days": "天", "kpi.incidents": "警情", "kpi.alarms": "火警", "kpi.fires": "确认火警",
    "kpi.ack_p50": "受理时长中位数", "kpi.ack_p90": "受理时长90分位", "kpi.unacknowledged": "未受理",
    "kpi.false_share": "误报率", "kpi.open_hazards": "未销案隐患", "kpi.overdue_hazards": "逾期隐患", "kpi.total": "合计",
    "tasks.today": "今日任务", "tasks.upcoming": "未来7天", "tasks.findings": "检查发现（每行一条，无发现则留空）",
    "tasks.record": "记录检查结果", "tasks.confirm_fixed": "确认已整改", "tasks.none": "没有任务",
    "tasks.inspector": "监督员", "tasks.choose": "选择监督员…", "tasks.show": "查看", "tasks.recorded": "已记录",
    "hazards.close": "销案", "hazards.overdue": "已逾期", "hazards.mine": "只看我的",
    "audit.older": "更早", "audit.filter": "筛选",
    "cases.publication": "执法信息公示（CSV）", "cases.publish_inspection": "检查", "cases.publish_penalty": "处罚",
    "cases.publish_coercive": "强制措施", "cases.publish_licence": "许可",
    "checklists.title": "场所分类检查指引", "checklists.edit": "编辑（JSON，保存为新版本）", "checklists.save": "保存为新版本",
    "col.id": "编号", "col.check": "检查项", "check.severity": "严重程度", "check.categories": "适用场所", "check.all": "全部",
    "check.general": "一般", "nav.unit": "本单位", "nav.cases": "执法办案", "case_state.open": "办理中", "case_state.closed": "已结案",
    "cases.all": "全部案件", "cases.approve": "审核通过", "cases.refuse": "审核不通过", "cases.awaiting": "待法制审核",
    "cases.circumstance": "情节", "cases.deadline_days": "整改期限（天）", "cases.fine": "罚款（元）", "cases.major": "挂牌督办",
    "cases.major_list": "重大火灾隐患挂牌督办", "cases.list_major": "挂牌督办", "cases.new": "立案（责令改正）", "cases.offence": "违法行为",
    "cases.open": "立案", "cases.reject": "退回", "cases.verify": "核查通过", "cases.reports": "单位整改报告核查",
    "cases.requirements": "整改要求（写入责令改正通知书）", "cases.take_step": "办理", "cases.target": "隐患编号或场所编号",
    "cases.target_hint": "如 12 或 P-000001", "cases.pass": "已改正", "cases.fail": "未改正", "cases.by": "承办 / 审核",
    "cases.documents": "文书", "cases.evidence": "证据", "cases.listed": "挂牌时间", "cases.number": "编号", "cases.pending": "待审",
    "cases.next": "下一步", "cases.step": "办理事项", "cases.lifts": "解除的措施", "cases.who_admin": "管理员",
    "cases.who_inspector": "承办监督员", "cases.wait_approval": "法制审核：由提出人以外的管理员审核通过或不通过",
    "cases.wait_recheck": "整改期限届满后复查", "cases.wait_decision": "复查未改正：临时查封、责令三停、罚款，或再次复查",
    "cases.wait_lift": "复查已改正：解除强制措施，然后结案", "cases.wait_close": "复查已改正：可以结案", "cases.wait_nothing": "已结案",
    "unit.cases": "执法文书", "unit.commit": "签署承诺", "unit.commit_hint": "承诺内容（如：落实消防安全主体责任，每日防火巡查……）",
    "unit.commitments": "消防安全承诺", "unit.credit": "信用", "unit.credit_history": "信用记录", "unit.days": "天",
    "unit.every": "每", "unit.hazards": "本单位隐患", "unit.last": "上次", "unit.mark_read": "确认已阅", "unit.read": "阅读回执",
    "unit.read_at": "已阅", "unit.rectified": "提交整改报告", "unit.rectified_hint": "整改情况", "unit.report": "主动申报隐患",
    "unit.report_hint": "发现的隐患（主动申报的隐患依法不予处罚）", "unit.self_check": "单位自查", "unit.self_reported": "主动申报",
    "unit.start_self_check": "开始自查", "unit.submit_self_check": "提交自查", "unit.case": "案件", "unit.from": "原状态",
    "unit.to": "新状态", "unit.rectification": "整改报告",
    "unit.todo": "待办事项（按期限）", "unit.todo_fix": "整改隐患：", "unit.todo_self_check": "完成自查", "unit.todo_case": "落实责令改正通知书",
    "unit.todo_notice": "阅读警示通知：", "unit.todo_now": "尽快", "unit.todo_none": "暂无待办事项",
    "nav.notices": "通知与抽查", "notices.title": "风险警示通知", "draws.title": "双随机抽查",
    "col.period": "批次", "col.seed": "随机种子", "col.inspectors": "抽中监督员", "col.notice": "通知内容",
    "col.issued": "发出时间", "col.done": "已完成",
    "range.1": "1小时", "range.6": "6小时", "range.24": "24小时", "range.168": "7天",
    "kpi.trend": "每日警情趋势", "kpi.compare": "各辖区对比", "kpi.report": "监督工作报告",
    "kpi.report_period": "周期（如 2026、2026-Q3、2026-11）", "kpi.report_html": "网页版", "kpi.report_pdf": "PDF",
    "kpi.false_alarms": "误报", "pager.prev": "上一页", "pager.next": "下一页", "pager.of": "共",
    "login.throttled": "登录失败次数过多，请 {s} 秒后再试",
    "login.unreachable": "无法连接服务器，请稍后再试",
    "login.error": "服务器出错（{s}），请稍后再试",
    "yes": "是", "no": "否", "tasks.checklist": "检查表", "check.pass": "合格", "check.fail": "不合格", "check.na": "不适用",
    "check.note": "说明（可选）", "check.basis": "依据", "check.major": "重大", "check.photo": "照片", "check.photo_kept": "照片已上传",
    "draws.new": "新抽查", "draws.make": "抽取", "draws.beacon": "公开随机值", "draws.beacon_hint": "事先公布的随机值（如当期彩票开奖号）",
    "draws.verify": "核验", "draws.intact": "核验一致", "draws.broken": "核验不一致",
    "col.recipients": "送达对象", "delivery.pending": "待发送", "delivery.delivered": "已送达", "delivery.dead": "发送失败",
    "queue.inhibited_by": "由警情 #{n} 抑制", empty: "暂无", loading: "加载中…", "chart.time": "时间", unit_s: "秒", unit_min: "分钟", unit_h: "小时", "error.generic": "操作失败",
  },
  en: {
    brand: "Firewarden",
    "nav.queue": "Alarm queue", "nav.overview": "City overview", "nav.offline": "Devices offline", "nav.kpis": "KPIs",
    "nav.tasks": "My tasks", "nav.hazards": "Hazards", "nav.audit": "Audit log",
    logout: "Log out", login: "Log in", user: "User", password: "Password", "login.failed": "Wrong user or password",
    "live.on": "live", "live.off": "disconnected", "live.now": "Now", "tier.long_run": "Long-run risk", "col.now": "Now",
    "premises.if_closed": "If an open item were closed", "premises.if_closed_none": "No open item to close", "premises.lowers": "lowers the tier",
    "fire.banner": "CONFIRMED FIRE", acknowledge: "Acknowledge", resolve: "Resolve", cancel: "Cancel", save: "Submit",
    "col.class": "Class", "col.premises": "Premises", "col.zone": "Zone", "col.title": "Incident", "col.state": "State",
    "col.events": "Events", "col.age": "Age", "col.actions": "Actions", "col.device": "Device", "col.type": "Type",
    "col.location": "Location", "col.since": "Since", "col.value": "Latest", "col.signals": "Active signals",
    "col.deadline": "Deadline", "col.due": "Due", "col.reason": "Reason", "col.kind": "Kind",
    "col.jurisdiction": "Jurisdiction", "col.time": "Time", "col.actor": "Actor", "col.action": "Action",
    "col.subject": "Subject", "col.details": "Details", "col.inspector": "Inspector", "col.tier": "Tier",
    "col.score": "Score",
    "filter.all": "all", "filter.unresolved": "unresolved",
        "state.open": "open", "state.acknowledged": "acknowledged", "state.resolved": "resolved", "state.recovered": "recovered",
    "state.closed": "closed", "state.unclosed": "not closed", "state.unresolved": "unresolved",
    "hazard.open": "open", "hazard.recovered": "recovered, to confirm", "hazard.closed": "closed", "col.hazard": "Hazard",
        "device.ok": "ok", "device.offline": "offline", "device.trouble": "trouble", "device.supervisory": "supervisory",
    "device.hazard": "hazard", "device.silent": "no data", "device.alarm": "ALARM", "device.disabled": "disabled",
    "device.over_limit": "over limit", "signal.fire_alarm": "fire alarm", "signal.over": "beyond its limit",
    "uitd.duty_check": "Duty check", "uitd.sync_clock": "Sync clock", "uitd.confirmed": "confirmed", "uitd.denied": "denied",
    "uitd.answered": "answered", "uitd.waiting": "awaiting an answer",
    "res.real_fire": "A real fire", "res.false_alarm_cooking": "False alarm: cooking, steam or smoking",
    "res.false_alarm_dust": "False alarm: dust, insects or construction", "res.false_alarm_malfunction": "False alarm: detector or panel malfunction",
    "res.false_alarm_test": "False alarm: unannounced test or maintenance", "res.false_alarm_other": "False alarm: another cause (say which)",
    "res.device_fault": "Device fault, to maintenance", "res.hazard_handled": "Hazard, to the hazard process",
    "res.condition_cleared": "Cleared by itself", "res.duplicate": "Duplicate",
    "resolve.title": "Resolve incident", "resolve.plan": "Action plan", "resolve.code": "Resolution", "resolve.note": "Note",
    "resolve.required": "note required",
    "premises.profile": "Profile", "premises.unit": "Responsible unit", "premises.factors": "Top risk factors",
    "premises.devices": "Devices", "premises.readings": "Readings", "premises.risk": "Risk score history",
    "premises.incidents": "Open incidents", "premises.hazards": "Open hazards", "premises.tasks": "Open inspection tasks", "premises.cases": "Open enforcement cases",
    "premises.category": "Category", "premises.address": "Address", "premises.floors": "Floors",
    "chart.water_pressure_mpa": "Water pressure (MPa)", "chart.residual_current_ma": "Residual current (mA)",
    "chart.temperature": "Temperature (°C)", "chart.tank_level_m": "Tank level (m)", "chart.score": "Risk score",
    "overview.tiers": "Premises by risk tier", "overview.map": "Premises by tier (click one to open it)",
    "overview.incidents": "Open incidents", "overview.offline": "Devices offline", "overview.top": "Premises with something happening now, then red and orange ones",
    "kpi.period": "Period", "kpi.days": "days", "kpi.incidents": "Incidents", "kpi.alarms": "Alarms", "kpi.fires": "Fires",
    "kpi.ack_p50": "Time to ack, median", "kpi.ack_p90": "Time to ack, p90", "kpi.unacknowledged": "Unacknowledged",
    "kpi.false_share": "False-alarm share", "kpi.open_hazards": "Open hazards", "kpi.overdue_hazards": "Overdue hazards", "kpi.total": "Total",
    "tasks.today": "Today", "tasks.upcoming": "Next 7 days", "tasks.findings": "Findings (one per line; empty for a clean visit)",
    "tasks.record": "Record visit", "tasks.confirm_fixed": "Confirm fixed", "tasks.none": "No tasks",
    "tasks.inspector": "Inspector", "tasks.choose": "Choose an inspector…", "tasks.show": "Show", "tasks.recorded": "recorded",
    "hazards.close": "Close", "hazards.overdue": "overdue", "hazards.mine": "mine only",
    "audit.older": "Older", "audit.filter": "Filter",
    "cases.publication": "Enforcement information for publication (CSV)", "cases.publish_inspection": "inspections",
    "cases.publish_penalty": "penalties", "cases.publish_coercive": "coercive measures", "cases.publish_licence": "licences",
    "checklists.title": "Inspection checklists", "checklists.edit": "Edit (JSON, saved as the next version)", "checklists.save": "Save as new version",
    "col.id": "id", "col.check": "check", "check.severity": "severity", "check.categories": "applies to", "check.all": "all",
    "check.general": "general", "nav.unit": "My premises", "nav.cases": "Enforcement", "case_state.open": "open", "case_state.closed": "closed",
    "cases.all": "All cases", "cases.approve": "Approve", "cases.refuse": "Refuse", "cases.awaiting": "Awaiting legal review",
    "cases.circumstance": "circumstance", "cases.deadline_days": "deadline (days)", "cases.fine": "fine (yuan)", "cases.major": "listed major hazard",
    "cases.major_list": "Major hazards listed for supervision", "cases.list_major": "List as major", "cases.new": "Open a case (rectification order)",
    "cases.offence": "offence", "cases.open": "Open case", "cases.reject": "Reject", "cases.verify": "Verify",
    "cases.reports": "Units' rectification reports", "cases.requirements": "what the order requires (printed on it)",
    "cases.take_step": "Record", "cases.target": "hazard id or premises id", "cases.target_hint": "e.g. 12 or P-000001",
    "cases.pass": "corrected", "cases.fail": "not corrected", "cases.by": "proposed / decided", "cases.documents": "Documents",
    "cases.evidence": "evidence", "cases.listed": "listed", "cases.number": "Number", "cases.pending": "pending",
    "cases.next": "Next", "cases.step": "Step", "cases.lifts": "measure to lift", "cases.who_admin": "an admin",
    "cases.who_inspector": "the inspector", "cases.wait_approval": "legal review: an admin other than the proposer approves or refuses",
    "cases.wait_recheck": "re-check once the deadline has passed", "cases.wait_decision": "the re-check found it not corrected: seal up, stop, fine, or re-check again",
    "cases.wait_lift": "the re-check found it corrected: lift the measure in force, then close", "cases.wait_close": "the re-check found it corrected: close the case",
    "cases.wait_nothing": "closed",
    "unit.cases": "Enforcement documents", "unit.commit": "Sign commitment", "unit.commit_hint": "the commitment (e.g. daily fire patrols, exits kept clear…)",
    "unit.commitments": "Commitments", "unit.credit": "credit", "unit.credit_history": "Credit record", "unit.days": "days",
    "unit.every": "every", "unit.hazards": "Our hazards", "unit.last": "last", "unit.mark_read": "Mark as read", "unit.read": "Read receipt",
    "unit.read_at": "read", "unit.rectified": "Report fixed", "unit.rectified_hint": "what was done", "unit.report": "Report a hazard",
    "unit.report_hint": "a hazard you found (self-reported hazards are not penalised)", "unit.self_check": "Self-check",
    "unit.self_reported": "self-reported", "unit.start_self_check": "Start self-check", "unit.submit_self_check": "Submit self-check",
    "unit.case": "Case", "unit.from": "From", "unit.to": "To", "unit.rectification": "Rectification",
    "unit.todo": "What to do, by when", "unit.todo_fix": "Fix the hazard:", "unit.todo_self_check": "Self-check", "unit.todo_case": "Carry out the order of case",
    "unit.todo_notice": "Read the warning notice:", "unit.todo_now": "now", "unit.todo_none": "Nothing to do now",
    "nav.notices": "Notices & draws", "notices.title": "Warning notices", "draws.title": "Random draws",
    "col.period": "Period", "col.seed": "Seed", "col.inspectors": "Inspectors drawn", "col.notice": "Notice",
    "col.issued": "Issued", "col.done": "Done",
    "range.1": "1 h", "range.6": "6 h", "range.24": "24 h", "range.168": "7 d",
    "kpi.trend": "Incidents per day", "kpi.compare": "By jurisdiction", "kpi.report": "Supervision report",
    "kpi.report_period": "Period (2026, 2026-Q3, 2026-11)", "kpi.report_html": "Page", "kpi.report_pdf": "PDF",
    "kpi.false_alarms": "False alarms", "pager.prev": "Previous", "pager.next": "Next", "pager.of": "of",
    "login.throttled": "Too many failed logins: try again in {s} s",
    "login.unreachable": "The server cannot be reached: try again shortly",
    "login.error": "The server failed ({s}): try again shortly",
    "yes": "yes", "no": "no", "tasks.checklist": "Checklist", "check.pass": "pass", "check.fail": "fail", "check.na": "n/a",
    "check.note": "note (optional)", "check.basis": "basis", "check.major": "major", "check.photo": "photo", "check.photo_kept": "photo kept",
    "draws.new": "New draw", "draws.make": "Draw", "draws.beacon": "beacon", "draws.beacon_hint": "a value published before the draw (a lottery result...)",
    "draws.verify": "Verify", "draws.intact": "verified: seed and result match", "draws.broken": "DOES NOT match",
    "col.recipients": "Sent to", "delivery.pending": "pending", "delivery.delivered": "delivered", "delivery.dead": "failed",
    "queue.inhibited_by": "held by incident #{n}", empty: "none", loading: "loading…", "chart.time": "Time", unit_s: "s", unit_min: "min", unit_h: "h", "error.generic": "That did not work",
  },
};

const VOCABULARY = await fetch("/static/vocabulary.json").then((r) => r.json()).catch(() => ({ zh: {}, en: {} }));
for (const lang of ["zh", "en"]) Object.assign(LABELS[lang], VOCABULARY[lang]);

const stored = localStorage.getItem("fw-lang");
let current = stored === "en" || stored === "zh" ? stored : "zh";

export function lang() {
  return current;
}

export function setLang(value) {
  current = value;
  localStorage.setItem("fw-lang", value);
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
}

export function t(key) {
  return LABELS[lang()][key] ?? LABELS.en[key] ?? key;
}

// A name from a vocabulary group, or the code itself when the vocabulary has none.
export function word(group, code) {
  if (code === null || code === undefined) return "–";
  const key = `${group}.${code}`;
  return LABELS[lang()][key] ?? LABELS.en[key] ?? String(code);
}

// Who acted, as a person reads it: "operator:wang" is 接警员 wang / operator wang, "system" 系统.
export function actorName(actor) {
  if (!actor) return "–";
  const [role, ...rest] = String(actor).split(":");
  if (!rest.length) return word("actor", role);
  return `${word("role", role)} ${rest.join(":")}`;
}

// What an audit record is about: "hazard:12" is 隐患 12 / hazard 12.
export function subjectName(subject) {
  if (!subject) return "–";
  const [kind, ...rest] = String(subject).split(":");
  return rest.length ? `${word("subject", kind)} ${rest.join(":")}` : word("subject", kind);
}

// An audit record's details, one "name: value" per field (names from the vocabulary).
export function detailsText(details) {
  const shown = (v) => (Array.isArray(v) ? v.join(", ") : v && typeof v === "object" ? `(${fields(v, ", ")})` : String(v));
  const fields = (o, glue) => Object.entries(o).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${word("audit_field", k)}: ${shown(v)}`).join(glue);
  return fields(details ?? {}, lang() === "zh" ? "；" : "; ");
}

// A risk factor: "category=market" names the category, "credit=watchlist" the status.
export function factorName(name) {
  const [kind, code] = name.split("=");
  return code === undefined ? word("factor", name) : word(kind, code);
}

// A date and time, with the year when it is not this year's.
export function dateText(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB",
    { year: sameYear ? undefined : "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

// A time of day to the second (evidence: what happened within a minute matters).
export function timeText(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleTimeString(lang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

function argument(value, group) {
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return value.map((v) => argument(v, group)).join(lang() === "zh" ? "、" : ", ") || "–";
  if (!group) return String(value);
  if (group === "date") return dateText(value);
  if (group === "time") return timeText(value);
  if (group === "label") return render(value);
  if (group === "factor") return factorName(String(value));
  return word(group, value);
}

// A label {code, args} in words: the template msg.<code>, "{name}" or "{name|group}" filled in. A
// label the vocabulary does not know shows its code, and `fallback` (the stored text) when given.
export function render(label, fallback = "") {
  if (!label || !label.code) return fallback;
  const template = LABELS[lang()][`msg.${label.code}`] ?? LABELS.en[`msg.${label.code}`];
  if (template === undefined) return fallback || label.code;
  const args = label.args ?? {};
  return template.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, group) => argument(args[name], group));
}

// Fills every [data-i18n] element below root with its label.
export function translate(root = document) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}
