"""The README, docs and CI say what the code does."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from helpers import REPO

from runner import cli, config, store

README = (REPO / "README.md").read_text()


def _fenced_commands() -> list[str]:
    return [line.strip() for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)
            for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_an_install_and_run_command_and_a_test_command():
    commands = _fenced_commands()
    assert commands[0] == 'pip install -e . && python -m runner run --theme "rainy night" --season autumn'
    assert commands[1] == "pip install -e '.[test]' && python tools/mypy_baseline.py && python -m pytest"


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    assert _fenced_commands()[1] in ci.splitlines()


def test_readme_lists_every_subcommand():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        assert f"python -m runner {name}" in README, name


def test_env_example_names_every_variable_the_runner_reads():
    example = (REPO / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    assert set(config.VARIABLES) <= names, set(config.VARIABLES) - names


def test_format_doc_covers_every_state_field_and_status():
    doc = (REPO / "docs" / "format.md").read_text()
    state = store.new_state("20261121-031500-x", store.validate_params({"theme": "x"}))
    for field in state:
        assert f"`{field}`" in doc, field
    for field in store.new_step():
        assert f"`{field}`" in doc, field
    # Every field the model declares (and so validates), and every field of the summary row.
    for model in (store.State, store.Params, store.Step, store.Progress, store.Cost, store.YouTube,
                  store.SummaryRow):
        for field in model.__annotations__:
            assert f"`{field}`" in doc, f"{model.__name__}.{field}"
    for status in store.SESSION_STATUSES + store.STEP_STATUSES:
        assert f"`{status}`" in doc, status
    for param in store.DEFAULTS:
        assert f"`{param}`" in doc, param


def test_secrets_and_data_are_git_ignored():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    for pattern in [".env", "sessions/*", "logs/*", ".cache/"]:
        assert pattern in ignored
    assert (REPO / "sessions" / ".gitkeep").exists() and (REPO / "logs" / ".gitkeep").exists()


# --------------------------------------------------------------------------- what the docs cite

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = ("runner/", "studio/", "static/", "tests/", "bench/", "docs/", ".ci/")
# Names the docs use for files in a data root or a session folder (docs/format.md), not the repo.
DATA_FILES = re.compile(r"\.(json|jsonl|png|jpg|mp4|m4a|flac|wav|toml|log|txt)$")


def _code_spans(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))]


def _repo_file(cited: str) -> bool:
    """Whether a cited path exists: `runner/x.py`, `static/js/` , `tests/test_browser_*.py`, or a
    module attribute written `runner/config.VARIABLES` (the module must define the name)."""
    if any(REPO.glob(cited.rstrip("/"))):
        return True
    module, _, attr = cited.rpartition(".")
    source = REPO / (module + ".py")
    return bool(attr) and source.is_file() and re.search(
        rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(attr)}\b|^{re.escape(attr)}\s*[:=]", source.read_text(), re.M) is not None


def test_every_file_the_docs_cite_exists():
    tracked = {p.name for p in REPO.rglob("*") if ".git" not in p.parts and ".cache" not in p.parts}
    missing = []
    for doc in DOCS:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            path = target.split("#")[0]
            if path and not path.startswith(("http://", "https://", "mailto:")) and not (doc.parent / path).exists():
                missing.append(f"{doc.name}: link {target}")
        for span in _code_spans(text):
            span = re.sub(r"<[^<>]+>", "*", span)   # a placeholder, e.g. views/<name>.js
            if " " in span or span.startswith(("/", "~", "$", "*")):
                continue
            if span.startswith(TOP):
                if not _repo_file(span):
                    missing.append(f"{doc.name}: {span}")
            elif re.fullmatch(r"[\w.-]+\.(py|js|css|html|md|sh)", span) and span not in tracked:
                missing.append(f"{doc.name}: {span} (no file of that name)")
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)


def _command_lines() -> list[tuple[str, str]]:
    """(doc name, command) for every command in a fenced block or a code span."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"```(?:sh|console|bash)?\n(.*?)```", text, flags=re.S):
            out += [(doc.name, line.strip()) for line in block.splitlines()]
        out += [(doc.name, span) for span in _code_spans(text)]
    commands = []
    for name, line in out:
        line = re.split(r"\s#\s|\s{3,}", line)[0].strip()   # drop a trailing comment or description
        for part in re.split(r"\s*&&\s*", line):
            if re.match(r"(python3?|pip|badger-tape|badger-studio|bash|npm|apt-get|\.ci/run|cp)\b", part):
                commands.append((name, part))
    return commands


