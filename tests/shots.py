"""Where tests leave pictures of what a person sees (console pages, report pages): build/screenshots, or
``FIREWARDEN_SCREENSHOTS``. ``make doc-images`` turns them into docs/img."""

from __future__ import annotations

import os
from pathlib import Path

SHOTS = Path(os.environ.get("FIREWARDEN_SCREENSHOTS", Path(__file__).resolve().parents[1] / "build" / "screenshots"))
