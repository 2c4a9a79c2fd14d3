"""HTML report to PDF with headless Chromium's print-to-PDF (Debian package ``chromium``).

The page is printed from a local file with no network; fonts are the machine's (the
report asks for Noto Sans CJK, Debian ``fonts-noto-cjk``, so Chinese names render).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from smartpark.core.errors import AnalyticsError

BROWSERS: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S: Final = 120.0


def browser() -> str:
    """The first Chromium on PATH; ``AnalyticsError`` naming the package when there is none."""
    for candidate in BROWSERS:
        found = shutil.which(candidate)
        if found:
            return found
    raise AnalyticsError(
        "PDF: no Chromium on PATH (looked for "
        + ", ".join(BROWSERS)
        + "); install it (Debian: apt-get install chromium fonts-noto-cjk) or use --format html"
    )


def html_to_pdf(html: str, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` (A4, no header or footer); the PDF's path."""
    exe = browser()
    pdf = pdf.resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smartpark-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise AnalyticsError(
                f"PDF: {exe} did not finish within {TIMEOUT_S:g} s; try --format html"
            ) from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise AnalyticsError(
            f"PDF: {exe} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}; "
            "check that it starts headless, or use --format html"
        )
    return pdf
