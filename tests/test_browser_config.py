"""The page asks the server what it needs: GET /api/config, read once, and nothing else.

Three checks, in real Chromium over the seeded root:
- every key the server serves is read by the page, and the page reads no key the server did
  not send (a Proxy over the config answer records each read while every view is visited);
- a config with other values (seasons, limits, spend levels, steps, log levels, defaults)
  changes what the page shows, so no copy of the server's values hides in the page;
- and, without a browser, no script holds a literal copy of a list the server serves.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    REPO, InProcessStudio, chromium, iter_static_files, media_sets, open_page, seeded,
)

# Records every property read of the /api/config answer, as a dotted path; a read of a key the
# answer lacks is recorded too. Installed before the page's own scripts run.
RECORD_READS = """(() => {
  const reads = window.__configReads = new Set();
  const wrap = (obj, path) => new Proxy(obj, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      // "then" is how await looks for a promise; not a read by the page's own code.
      if (typeof key !== "string" || key === "then") return value;
      const at = path ? path + "." + key : key;
      reads.add(at);
      return value && typeof value === "object" && !Array.isArray(value) ? wrap(value, at) : value;
    },
  });
  const json = Response.prototype.json;
  Response.prototype.json = async function () {
    const data = await json.call(this);
    return new URL(this.url).pathname === "/api/config" ? wrap(data, "") : data;
  };
})();"""


def served_config(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "/api/config", timeout=10) as r:
        return json.loads(r.read())


def key_paths(obj: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of every key, into objects (not into lists)."""
    out: set[str] = set()
    for k, v in obj.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= key_paths(v, prefix + k + ".")
    return out


def first_id(base: str, status: str) -> str:
    with urllib.request.urlopen(f"{base}/api/sessions?status={status}&limit=1", timeout=10) as r:
        return json.loads(r.read())["items"][0]["id"]


@pytest.mark.browser
def test_the_page_reads_every_served_config_key_and_no_other(open_page: Any, seeded: Any) -> None:
    studio, _ = seeded
    served = key_paths(served_config(studio.url))
    page, console = open_page(studio.url)
    page.add_init_script(RECORD_READS)
    reads: set[str] = set()
    visits = [("/", ".kpi__value[data-kpi=sessions]"), ("/sessions", ".vrow[data-id]"), ("/gallery", ".tile"),
              (f"/live/{first_id(studio.url, 'awaiting_review')}", ".loglines--live .logline"),
              ("/logs", ".logline"), (f"/sessions/{first_id(studio.url, 'completed')}", ".detail__title")]
    for path, ready in visits:
        page.goto(path)
        page.wait_for_selector(ready)
        reads |= set(page.evaluate("[...window.__configReads]"))
    page.keyboard.press("n")                       # the launcher, with its estimate
    page.wait_for_selector(".estimate [data-estimate]")
    reads |= set(page.evaluate("[...window.__configReads]"))
    console.assert_clean()
    assert served == reads, (f"served by /api/config but never read by the page: {sorted(served - reads)}; "
                             f"read by the page but not served: {sorted(reads - served)}")


@pytest.mark.browser
def test_the_page_shows_what_the_server_says(open_page: Any, seeded: Any) -> None:
    studio, _ = seeded
    ratios = {r["id"]: r["spend_ratio"] for r in json.loads(urllib.request.urlopen(
        studio.url + "/api/sessions?limit=1000", timeout=10).read())["items"] if r["spend_ratio"]}
    # A session the real levels (70 %/90 %) call "ok", which these levels call "red".
    low = next(i for i, v in ratios.items() if 0.3 <= v < 0.7)
    other = served_config(studio.url)
    other["choices"]["season"] = ["winter", "autumn"]
    other["defaults"].update(tracks=3, atmosphere="forest", season="winter")
    other["limits"].update(theme_chars=12, tracks=5)
    other["spend_levels"] = {"amber": 0.2, "red": 0.3}
    other["log_levels"] = ["ERROR", "INFO"]
    other["steps"] = other["steps"][:3]

    page, console = open_page(studio.url)
    page.route("**/api/config", lambda route: route.fulfill(json=other))
    page.goto("/logs")
    page.wait_for_selector(".logline")
    assert page.locator(".chip[data-level]").evaluate_all("e => e.map(x => x.dataset.level)") == ["ERROR", "INFO"]
    page.goto("/sessions")
    page.wait_for_selector(".vrow[data-id]")
    assert page.locator(".chip[data-season]").evaluate_all("e => e.map(x => x.dataset.season)") == ["winter", "autumn"]
    page.goto(f"/live/{low}")
    page.wait_for_selector(".capbar[data-level=red]")
    assert page.locator(".capbar__mark").all_inner_texts() == ["20%", "30%"]
    assert page.locator(".rail__step").evaluate_all("e => e.map(x => x.dataset.step)") == other["steps"]

    page.keyboard.press("n")
    assert page.locator("input[name=season]").evaluate_all("e => e.map(x => x.value)") == ["winter", "autumn"]
    assert page.locator("input[name=season]:checked").get_attribute("value") == "winter"
    assert page.locator("select[name=atmosphere]").input_value() == "forest"
    assert page.locator("input[name=tracks]").input_value() == "3"
    page.fill("input[name=theme]", "thirteen char")
    assert "the limit is 12" in page.locator("[data-error-for=theme]").inner_text()
    page.fill("input[name=tracks]", "6")
    assert "from 1 to 5" in page.locator("[data-error-for=tracks]").inner_text()


def test_no_script_keeps_a_copy_of_a_served_list(tmp_path: Any) -> None:
    # A list literal holding (nearly) all of a served list is a copy that drifts from the server.
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    studio = InProcessStudio(tmp_path)
    try:
        cfg = served_config(studio.url)
    finally:
        studio.stop()
    lists = {"steps": cfg["steps"], "statuses": cfg["statuses"], "assets": cfg["assets"],
             "sortable": cfg["sortable"], "log_levels": cfg["log_levels"],
             **{f"choices.{k}": v for k, v in cfg["choices"].items()}}
    found = []
    for p in iter_static_files():
        if p.suffix != ".js":
            continue
        for m in re.finditer(r"\[([^\[\]]*)\]", p.read_text("utf-8")):
            strings = re.findall(r"[\"']([^\"']+)[\"']", m.group(1))
            for name, values in lists.items():
                held = [s for s in strings if s in values]
                if len(held) >= 2 and len(held) >= len(values) - 1:
                    found.append(f"{p.relative_to(REPO)}: [{m.group(1)[:60]}] copies {name}")
    assert not found, "\n".join(found)


def test_the_api_docs_show_what_the_config_serves(tmp_path: Any) -> None:
    # docs/api.md's example answer has the same keys, and the same lists and limits, as the server's.
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    studio = InProcessStudio(tmp_path)
    try:
        cfg = served_config(studio.url)
    finally:
        studio.stop()
    doc = (REPO / "docs" / "api.md").read_text().split("### GET /api/config", 1)[1]
    example = json.loads(re.search(r"```json\n(.*?)```", doc, flags=re.S).group(1))
    assert key_paths(example) == key_paths(cfg)
    for key in ("steps", "statuses", "assets", "choices", "defaults", "limits", "spend_levels", "sortable", "log_levels"):
        assert example[key] == cfg[key], key
