"""The domain's vocabulary in Chinese and English: tiers, incident classes, categories, rules, credit
statuses, device types... one data file (``core/vocabulary.json``) that the console serves to the
browser and that the report and notices read here, so every surface names a code the same way."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Final, Literal

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")


@cache
def vocabulary() -> dict[str, dict[str, str]]:
    """``{lang: {"tier.red": "重大风险", ...}}``."""
    text = resources.files("core").joinpath("vocabulary.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(text)
    return loaded


def word(lang: Lang, group: str, code: str | None) -> str:
    """The name of ``code`` in ``group`` (``tier``, ``rule``...), or the code itself when it has none."""
    if code is None:
        return "—"
    words = vocabulary()
    return words[lang].get(f"{group}.{code}") or words["en"].get(f"{group}.{code}") or code
