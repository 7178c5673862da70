"""The Authorization request header: the Bearer token it presents, if any."""

from __future__ import annotations

from factsvc.http_grammar import OWS

# RFC 9110 §11.6.2: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ].
BEARER = "bearer"


def bearer_token(authorization: str | None) -> str | None:
    """The token an `Authorization` header value of the Bearer scheme carries (RFC 6750 §2.1;
    the scheme's name compared case-insensitively, RFC 9110 §11.1), "" when it carries none;
    None for no header or another scheme. Only a Bearer presents a session: another scheme
    (Basic, which a browser behind HTTP Basic authentication sends by itself) presents none,
    and then the session cookie counts."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip(OWS).partition(" ")
    return credentials.strip(OWS) if scheme.lower() == BEARER else None
