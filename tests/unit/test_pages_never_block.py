"""A safety alarm is never held back by the page: no blocking browser dialog anywhere in the web pages.

While prompt()/confirm()/alert() is open the page runs no script, so a noodknop would not show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).parents[2] / "backend/web"
BLOCKING = re.compile(r"(?<![\w.$])(?:window\.)?(prompt|confirm|alert)\s*\(")
PAGES = sorted(p for p in WEB.rglob("*") if p.suffix in {".js", ".html"} and "vendor" not in p.parts)


def test_there_are_pages_to_check() -> None:
    assert any(p.name == "index.html" for p in PAGES) and any(p.suffix == ".js" for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(WEB)))
def test_no_page_opens_a_blocking_dialog(page: Path) -> None:
    hits = [
        f"{page.relative_to(WEB)}:{n}: {line.strip()}"
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if BLOCKING.search(line)
    ]
    assert hits == []


def test_the_rule_catches_what_it_must() -> None:
    assert BLOCKING.search('const r = prompt("Reden?", "")')
    assert BLOCKING.search("window.confirm('zeker?')")
    assert not BLOCKING.search("this.alert(view)") and not BLOCKING.search("showAlert(x)")
