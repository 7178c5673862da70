"""The password reset and mailed token limits: their defaults, and the settings they come from."""

from __future__ import annotations

from factsvc.account_composition import attempt_limits
from factsvc.config import Settings
from factsvc.services.limits import AttemptLimits, Limit


def test_the_mail_limits_default_to_their_settings_defaults() -> None:
    settings = Settings()
    built = attempt_limits(settings)
    assert built == AttemptLimits(
        built.per_account, built.per_client, built.registrations_per_client
    )


def test_the_mail_limits_come_from_their_settings() -> None:
    settings = Settings(
        password_forgot_address_max=2,
        password_forgot_address_window_seconds=60,
        password_forgot_client_max=3,
        password_forgot_client_window_seconds=70,
        mail_token_client_max_failures=4,
        mail_token_client_window_seconds=80,
    )
    limits = attempt_limits(settings)
    assert limits.forgot_per_address == Limit("password-forgot-address", 2, 60)
    assert limits.forgot_per_client == Limit("password-forgot-client", 3, 70)
    assert limits.mail_token_failures_per_client == Limit("mail-token-client", 4, 80)
