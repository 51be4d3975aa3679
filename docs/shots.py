"""Turn the pictures the tests leave in build/screenshots (``make test``, or the browser and report tests
alone) into the small images docs/console.md and docs/report.md show: WebP, at most 1,280 pixels wide.

    make doc-images          # build/screenshots -> docs/img/console/, docs/img/report/
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1280
QUALITY = 70


def convert(source: Path, target: Path) -> int:
    """Write ``source`` (PNG) as WebP at ``target``, scaled down to :data:`WIDTH`; the bytes written."""
    with Image.open(source) as image:
        picture = image.convert("RGB")
        if picture.width > WIDTH:
            picture = picture.resize((WIDTH, round(picture.height * WIDTH / picture.width)), Image.Resampling.LANCZOS)
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, "WEBP", quality=QUALITY, method=6)
    return target.stat().st_size


def main(shots: Path = ROOT / "build" / "screenshots") -> int:
    sources = sorted(shots.glob("*.png"))
    if not sources:
        print(f"no screenshots in {shots}: run the browser and report tests first (make test)", file=sys.stderr)
        return 1
    total = 0
    for source in sources:
        folder = "report" if source.stem.startswith("report-page") else "console"
        total += convert(source, ROOT / "docs" / "img" / folder / f"{source.stem}.webp")
    print(f"{len(sources)} images, {total / 1024:.0f} KiB, in docs/img/console and docs/img/report")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "screenshots"))
