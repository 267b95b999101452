"""Copy the few browser assets the classroom app loads from an installed ``solara-assets`` into the package.

Solara's page loads its scripts, style sheets and fonts through its CDN proxy (``/_solara/cdn/``),
from a cache folder. ``solara-assets`` fills that folder with every package Solara may ever ask
for (240 MB); the classroom app asks for a dozen files (about 4 MB). ``bondsim app`` points the
proxy at the copy this script writes into ``src/bondsim/app/assets/``, so the app runs offline
without ``solara-assets``. Run it after changing the pinned Solara version, in an environment
with ``solara-assets`` of the same version (``pip install solara-assets==VERSION``); the browser
tests then show whether the page finds everything (tests/test_app_browser.py).

    .venv/bin/python tools/bundle_app_assets.py
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "bondsim" / "app" / "assets"
APP = "@widgetti/solara-vuetify-app@10.1.1/dist"
FILES = (  # what the page requests (tests/test_app_browser.py records it), and the notices that go with it
    f"{APP}/solara-vuetify-app8.min.js",
    f"{APP}/main8.css",
    f"{APP}/fonts.css",
    "@widgetti/solara-vuetify-app@10.1.1/package.json",
    "requirejs@2.3.6/require.js",
    "requirejs@2.3.6/package.json",
    "font-awesome@4.5.0/css/font-awesome.min.css",
    "font-awesome@4.5.0/fonts/fontawesome-webfont.woff2",
    "font-awesome@4.5.0/fonts/fontawesome-webfont.woff",
    "font-awesome@4.5.0/README.md",
    "font-awesome@4.5.0/package.json",
)
STYLE_SHEETS = (f"{APP}/fonts.css", f"{APP}/main8.css")  # the web fonts they name are copied too (WOFF2 only)


def source_folder() -> Path:
    """The CDN cache folder that ``solara-assets`` installed into this environment."""
    folder = Path(sys.prefix) / "share" / "solara" / "cdn"
    if not (folder / APP).is_dir():
        raise SystemExit(f"no {APP} under {folder}: install solara-assets (the version pinned with solara)")
    return folder


def fonts(source: Path) -> list[str]:
    """The WOFF2 files the app's style sheets name by a relative path."""
    names = set()
    for sheet in STYLE_SHEETS:
        for url in re.findall(r"url\(([^)]+)\)", (source / sheet).read_text(encoding="utf-8")):
            url = url.strip("'\" ").split("?")[0].split("#")[0]
            if url.endswith(".woff2") and not url.startswith("data:"):
                names.add(f"{APP}/{url}")
    return sorted(names)


def main() -> int:
    """Copy the files; one line saying how many and how large."""
    source = source_folder()
    if TARGET.exists():
        shutil.rmtree(TARGET)
    copied = 0
    for name in (*FILES, *fonts(source)):
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, TARGET / name)
        copied += (TARGET / name).stat().st_size
    print(f"copied {len(FILES) + len(fonts(source))} files, {copied / 2**20:.1f} MB, into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
