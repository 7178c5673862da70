"""How declared settings are built: one source (the arguments), an environment mapping read
by name, and one error naming every bad variable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from factsvc.config.declaring import is_secret, variable_of
from factsvc.config.rules import VALUE_REFUSED


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names every bad variable,
    e.g. "TORNADO_SERVER_PORT: must be a whole number from 0 to 65535 (got 'http')"."""


def declared_values(settings_cls: type[BaseSettings], env: Mapping[str, str]) -> dict[str, str]:
    """Each declared variable's raw string in `env` (not `os.environ`), keyed by its variable
    name; an empty value counts as unset."""
    fields = settings_cls.model_fields.values()
    return {variable_of(f): env[variable_of(f)] for f in fields if env.get(variable_of(f))}


def config_error(settings_cls: type[BaseSettings], error: ValidationError) -> ConfigError:
    """One ConfigError naming, by environment variable, every value `error` refused."""
    fields = settings_cls.model_fields
    by_key = {key: field for name, field in fields.items() for key in (name, variable_of(field))}
    problems = []
    for detail in error.errors():
        key = str(detail["loc"][0]) if detail["loc"] else ""
        field = by_key.get(key)
        if field is None:
            problems.append(f"{key}: not a setting")
            continue
        problem = f"{variable_of(field)}: {detail['msg']}"
        if detail["type"] == VALUE_REFUSED and not is_secret(field):
            problem += f" (got {detail['input']!r})"
        problems.append(problem)
    return ConfigError("; ".join(problems))


class DeclaredSettings(BaseSettings):
    """A frozen settings class whose fields are declared with `declaring.setting`.

    Sources: only the keyword arguments (pydantic-settings' `init_settings`). Neither
    `os.environ` nor a `.env` file nor a secrets directory is read, so `Settings(debug=False)`
    in a test means the same on every machine; an environment is read only when one is handed
    to `from_env` (the command line hands it `os.environ`). Every way of building one
    (the constructor, `from_env`, `replaced`) applies every rule and raises ConfigError.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        strict=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        validate_default=True,
        hide_input_in_errors=True,
        use_attribute_docstrings=True,
    )

    if not TYPE_CHECKING:  # type checkers keep the typed keyword arguments of the fields

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as error:
                raise config_error(type(self), error) from error

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings from the declared variables of `env` alone; an empty one means its
        default. ConfigError names every bad variable."""
        return cls(**declared_values(cls, env))

    def replaced(self, **changes: Any) -> Self:
        """A copy with `changes` (by field name), validated again as a whole (ConfigError).
        Fields never set stay derived: a new MONGODB_HOST gives a new default MONGODB_URI."""
        return type(self)(**{**self.model_dump(include=self.model_fields_set), **changes})
