"""Static checks on the dashboard's files (no browser needed): safety, size and offline rules.

These run everywhere; the real-browser tests are in the other test_browser_*.py files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser_helpers import REPO, iter_static_files

STATIC = REPO / "static"
# The budget is 150 KB, read strictly (decimal kilobytes): every file under static/, as served.
BUDGET_BYTES = 150_000
TEXT_SUFFIXES = {".html", ".js", ".mjs", ".css", ".svg", ".webmanifest"}


def _texts() -> list[tuple[Path, str]]:
    return [(p, p.read_text("utf-8")) for p in iter_static_files() if p.suffix in TEXT_SUFFIXES]


def test_static_folder_has_the_app() -> None:
    for rel in ("index.html", "js/app.js", "css/app.css"):
        assert (STATIC / rel).is_file(), rel


def test_no_html_injection_sinks_anywhere_in_static() -> None:
    # Data reaches the page only as text nodes and attribute values (see static/js/dom.js).
    sinks = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|srcdoc)\b")
    found = [f"{p.relative_to(REPO)}:{i}: {line.strip()}"
             for p, text in _texts() for i, line in enumerate(text.splitlines(), 1) if sinks.search(line)]
    assert not found, "HTML sinks in static/:\n" + "\n".join(found)


def test_no_eval_or_string_timers() -> None:
    bad = re.compile(r"\beval\s*\(|new\s+Function\s*\(|set(?:Timeout|Interval)\s*\(\s*['\"`]")
    found = [f"{p.relative_to(REPO)}:{i}" for p, text in _texts() if p.suffix == ".js"
             for i, line in enumerate(text.splitlines(), 1) if bad.search(line)]
    assert not found, found


def test_index_has_no_inline_script_style_or_handlers() -> None:
    # The server's CSP allows only our own files: inline code would simply not run.
    html = (STATIC / "index.html").read_text("utf-8")
    for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I):
        assert "src=" in m.group(1) and not m.group(2).strip(), m.group(0)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler in index.html"
    assert not re.search(r"<style\b", html, re.I), "inline <style> in index.html"
    assert not re.search(r"\sstyle\s*=", html, re.I), "inline style attribute in index.html"


def test_js_never_sets_style_or_handler_attributes() -> None:
    # setAttribute("style"/"onclick") would be blocked by the CSP; styles go through CSSOM.
    bad = re.compile(r"setAttribute\(\s*['\"](?:style|on[a-z]+)['\"]")
    found = [f"{p.relative_to(REPO)}:{i}" for p, text in _texts() if p.suffix == ".js"
             for i, line in enumerate(text.splitlines(), 1) if bad.search(line)]
    assert not found, found


def test_nothing_loads_from_the_network() -> None:
    # Works with the network unplugged: no CDN, no remote font, no remote image.
    allowed = {"http://www.w3.org/2000/svg"}
    url = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s'\"()<>]*")
    found = []
    for p, text in _texts():
        for m in url.finditer(text):
            u = m.group(0)
            if u in allowed or u.startswith("https://www.youtube.com/"):
                continue
            # "//" inside comments is prose, not a request: only flag URL-looking values.
            if p.suffix == ".js" and not u.startswith("http"):
                continue
            found.append(f"{p.relative_to(REPO)}: {u}")
    assert not found, found
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", (STATIC / "css" / "app.css").read_text())


def test_static_assets_fit_the_budget() -> None:
    sizes = {str(p.relative_to(STATIC)): p.stat().st_size for p in iter_static_files()}
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert total <= BUDGET_BYTES, f"static/ is {total} bytes (budget {BUDGET_BYTES}); biggest: {biggest}"


def test_every_static_file_is_on_the_servers_allowlist() -> None:
    from studio.static import content_type_for

    missing = [str(p.relative_to(STATIC)) for p in iter_static_files()
               if content_type_for(str(p.relative_to(STATIC))) is None]
    assert not missing, f"not served by studio/static.py's allowlist: {missing}"


@pytest.mark.parametrize("path", sorted(str(p.relative_to(STATIC)) for p in (STATIC / "js").rglob("*.js")))
def test_module_imports_resolve(path: str) -> None:
    src = STATIC / path
    text = src.read_text("utf-8")
    for spec in re.findall(r"""(?:import|from)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""", text):
        assert (src.parent / spec).resolve().is_file(), f"{path} imports {spec}, which does not exist"


def test_index_preloads_and_references_exist() -> None:
    html = (STATIC / "index.html").read_text("utf-8")
    refs = re.findall(r"""(?:href|src)="(/[^"]+\.(?:js|css|svg|png))\"""", html)
    assert refs
    for ref in refs:
        assert (STATIC / ref.lstrip("/")).is_file(), ref