def _studio_options() -> set[str]:
    helped = subprocess.run([sys.executable, "-m", "studio", "--help"], capture_output=True, text=True,
                            cwd=REPO, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    return set(re.findall(r"--[a-z][a-z-]*", helped.stdout))


def _runner_options(words: list[str]) -> tuple[str, set[str]] | None:
    """The subcommand path and its options for `python -m runner WORDS`, or None if unknown."""
    parser = cli.build_parser()
    path = []
    for word in words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
        path.append(word)
    if not path:
        return None
    return " ".join(path), {o for a in parser._actions for o in a.option_strings}


def test_every_command_the_docs_cite_exists():
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    scripts, extras = set(project["scripts"]), set(project["optional-dependencies"])
    studio_opts = None
    wrong = []
    for doc, cmd in _command_lines():
        words = cmd.replace("[", " ").replace("]", " ").replace("|", " ").split()
        options = {w.split("=")[0] for w in words if re.fullmatch(r"--[a-z][a-z-]*(=.*)?", w)}
        if words[:3] == ["python", "-m", "runner"] and words[3:4] not in (["…"], ["..."]):
            found = _runner_options(words[3:])
            if found is None:
                wrong.append(f"{doc}: {cmd} (no such subcommand)")
            elif options - found[1]:
                wrong.append(f"{doc}: {cmd} ({found[0]} has no {sorted(options - found[1])})")
        elif words[:3] == ["python", "-m", "studio"]:
            studio_opts = studio_opts if studio_opts is not None else _studio_options()
            if options - studio_opts:
                wrong.append(f"{doc}: {cmd} (studio has no {sorted(options - studio_opts)})")
        elif words[0] in ("python", "python3") and words[1:2] == ["-m"]:
            if importlib.util.find_spec(words[2]) is None:
                wrong.append(f"{doc}: {cmd} (no module {words[2]})")
        elif words[0] in ("python", "python3") and len(words) > 1 and words[1].endswith(".py"):
            if not (REPO / words[1]).is_file():
                wrong.append(f"{doc}: {cmd} (no file {words[1]})")
        elif words[0] == "pip" and "-e" in words:
            wanted = re.findall(r"\[([\w,]+)\]", cmd)
            if any(e not in extras for w in wanted for e in w.split(",")):
                wrong.append(f"{doc}: {cmd} (pyproject.toml has extras {sorted(extras)})")
        elif words[0] in ("badger-tape", "badger-studio"):
            if words[0] not in scripts:
                wrong.append(f"{doc}: {cmd} (not a console script in pyproject.toml)")
        elif words[0] == "cp" and len(words) > 1 and not (REPO / words[1]).exists():
            wrong.append(f"{doc}: {cmd} (no file {words[1]})")
        elif words[0] in (".ci/run",) and not (REPO / words[0]).is_file():
            wrong.append(f"{doc}: {cmd}")
        elif words[0] in ("python3", "npm", "apt-get", "bash") and shutil.which(words[0]) is None:
            wrong.append(f"{doc}: {cmd} ({words[0]} is not installed here)")
    assert not wrong, "commands in the docs that do not exist:\n" + "\n".join(wrong)


def test_the_api_docs_estimate_example_is_what_the_runner_answers():
    from helpers import params

    from runner import budget

    doc = (REPO / "docs" / "api.md").read_text()
    section = doc.split("### GET /api/estimate", 1)[1].split("###", 1)[0]
    example = json.loads(re.search(r'"estimate": (\{.*?\})\}\n```', section, flags=re.S).group(1))
    assert example == budget.estimate(params(provider="fal", tracks=10, minutes=60), elevenlabs=False)
