"""RFC 9110's token grammar, which field names, methods and codings share, and its OWS."""

from __future__ import annotations

import re

# RFC 9110 §5.6.2: token = 1*tchar, tchar being "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
# "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. Match it with fullmatch().
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# RFC 9110 §5.6.3: OWS, the only blanks HTTP trims around a field value or its parts, is SP and
# HTAB (no other Unicode space: Tornado decodes header values as Latin-1).
OWS = " \t"
