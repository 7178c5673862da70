"""If-None-Match (RFC 9110 §13.1.2) by its grammar: `*`, lists, weak comparison, and a malformed
field that matches nothing."""

from __future__ import annotations

import pytest
from tornado.httputil import HTTPHeaders

from factsvc.handlers.conditional import if_none_match_fails, not_modified, opaque_tags
from factsvc.handlers.http_caching import fact_entity_tag, strong_entity_tag

WEAK = 'W/"v1-10"'
STRONG = '"v1-10"'


@pytest.mark.parametrize(
    ("field", "tags"),
    [
        ('"a"', {'"a"'}),
        ('W/"a"', {'"a"'}),
        ('""', {'""'}),
        ('"a", W/"b"', {'"a"', '"b"'}),
        ('"a",W/"b" ,\t"c"', {'"a"', '"b"', '"c"'}),
        # A comma is an etagc: it does not split an opaque-tag.
        ('"a,b", "c"', {'"a,b"', '"c"'}),
        # Empty list elements are allowed (RFC 9110 §5.6.1.2).
        (', "a",, "b",', {'"a"', '"b"'}),
        ("", set()),
        ("  ", set()),
        # obs-text, as Tornado decodes it (Latin-1).
        ('"caf\xe9"', {'"caf\xe9"'}),
    ],
)
def test_a_list_of_entity_tags_gives_their_opaque_tags(field: str, tags: set[str]) -> None:
    assert opaque_tags(field) == frozenset(tags)


@pytest.mark.parametrize("field", ["*", " * ", "\t*"])
def test_a_star_stands_for_any_tag(field: str) -> None:
    assert opaque_tags(field) is None


@pytest.mark.parametrize(
    "field",
    [
        "a",
        '"a',
        'a"',
        '"a" "b"',
        '"a" junk',
        'junk "a"',
        'w/"a"',  # weak is %s"W/": case-sensitive
        'W/ "a"',
        'W/a"',
        '"a b"',  # SP is no etagc
        '"a\x7fb"',
        '"a"b"',
        '*, "a"',
        "**",
        '"a"; q=1',
    ],
)
def test_a_field_outside_the_grammar_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="If-None-Match"):
        opaque_tags(field)


@pytest.mark.parametrize(
    "field",
    [WEAK, STRONG, "*", f'"other", {WEAK}', f'W/"other", {STRONG}', f"{WEAK}, {WEAK}"],
)
def test_a_listed_tag_that_weakly_matches_or_a_star_fails_the_condition(field: str) -> None:
    assert if_none_match_fails(field, WEAK)
    assert if_none_match_fails(field, STRONG)


@pytest.mark.parametrize(
    "field",
    [
        '"v1-1"',
        '"v1-100"',
        'W/"V1-10"',
        "",
        # malformed: disregarded, though the right tag is in it
        f"{WEAK} junk",
        f"junk {WEAK}",
        f"*, {WEAK}",
        'w/"v1-10"',
        "v1-10",
    ],
)
def test_anything_else_lets_the_request_through(field: str) -> None:
    assert not if_none_match_fails(field, WEAK)


def test_several_if_none_match_lines_count_as_one_list() -> None:
    headers = HTTPHeaders()
    headers.add("If-None-Match", '"other"')
    headers.add("If-None-Match", WEAK)
    assert not_modified(headers, WEAK)
    assert not not_modified(HTTPHeaders(), WEAK)


def test_fact_tags_name_n_and_are_weak() -> None:
    assert fact_entity_tag(10) == WEAK
    assert fact_entity_tag(100_000) == 'W/"v1-100000"'
    # Every tag is one the grammar reads back.
    assert opaque_tags(fact_entity_tag(7)) == frozenset({'"v1-7"'})


def test_a_strong_tag_follows_the_bytes() -> None:
    tag = strong_entity_tag(b"document")
    assert tag == strong_entity_tag(b"document") != strong_entity_tag(b"document ")
    assert opaque_tags(tag) == frozenset({tag})
    assert len(tag) == 34
