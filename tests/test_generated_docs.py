"""The README's settings table and `.env.example` are what the Settings declarations render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from factsvc.config import Settings
from factsvc.config.declaring import Area, description_of, variables
from factsvc.config.docs import env_example, readme_table, with_table

ROOT = Path(__file__).resolve().parents[1]
VARIABLE_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
STALE = "differs from the Settings declarations: run `make docs` and commit the result"


def test_the_readme_settings_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_table(readme, readme_table()) == readme, f"README.md's settings table {STALE}"


def test_env_example_is_the_generated_one() -> None:
    committed = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == env_example(), f".env.example {STALE}"


def test_the_table_has_a_row_for_every_setting_with_its_default() -> None:
    table = readme_table()
    for variable in variables(Settings):
        assert f"| `{variable}` |" in table
    assert "| `TORNADO_SERVER_PORT` | `8888` | a whole number from 0 to 65535 |" in table
    assert "| `SESSION_COOKIE_SECRET` | empty |" in table


def test_env_example_gives_every_setting_its_default_under_its_description() -> None:
    lines = env_example().splitlines()
    assert "SESSION_EXPIRES_SECONDS=86400" in lines
    assert "REDIS_TIMEOUT_SECONDS=0.5" in lines
    assert "TRUSTED_PROXIES=" in lines
    index = lines.index("BCRYPT_ROUNDS=12")
    assert lines[index - 1].startswith("# bcrypt cost")
    assert "a whole number from 10 to 16" in lines[index - 1]


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_table("# README\n", readme_table())


def test_every_variable_a_description_names_is_declared() -> None:
    """Descriptions and group headings name other settings by their variables: a renamed
    variable must not leave a description pointing at a name that no longer exists."""
    declared = set(variables(Settings))
    texts = [description_of(field) for field in Settings.model_fields.values()]
    texts += [area.value for area in Area]
    named = {
        word for text in texts for word in re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", text)
    }
    assert named, "the descriptions name no variable at all: the pattern is wrong"
    assert named <= declared, f"named but not declared: {sorted(named - declared)}"
