"""Settings read from the environment: defaults, overrides, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from factsvc.config import ConfigError, Settings

STRONG = "a-strong-secret-0123456789-abcdefghijklmnop"


def test_defaults_are_the_original_services() -> None:
    settings = Settings.from_env({})
    assert settings.debug is True
    assert settings.path_data == Path("/tmp")
    assert settings.log_dir == Path("/tmp/log")
    assert settings.log_level == "DEBUG"
    assert settings.server_port == 8888
    assert settings.server_numprocs == 0
    assert settings.event_loop == "uvloop"
    assert settings.session_idle_seconds == 86400
    assert settings.mongodb_uri == "mongodb://localhost:27017/"
    assert settings.mongodb_name == "factsvc"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.fact_max_n == 100_000


def test_debug_without_a_secret_gets_a_random_one_each_start() -> None:
    first = Settings.from_env({}).session_cookie_secret
    second = Settings.from_env({}).session_cookie_secret
    assert len(first) >= 32
    assert first != second


def test_host_and_port_variables_build_the_urls() -> None:
    settings = Settings.from_env(
        {
            "MONGODB_HOST": "db.internal",
            "MONGODB_PORT": "27018",
            "REDIS_HOST": "cache.internal",
            "REDIS_PORT": "6380",
            "REDIS_DB": "3",
        }
    )
    assert settings.mongodb_uri == "mongodb://db.internal:27018/"
    assert settings.redis_url == "redis://cache.internal:6380/3"


def test_urls_override_the_host_and_port_forms() -> None:
    settings = Settings.from_env(
        {
            "MONGODB_HOST": "ignored",
            "MONGODB_URI": "mongodb://a:1,b:2/?replicaSet=rs0",
            "REDIS_HOST": "ignored",
            "REDIS_URL": "rediss://:pw@managed:6380/1",
        }
    )
    assert settings.mongodb_uri == "mongodb://a:1,b:2/?replicaSet=rs0"
    assert settings.redis_url == "rediss://:pw@managed:6380/1"


def test_production_accepts_a_strong_secret() -> None:
    settings = Settings.from_env({"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG})
    assert settings.debug is False
    assert settings.session_cookie_secret == STRONG
    assert STRONG not in repr(settings)


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "short-secret",
        "__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__",
        "a" * 64,
    ],
)
def test_production_refuses_a_weak_secret(secret: str) -> None:
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECRET"):
        Settings.from_env({"DEBUG": "false", "SESSION_COOKIE_SECRET": secret})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "perhaps"),
        ("PATH_DATA", "relative/dir"),
        ("LOGGING_LOGGER_LEVEL", "LOUD"),
        ("TORNADO_SERVER_PORT", "70000"),
        ("TORNADO_SERVER_PORT", "8o8o"),
        ("TORNADO_SERVER_NUMPROCS", "-1"),
        ("EVENT_LOOP", "trio"),
        ("SESSION_EXPIRES_SECONDS", "1.5"),
        ("MONGODB_PORT", "0"),
        ("MONGODB_NAME", "bad/name"),
        ("MONGODB_URI", "http://example"),
        ("REDIS_DB", "99"),
        ("REDIS_URL", "localhost:6379"),
        ("FACT_MAX_N", "٣"),
        ("FACT_CACHE_TTL", "0"),
        ("REDIS_TIMEOUT_SECONDS", "never"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TORNADO_SERVER_PORT": "x", "REDIS_DB": "y"})
    assert "TORNADO_SERVER_PORT" in str(caught.value)
    assert "REDIS_DB" in str(caught.value)


def test_debug_runs_one_process_whatever_numprocs_says() -> None:
    from factsvc.server import process_count

    assert process_count(Settings.from_env({"TORNADO_SERVER_NUMPROCS": "4"})) == 1
    production = {"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG}
    assert process_count(Settings.from_env({**production, "TORNADO_SERVER_NUMPROCS": "3"})) == 3
    assert process_count(Settings.from_env(production)) >= 1


@pytest.mark.parametrize("name", ["uvloop", "asyncio"])
def test_either_event_loop_can_be_chosen(name: str) -> None:
    assert Settings.from_env({"EVENT_LOOP": name.upper()}).event_loop == name
