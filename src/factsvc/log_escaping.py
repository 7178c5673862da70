"""The one escaping of text bound for a log line: nothing in it ends a line or steers a terminal."""

from __future__ import annotations

import unicodedata

# Control (C0, DEL, C1 with NEL), format (bidi overrides, zero-width), surrogate, and line and
# paragraph separator characters (Unicode general categories): each either breaks a line in
# some viewer (LF, CR, VT, FF, NEL, U+2028, U+2029), drives a terminal (ESC starts ANSI
# sequences) or makes text display other than it reads (U+202E reverses it).
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
SHORT_FORMS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_for_log(text: str, *, spaces: bool = False) -> str:
    """`text` with every character of ESCAPED_CATEGORIES (and, when `spaces`, every space of
    any kind, so that a value cannot pass for the next `name=value` field) written as an
    escape: `\\n`, `\\r`, `\\t`, else `\\uXXXX` (a surrogate pair above U+FFFF). Those are
    JSON's escapes too, so a JSON line stays valid JSON after this.

    Backslashes are left alone: escaping is idempotent, so text escaped once (a security
    event's values) is never escaped twice by the formatters, which escape every line. The
    price is that a client's literal `\\n` reads like an escaped newline; JSON lines keep the
    exact text.
    """
    if text.isprintable() and not (spaces and " " in text):
        return text  # the common case, checked at C speed: nothing to escape
    return "".join(_escaped(char) if _needs_escape(char, spaces) else char for char in text)


def _needs_escape(char: str, spaces: bool) -> bool:
    if spaces and (char.isspace() or unicodedata.category(char) == "Zs"):
        return True
    return unicodedata.category(char) in ESCAPED_CATEGORIES


def _escaped(char: str) -> str:
    if char in SHORT_FORMS:
        return SHORT_FORMS[char]
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
