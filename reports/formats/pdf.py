"""Print an HTML request to PDF in Chromium (Debian's /usr/bin/chromium through Playwright): A4, CJK fonts, a header
with the request's title and a footer with page numbers.

JavaScript is switched off in the printing context: the requests need none, so scraped text that slipped past the
template's escaping still could not run (the requests also carry a CSP that forbids scripts).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any

from markupsafe import escape

_FONT = "font-family:'Noto Sans CJK SC','Noto Sans CJK',sans-serif;font-size:8px;color:#555;width:100%;margin:0 12mm"
HEADER = f'<div style="{_FONT};text-align:left">{{title}}</div>'
FOOTER = (f'<div style="{_FONT};text-align:center">第 <span class="pageNumber"></span> 页 / '
          f'共 <span class="totalPages"></span> 页</div>')


class PdfPrinter:
    """One headless Chromium for a batch's PDFs: ``with PdfPrinter(chromium) as p: p.print(html, pdf, title)``."""

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium
        self._pw: Any = None
        self._browser: Any = None

    def __enter__(self) -> PdfPrinter:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=self.chromium, headless=True,
                                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        except Exception:
            self._pw.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._browser.close()
        finally:
            self._pw.stop()

    def print(self, html: Path, pdf: Path, title: str) -> Path:
        """Print ``html`` (a file) to ``pdf``; ``title`` goes into every page's header (escaped)."""
        context = self._browser.new_context(java_script_enabled=False, locale="zh-CN")
        try:
            page = context.new_page()
            # Nothing from the network: a request must not make Chromium fetch anything while it prints.
            page.route(re.compile(r"^(https?|wss?|ftp):"), lambda route: route.abort())
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.pdf(path=str(pdf), format="A4", print_background=True, display_header_footer=True,
                     header_template=HEADER.format(title=escape(title)), footer_template=FOOTER,
                     margin={"top": "18mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
        finally:
            context.close()
        return pdf
