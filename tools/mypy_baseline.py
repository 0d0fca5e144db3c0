"""Type check runner/ and studio/ and fail when mypy finds more errors than the baseline.

    python tools/mypy_baseline.py            # CI runs this (.ci/run); exit 1 when the count grew
    python tools/mypy_baseline.py --update   # after fixing some: lower the baseline to the count

The baseline (tools/mypy-baseline.txt) is the number of errors `python -m mypy` found when
type checking came to CI (config: pyproject.toml [tool.mypy]). It may only shrink: new code
brings no new errors, and whoever fixes some lowers the number with --update, which never
raises it. Exit codes: 0 at or under the baseline, 1 over it, 2 when mypy did not run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "tools" / "mypy-baseline.txt"

_FOUND = re.compile(r"^Found (\d+) errors? in \d+ files? \(checked \d+ source files?\)$", re.M)
_CLEAN = re.compile(r"^Success: no issues found in \d+ source files?$", re.M)


def error_count(output: str) -> int | None:
    """The error count from mypy's summary line; None when there is none (mypy crashed)."""
    found = _FOUND.search(output)
    if found:
        return int(found.group(1))
    return 0 if _CLEAN.search(output) else None


def read_baseline(text: str) -> int:
    """The first line that is not blank or a # comment, as a count. Raises ValueError otherwise."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return int(line)
    raise ValueError("no count in the baseline file")


def verdict(count: int, baseline: int) -> tuple[int, str]:
    """(exit code, one line for people) for count errors against the baseline."""
    if count > baseline:
        return 1, (f"mypy: {count} errors, {count - baseline} more than the baseline of {baseline} "
                   f"({BASELINE.relative_to(REPO)}): fix the new ones listed above")
    if count < baseline:
        return 0, (f"mypy: {count} errors, under the baseline of {baseline}: lower it with "
                   f"`python tools/mypy_baseline.py --update`")
    return 0, f"mypy: {count} errors, the baseline"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", action="store_true", help="lower the baseline to the current count")
    args = ap.parse_args(argv)
    try:
        baseline = read_baseline(BASELINE.read_text())
    except (OSError, ValueError) as exc:
        print(f"mypy baseline: cannot read {BASELINE}: {exc}", file=sys.stderr)
        return 2
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    output = run.stdout + run.stderr
    count = error_count(output)
    if count is None:
        print(output.strip() or f"mypy exited {run.returncode} with no output", file=sys.stderr)
        print("mypy baseline: mypy did not finish its check (is it installed? pip install -e '.[test]')",
              file=sys.stderr)
        return 2
    code, line = verdict(count, baseline)
    if code:
        print(output.strip())
    if args.update and count < baseline:
        text = BASELINE.read_text()
        BASELINE.write_text(re.sub(rf"^{baseline}$", str(count), text, count=1, flags=re.M))
        line = f"mypy: {count} errors; baseline lowered from {baseline}"
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
