"""The README, docs and CI say what the code does."""

from __future__ import annotations

import re

from helpers import REPO

from runner import cli, config, store

README = (REPO / "README.md").read_text()


def _fenced_commands() -> list[str]:
    return [line.strip() for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)
            for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_an_install_and_run_command_and_a_test_command():
    commands = _fenced_commands()
    assert commands[0] == 'pip install -e . && python -m runner run --theme "rainy night" --season autumn'
    assert commands[1] == "pip install -e '.[test]' && python -m pytest"


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
