"""Conditional GET (RFC 9110 §13): the If-None-Match field, parsed by its grammar, against a tag."""

from __future__ import annotations

import re

from tornado.httputil import HTTPHeaders

from factsvc.http_grammar import OWS

# A parser of RFC 9110's grammar rather than a library's: Tornado's own check
# (RequestHandler.check_etag_header) and werkzeug's parse_etags pick tags out of any text, so
# that `junk "x"` matches "x", and they split lists at commas, which an opaque-tag may hold.
# RFC 9110 §8.8.3: entity-tag = [ weak ] opaque-tag; weak = %s"W/" (case-sensitive);
# opaque-tag = DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text (Tornado decodes header
# values as Latin-1, so obs-text, %x80-FF, arrives as U+0080-U+00FF).
_ETAGC = "\x21\x23-\x7e\x80-\xff"
# One element of a list (RFC 9110 §5.6.1.2: a recipient accepts empty elements) and what
# follows it: OWS, then a comma or the end. Group 1 is the element's opaque-tag, if any.
_ELEMENT = re.compile(rf'[{OWS}]*(?:(?:W/)?("[{_ETAGC}]*"))?[{OWS}]*(,|\Z)')


def opaque_tags(if_none_match: str) -> frozenset[str] | None:
    """The opaque-tags (quotes included, `W/` dropped) an If-None-Match field value lists:
    `"*" / #entity-tag` (RFC 9110 §13.1.2); None for `*`, empty for an empty list. Raises
    ValueError for a value outside the grammar."""
    value = if_none_match.strip(OWS)
    if value == "*":
        return None
    tags: set[str] = set()
    position = 0
    while True:
        element = _ELEMENT.match(value, position)
        if element is None:
            raise ValueError(f"not an If-None-Match field value: {if_none_match!r}")
        if element.group(1) is not None:
            tags.add(element.group(1))
        if not element.group(2):
            return frozenset(tags)
        position = element.end()


def if_none_match_fails(if_none_match: str, entity_tag: str) -> bool:
    """Whether an If-None-Match precondition is false for the selected representation, whose
    entity-tag is `entity_tag` (`W/"..."` or `"..."`): the field is `*`, or one of its tags
    matches by the weak comparison (RFC 9110 §13.1.2, §8.8.3.2: the opaque-tags are equal,
    either or both may be weak). A GET or HEAD is then answered 304 (Not Modified). A field
    outside the grammar is disregarded: it matches nothing, so the request is answered as if
    unconditional."""
    try:
        tags = opaque_tags(if_none_match)
    except ValueError:
        return False
    return tags is None or entity_tag.removeprefix("W/") in tags


def not_modified(headers: HTTPHeaders, entity_tag: str) -> bool:
    """Whether the request's headers make a GET or HEAD of the representation tagged
    `entity_tag` a 304: an If-None-Match field that fails (if_none_match_fails). Several
    If-None-Match lines count as one list (Tornado joins them with commas, RFC 9110 §5.3)."""
    # `in` first: most requests carry no If-None-Match, and headers.get() raises and catches
    # a KeyError for an absent one.
    return "If-None-Match" in headers and if_none_match_fails(headers["If-None-Match"], entity_tag)
