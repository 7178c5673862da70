"""The request body of an account deletion: the account's current password."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from factsvc.services.bodies import Body, LoginText


class AccountDeletionBody(Body):
    """Re-authentication for deleting the account of the request's session."""

    password: Annotated[
        LoginText,
        Field(
            description="The account's current password, used exactly as sent; a wrong one is "
            "refused (403) and counted like a failed login of the account."
        ),
    ]
