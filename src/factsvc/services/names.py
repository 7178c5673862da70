"""Names as text: the one normalisation of a username, and what makes a nickname visible."""

from __future__ import annotations

import unicodedata

# Only ASCII letters change case. Python's str.lower() also maps KELVIN SIGN (U+212A) to "k"
# and LATIN CAPITAL LETTER I WITH DOT ABOVE (U+0130) to "i" plus a combining dot, and
# casefold() maps LONG S (U+017F) to "s": each would let a name that breaks the username rule
# log in as an account that satisfies it.
_ASCII_LOWER = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyz",
)

# A nickname needs a character that shows: a letter, number, punctuation mark or symbol
# (Unicode general categories L*, N*, P*, S*). Spaces (Z*), marks (M*, which only decorate
# another character), and control, format, private-use and unassigned code points (C*) do not.
VISIBLE_CATEGORY_CLASSES = frozenset("LNPS")
# Code points of those categories that nonetheless draw nothing.
BLANK_LOOKING = frozenset(
    {
        # Hangul fillers: letters (Lo) whose Unicode property Default_Ignorable_Code_Point
        # says "render invisibly" (DerivedCoreProperties.txt).
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u1160",  # HANGUL JUNGSEONG FILLER
        "\u3164",  # HANGUL FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        # Symbols (So) whose reference glyph is empty by design.
        "\u2800",  # BRAILLE PATTERN BLANK: the cell with no dots raised
        "\U0001d159",  # MUSICAL SYMBOL NULL NOTEHEAD: a placeholder with no head drawn
    }
)


def normalized_username(text: str) -> str:
    """The form under which a username is stored, looked up and rate-limited: `text` with its
    ASCII letters in lower case and every other character as it is. For a name that satisfies
    the username rule (ASCII only) this is `text.lower()`; any other text keeps a character
    outside ASCII, so it can equal no stored name, and a login with it fails exactly like a
    wrong password (same answer, same hashing work, counted against the same limits)."""
    return text.translate(_ASCII_LOWER)


def is_visible(char: str) -> bool:
    """Whether one character draws something: a letter, number, punctuation mark or symbol
    (by Unicode general category) that is not BLANK_LOOKING."""
    return unicodedata.category(char)[0] in VISIBLE_CATEGORY_CLASSES and char not in BLANK_LOOKING


def has_visible_character(text: str) -> bool:
    """Whether `text` shows anything at all (is_visible for at least one character)."""
    return any(map(is_visible, text))
