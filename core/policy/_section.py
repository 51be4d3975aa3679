"""What every section of the policy file shares: strict, frozen fields, and the number types they use."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SignalKind = Literal["trouble", "supervisory", "hazard_candidate"]
"""What a breach means: the fire system is faulty, abnormal, or the building may be in danger."""

Seconds = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
