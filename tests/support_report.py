"""Helpers for the report's HTML page shared by the report and study tests: open it in headless Chromium at
1280 px and read what a measuring script found; assert it loads nothing from the network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WIDTH = 1280

MEASURE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "measured";
  // the key columns of every table with a Holm p: p, Holm p and the verdict (the last column)
  const cells = [...document.querySelectorAll("table")].flatMap(table => {
    const header = [...table.rows[0].cells].map(c => c.textContent);
    const holm = header.findIndex(h => h.startsWith("Holm p") || h.startsWith("Benjamini-Hochberg p"));
    if (holm < 0) return [];
    const p = header.findIndex(h => h === "p" || h.startsWith("p "));
    if (p < 0) throw new Error("no p column beside Holm p in " + header.join(" | "));
    return [...table.rows].slice(1).flatMap(r => [p, holm, header.length - 1].map(i => r.cells[i]));
  });
  const keys = cells.map(td => {
    const r = td.getBoundingClientRect();
    return r.right <= window.innerWidth && r.width > 0 ? 1 : 0;
  });
  out.textContent = JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    keysVisible: keys.reduce((a, b) => a + b, 0),
    keys: keys.length,
    shown: [...document.querySelectorAll(".items .item")].filter(e => e.offsetParent !== null).length,
    // each visible A | B pair of the diff view: B right of A, on one line, inside the window
    sides: [...document.querySelectorAll(".sides")].filter(e => e.offsetParent !== null).map(e => {
      const [a, b] = [...e.children].map(c => c.getBoundingClientRect());
      return b.left >= a.right - 1 && Math.abs(a.top - b.top) < 2 && b.right <= window.innerWidth ? 1 : 0;
    }),
  });
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        if os.environ.get("SUMMEVAL_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return browser


def measure(html_text: str, folder: Path, *, extra_js: str = "") -> dict:
    """Open a copy of the page (with a measuring script) in headless Chromium at 1280 px; what it measured."""
    import json

    page = folder / "measured.html"
    page.write_text(html_text.replace("</body>", extra_js + MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WIDTH},900",
            f"--user-data-dir={folder / 'profile'}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom)
    assert found, f"the page did not load or measure:\n{dom[:2000]}"
    return json.loads(found.group(1).replace("&quot;", '"'))


def assert_no_network(html_text: str) -> None:
    """No resource is loaded from anywhere: every src/href is a data URL, a fragment or a relative link."""
    for attr, url in re.findall(r'\b(src|href)="([^"]*)"', html_text):
        assert not re.match(r"(?i)(https?:)?//", url), f"{attr}={url[:80]} loads from the network"
        if attr == "src":
            assert url.startswith("data:"), f"src={url[:80]} is not embedded"
    assert "<link" not in html_text and "@import" not in html_text and "url(" not in html_text
