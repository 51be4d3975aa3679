"""The domain's vocabulary in Chinese and English, and messages made of codes.

One data file (``core/vocabulary.json``) names every code (tiers, incident classes, categories, rules,
credit statuses, device types, alarm reasons, risk factors) and holds every message template; the
console serves it to the browser (``/static/vocabulary.json``) and the report, the notices and the
alerts' payloads read it here, so every surface says the same thing in the reader's language.

A stage stores what it decided as a :data:`Label`: a message code and its arguments (codes, ids,
numbers, times), never a sentence; ``text`` (``{"code": "text", "args": {"text": ...}}``) holds a
text as it was typed or stored before labels. A template names an argument as ``{name}`` or ``{name|group}``:
``group`` is a vocabulary group the value is a code of (``{rule|rule}``), ``date`` (an ISO time),
``label`` (a nested label), or ``factor`` (risk factor names, a list); a list is joined.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")

Label = dict[str, object]
"""``{"code": "incident.fire", "args": {"zone": "3F", "reason": "two_detectors"}}``: a message to render."""

_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
_JOIN: Final[dict[Lang, str]] = {"zh": "、", "en": ", "}


@cache
def vocabulary() -> dict[str, dict[str, str]]:
    """``{lang: {"tier.red": "重大风险", "msg.incident.fire": "确认火警：...", ...}}``."""
    text = resources.files("core").joinpath("vocabulary.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(text)
    return loaded


def word(lang: Lang, group: str, code: str | None) -> str:
    """The name of ``code`` in ``group`` (``tier``, ``rule``...), or the code itself when it has none."""
    if code is None:
        return "—"
    words = vocabulary()
    return words[lang].get(f"{group}.{code}") or words["en"].get(f"{group}.{code}") or code


def label(code: str, **args: Any) -> Label:
    """A message: its code (``msg.<code>`` in the vocabulary) and its arguments, as stored (JSON)."""
    return {"code": code, "args": {k: v.isoformat() if isinstance(v, datetime) else v for k, v in args.items()}}


def render(lang: Lang, message: Label) -> str:
    """The message in ``lang``; a code without a template renders as the code and its arguments, an
    empty label (a row another writer made without one) as the empty string."""
    if not message or not message.get("code"):
        return ""
    words = vocabulary()
    args = message.get("args")
    args = args if isinstance(args, dict) else {}
    template = words[lang].get(f"msg.{message['code']}") or words["en"].get(f"msg.{message['code']}")
    if template is None:
        return f"{message['code']} {json.dumps(args, ensure_ascii=False)}"

    def value(match: re.Match[str]) -> str:
        name, group = match.group(1), match.group(2)
        return _format(lang, args.get(name), group)

    return _FIELD.sub(value, template)


def factor_name(lang: Lang, name: str) -> str:
    """A risk factor: ``category=market`` names the category, ``credit=watchlist`` the status."""
    kind, _, code = name.partition("=")
    if code:
        return word(lang, "credit" if kind == "credit" else kind, code)
    return word(lang, "factor", name)


def _format(lang: Lang, value: Any, group: str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return _JOIN[lang].join(_format(lang, v, group) for v in value) or "—"
    if group is None:
        return f"{value:g}" if isinstance(value, float) else str(value)
    if group == "date":
        return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
    if group == "label":
        return render(lang, value)
    if group == "factor":
        return factor_name(lang, str(value))
    return word(lang, group, str(value))
