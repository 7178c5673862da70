"""RFC 9110's token grammar: declared once, and what it takes."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

import factsvc
from factsvc.config import rules
from factsvc.handlers import cors, envelope
from factsvc.http_grammar import TOKEN

# RFC 9110 §5.6.2.
TCHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters


def test_every_tchar_is_a_token_and_every_other_character_is_not() -> None:
    assert TOKEN.fullmatch(TCHARS)
    others = [chr(code) for code in range(0x100) if chr(code) not in TCHARS]
    assert [char for char in others if TOKEN.search(char)] == []
    assert TOKEN.fullmatch("") is None


@pytest.mark.parametrize("module", [cors, rules, envelope])
def test_methods_header_names_and_codings_share_the_one_declaration(module: object) -> None:
    assert vars(module)["TOKEN"] is TOKEN


def test_the_tchar_set_is_written_once_in_the_source() -> None:
    source = Path(factsvc.__file__).parent
    writers = [
        path.relative_to(source).as_posix()
        for path in sorted(source.rglob("*.py"))
        if "|~" in path.read_text(encoding="utf-8")
    ]
    assert writers == ["http_grammar.py"]
