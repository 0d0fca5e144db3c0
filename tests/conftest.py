import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty data root, as on a fresh clone."""
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    return tmp_path
