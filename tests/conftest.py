import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty data root, as on a fresh clone."""
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def no_network_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test, in-process: a DNS lookup or connection beyond loopback is refused and fails it."""
    from fakes.loopback import guard_sockets

    tried = guard_sockets(monkeypatch)
    yield
    assert not tried, f"a test tried to leave loopback: {tried}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-screenshots", action="store_true", default=False,
                     help="remake the README's pictures in docs/screenshots/ from real runner sessions "
                          "(tests/test_browser_screenshots.py); without it, screenshots go to a temporary folder")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """A failed browser test says what its pages showed: address, text and a screenshot."""
    outcome = yield
    report = outcome.get_result()
    helpers = sys.modules.get("browser_helpers")
    if helpers is None:
        return
    if report.failed and report.when in ("setup", "call"):
        import tempfile

        shown = helpers.what_the_pages_showed(Path(tempfile.mkdtemp(prefix="browser-failure-")))
        if shown:
            report.sections.append(("what the page showed", shown))
    if report.when == "teardown":
        helpers.OPEN_PAGES.clear()
