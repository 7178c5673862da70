"""The factorial cache's settings: its server (REDIS_CACHE_URL, by default REDIS_URL's), its
bound and the smallest n it keeps."""

from __future__ import annotations

import pytest

from factsvc.config import ConfigError, Settings

STATE = "redis://state.example:6379/0"
CACHE = "redis://cache.example:6379/0"


def test_the_cache_shares_the_state_server_by_default() -> None:
    assert Settings.from_env({}).redis_cache_url == "redis://localhost:6379/0"
    assert Settings.from_env({"REDIS_URL": STATE}).redis_cache_url == STATE
    assert Settings.from_env({"REDIS_HOST": "r1", "REDIS_DB": "3"}).redis_cache_url == (
        "redis://r1:6379/3"
    )
    assert Settings.from_env({"REDIS_CACHE_URL": ""}).redis_cache_url == (
        "redis://localhost:6379/0"
    )


def test_a_cache_url_of_its_own_is_kept_whatever_the_state_server() -> None:
    settings = Settings.from_env({"REDIS_URL": STATE, "REDIS_CACHE_URL": CACHE})
    assert (settings.redis_url, settings.redis_cache_url) == (STATE, CACHE)
    moved = settings.replaced(redis_url="redis://elsewhere:6379/0")
    assert moved.redis_cache_url == CACHE


def test_a_cache_on_the_state_server_follows_it_when_it_moves() -> None:
    settings = Settings.from_env({"REDIS_URL": STATE})
    assert settings.replaced(redis_url=CACHE).redis_cache_url == CACHE


def test_embedded_backends_set_both_redis_servers() -> None:
    settings = Settings.from_env({"REDIS_CACHE_URL": CACHE}).with_backends(
        redis_url="redis://127.0.0.1:1/0",
        mongodb_uri="mongodb://127.0.0.1:2/",
        redis_cache_url="redis://127.0.0.1:3/0",
    )
    assert (settings.redis_url, settings.redis_cache_url) == (
        "redis://127.0.0.1:1/0",
        "redis://127.0.0.1:3/0",
    )


def test_the_cache_defaults_are_256_mib_and_n_from_5000() -> None:
    settings = Settings.from_env({})
    assert settings.fact_cache_max_bytes == 256 << 20
    assert settings.fact_cache_min_n == 5000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FACT_CACHE_MAX_BYTES", str((1 << 20) - 1)),
        ("FACT_CACHE_MIN_N", "-1"),
        ("REDIS_CACHE_URL", "http://cache.example/"),
    ],
)
def test_a_bad_cache_setting_is_refused_with_its_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
