"""The attempt limits: built from their settings alone, each declared there once."""

from __future__ import annotations

import dataclasses

from factsvc.account_composition import attempt_limits
from factsvc.config import Settings
from factsvc.services.limits import AttemptLimits, Limit


def test_attempt_limits_have_no_numbers_of_their_own() -> None:
    # Each maximum and window is a setting's: a default here would declare it a second time.
    assert [
        field.name
        for field in dataclasses.fields(AttemptLimits)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    ] == []


def test_every_limit_comes_from_its_pair_of_settings() -> None:
    settings = Settings(
        login_account_max_failures=11,
        login_account_window_seconds=61,
        login_client_max_failures=12,
        login_client_window_seconds=62,
        register_client_max=13,
        register_client_window_seconds=63,
        password_forgot_address_max=2,
        password_forgot_address_window_seconds=60,
        password_forgot_client_max=3,
        password_forgot_client_window_seconds=70,
        mail_token_client_max_failures=4,
        mail_token_client_window_seconds=80,
        email_verify_send_max=5,
        email_verify_send_window_seconds=90,
    )
    assert attempt_limits(settings) == AttemptLimits(
        per_account=Limit("login-account", 11, 61),
        per_client=Limit("login-client", 12, 62),
        registrations_per_client=Limit("register-client", 13, 63),
        forgot_per_address=Limit("password-forgot-address", 2, 60),
        forgot_per_client=Limit("password-forgot-client", 3, 70),
        mail_token_failures_per_client=Limit("mail-token-client", 4, 80),
        verification_mails_per_user=Limit("email-verify-send-user", 5, 90),
    )
