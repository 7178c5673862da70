"""Settings: the areas declared in the *_settings.py beside it, and the rules between areas."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Self

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, field_validator

from factsvc.config.account_settings import PasswordSettings, SessionSettings
from factsvc.config.backend_settings import MongoSettings, RedisSettings
from factsvc.config.declaring import derived_when_empty
from factsvc.config.http_settings import ClientSettings, HttpSettings
from factsvc.config.mail_settings import MailSettings
from factsvc.config.rules import refused_by_relation
from factsvc.config.secret_policy import secret_problem
from factsvc.config.service_settings import ServiceSettings
from factsvc.config.work_settings import AvatarSettings, FactorialSettings


# pydantic orders the fields by the reversed MRO: the last base's come first. That order is
# the order of validation (a validator sees the fields before its own in `info.data`), of the
# README's table and of `.env.example`, so the areas are listed here from the last to the first.
class Settings(
    MailSettings,
    HttpSettings,
    AvatarSettings,
    FactorialSettings,
    RedisSettings,
    MongoSettings,
    ClientSettings,
    PasswordSettings,
    SessionSettings,
    ServiceSettings,
):
    """The service's configuration, built once and passed down (see DeclaredSettings).

    Each area is a class of its own (service_settings.ServiceSettings, account_settings'
    SessionSettings and PasswordSettings, http_settings' ClientSettings and HttpSettings,
    backend_settings' MongoSettings and RedisSettings, work_settings' FactorialSettings and
    AvatarSettings, mail_settings.MailSettings) declaring each of its settings once, with
    `setting(...)`: variable, type, bounds, default, and the string under the field as its
    description. A validator sees only the fields declared before its own in `info.data`, so
    those that others depend on come first; the validators below read a field of an earlier
    area.
    """

    @field_validator("path_upload", mode="wrap")
    @classmethod
    def _upload_under_path_data(
        cls, path: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return derived_when_empty(path, check, info, "path_data", lambda data: data / "upload")

    @field_validator("public_base_url", mode="wrap")
    @classmethod
    def _base_url_from_port(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        if url == "" and info.data.get("debug") is False and info.data.get("smtp_url"):
            # Mail that leaves the machine must not link to its loopback address.
            raise refused_by_relation(
                "required when DEBUG is false and SMTP_URL is set (the address mailed links open)"
            )
        return derived_when_empty(
            url, check, info, "server_port", lambda port: f"http://127.0.0.1:{port}"
        )

    @field_validator("session_cookie_secret")
    @classmethod
    def _strong_outside_debug(cls, secret: str, info: ValidationInfo) -> str:
        problem = secret_problem(secret)
        if info.data.get("debug") is False and problem:
            raise refused_by_relation(f"{problem} (required when DEBUG is false)")
        return secret

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings from the declared variables of `env` alone, then `with_checked_secret()`;
        ConfigError names every bad variable."""
        return super().from_env(env).with_checked_secret()

    def with_backends(self, *, redis_url: str, mongodb_uri: str, redis_cache_url: str = "") -> Self:
        """A copy that uses these backends (e.g. the embedded servers); the cache on redis_url
        unless redis_cache_url names its own server."""
        return self.replaced(
            redis_url=redis_url, mongodb_uri=mongodb_uri, redis_cache_url=redis_cache_url
        )

    def with_checked_secret(self) -> Self:
        """In DEBUG with no secret, a copy with a random one (and a warning: sessions end at
        restart). Outside DEBUG a weak secret never gets this far: validation refuses it."""
        if not self.debug or self.session_cookie_secret:
            return self
        logging.getLogger(__name__).warning(
            "SESSION_COOKIE_SECRET is not set: using a random one; sessions end at restart"
        )
        return self.replaced(session_cookie_secret=secrets.token_urlsafe(48))
