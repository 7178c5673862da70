"""Settings read from the environment: defaults, overrides, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

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


def test_a_setting_built_in_python_is_refused_out_of_bounds_naming_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"^TORNADO_SERVER_PORT: must be a whole number from 0"):
        Settings(server_port=70000)
    with pytest.raises(ConfigError, match="BCRYPT_ROUNDS"):
        Settings(bcrypt_rounds=4)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings(redis_url="localhost:6379")


def test_a_copy_with_changes_is_validated_again() -> None:
    settings = Settings.from_env({"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG})
    assert settings.replaced(fact_max_n=5).fact_max_n == 5
    with pytest.raises(ConfigError, match="FACT_MAX_N"):
        settings.replaced(fact_max_n=-1)
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECRET: too few distinct"):
        settings.replaced(session_cookie_secret="ab" * 20)


def test_the_suite_settings_keep_every_bound_but_bcrypts_floor() -> None:
    from tests.support.servers import STRONG_SECRET, SuiteSettings, with_settings

    suite = SuiteSettings(debug=False, session_cookie_secret=STRONG_SECRET, bcrypt_rounds=4)
    assert with_settings(suite, bcrypt_rounds=5).bcrypt_rounds == 5
    for bad in ({"bcrypt_rounds": 3}, {"http_idle_timeout_seconds": 0.5}, {"redis_db": 16}):
        with pytest.raises(ConfigError):
            with_settings(suite, **bad)
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECRET: missing"):
        SuiteSettings(debug=False)


def test_settings_built_in_python_ignore_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("TORNADO_SERVER_PORT", "1234")
    monkeypatch.setenv("debug", "false")
    settings = Settings()
    assert settings.debug is True
    assert settings.server_port == 8888
    assert Settings.from_env({}).server_port == 8888


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="server_prot: not a setting"):
        Settings(server_prot=1)  # type: ignore[call-arg]


def test_whole_numbers_take_ascii_digits_only() -> None:
    assert Settings.from_env({"FACT_MAX_N": " 42 "}).fact_max_n == 42
    for raw in ("4.0", "+4", "1e3", "4_000", "٤"):
        with pytest.raises(ConfigError, match="FACT_MAX_N"):
            Settings.from_env({"FACT_MAX_N": raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("TRUE", True), ("1", True), ("Yes", True), ("on", True), ("off", False), ("NO", False)],
)
def test_booleans_take_the_usual_words_in_any_case(raw: str, expected: bool) -> None:
    assert Settings.from_env({"LOG_TO_FILE": raw}).log_to_file is expected


def test_an_empty_variable_means_the_default() -> None:
    settings = Settings.from_env({"TORNADO_SERVER_PORT": "", "LOG_FORMAT": "", "REDIS_URL": ""})
    assert (settings.server_port, settings.log_format) == (8888, "plain")
    assert settings.redis_url == "redis://localhost:6379/0"


def test_levels_and_names_are_normalised() -> None:
    settings = Settings.from_env({"LOGGING_LOGGER_LEVEL": "info", "LOG_FORMAT": "JSON"})
    assert (settings.log_level, settings.log_format) == ("INFO", "json")


def test_ipv6_hosts_are_bracketed_in_the_built_urls() -> None:
    settings = Settings.from_env({"MONGODB_HOST": "fd00::1", "REDIS_HOST": "::1"})
    assert settings.mongodb_uri == "mongodb://[fd00::1]:27017/"
    assert settings.redis_url == "redis://[::1]:6379/0"


def test_a_new_host_rebuilds_a_url_that_was_never_given() -> None:
    settings = Settings.from_env({"REDIS_HOST": "a"}).replaced(redis_host="b")
    assert settings.redis_url == "redis://b:6379/0"
    given = Settings.from_env({"REDIS_URL": "redis://given:1/0"}).replaced(redis_host="b")
    assert given.redis_url == "redis://given:1/0"


def test_lists_are_comma_separated_and_each_item_checked() -> None:
    settings = Settings.from_env(
        {
            "CORS_ORIGINS": "https://a.example, http://b.example:8080",
            "TRUSTED_PROXIES": "10.0.0.0/8,::1",
        }
    )
    assert settings.cors_origins == ("https://a.example", "http://b.example:8080")
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    for name, value in [
        ("CORS_ORIGINS", "https://a.example/path"),
        ("CORS_ORIGINS", "null"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,not-an-address"),
        ("SESSION_COOKIE_SECRETS_PREVIOUS", f"{STRONG},short"),
        ("SESSION_COOKIE_NAME", "bad name"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


def test_the_absolute_lifetime_must_cover_the_idle_timeout() -> None:
    with pytest.raises(
        ConfigError, match=r"SESSION_ABSOLUTE_SECONDS: must be at least SESSION_EXPIRES_SECONDS"
    ):
        Settings.from_env({"SESSION_EXPIRES_SECONDS": "7200", "SESSION_ABSOLUTE_SECONDS": "3600"})


def test_the_message_names_every_bad_variable_in_the_documented_form() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TORNADO_SERVER_PORT": "http", "REDIS_DB": "99", "DEBUG": "false"})
    message = str(caught.value)
    assert "TORNADO_SERVER_PORT: must be a whole number from 0 to 65535 (got 'http')" in message
    assert "REDIS_DB: must be a whole number from 0 to 15 (got '99')" in message
    assert "SESSION_COOKIE_SECRET: missing (required when DEBUG is false)" in message
    assert "REDIS_URL" not in message


def test_refusals_never_quote_a_secret() -> None:
    weak = "weak-previous-secret"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SESSION_COOKIE_SECRETS_PREVIOUS": weak, "PASSWORD_PEPPER": ""})
    assert "SESSION_COOKIE_SECRETS_PREVIOUS" in str(caught.value)
    assert weak not in str(caught.value)
    assert weak not in str(caught.value.__cause__)


def test_repr_shows_no_secret() -> None:
    settings = Settings(
        session_cookie_secret=STRONG,
        session_cookie_secrets_previous=(STRONG,),
        password_pepper="pepper-value",
    )
    assert STRONG not in repr(settings)
    assert "pepper-value" not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.server_port = 1


def test_debug_without_a_secret_warns_that_sessions_end_at_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        Settings.from_env({})
    assert "SESSION_COOKIE_SECRET is not set" in caplog.text


@pytest.mark.parametrize(
    ("name", "bad_url"),
    [
        ("MONGODB_URI", "mongo://root:hunter2-password@mongo:27017/"),
        ("REDIS_URL", "http://:hunter2-password@redis:6379/0"),
    ],
)
def test_a_refused_backend_url_is_never_quoted_since_it_may_carry_a_password(
    name: str, bad_url: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: bad_url})
    assert name in str(caught.value)
    assert "hunter2-password" not in str(caught.value)
    assert "hunter2-password" not in str(caught.value.__cause__)


def test_repr_shows_no_backend_credentials() -> None:
    settings = Settings(
        mongodb_uri="mongodb://root:hunter2-password@mongo:27017/",
        redis_url="redis://:hunter2-password@redis:6379/0",
    )
    assert "hunter2-password" not in repr(settings)


def test_redis_is_one_server_by_default() -> None:
    settings = Settings.from_env({})
    assert (settings.redis_topology, settings.redis_cache_topology) == ("single", "single")
    assert (settings.redis_cluster_nodes, settings.redis_sentinels) == ((), ())


def test_a_cluster_and_sentinels_are_read_as_host_port_lists() -> None:
    settings = Settings.from_env(
        {
            "REDIS_TOPOLOGY": "Cluster",
            "REDIS_CLUSTER_NODES": " redis-2:7001, [::1]:7002,10.0.0.3:7003 ",
            "REDIS_CACHE_TOPOLOGY": "sentinel",
            "REDIS_CACHE_URL": "rediss://:pw@unused:1/2",
            "REDIS_CACHE_SENTINEL_MASTER": " cache ",
            "REDIS_SENTINELS": "s1:26379,[fd00::2]:26379",
        }
    )
    assert settings.redis_topology == "cluster"
    assert settings.redis_cluster_nodes == ("redis-2:7001", "[::1]:7002", "10.0.0.3:7003")
    assert settings.redis_sentinels == ("s1:26379", "[fd00::2]:26379")
    assert (settings.redis_cache_topology, settings.redis_cache_sentinel_master) == (
        "sentinel",
        "cache",
    )


@pytest.mark.parametrize(
    "env",
    [
        {"REDIS_URL": "redis://node:7000/2"},
        {"REDIS_URL": "redis://node:7000/0?db=1"},
        {"REDIS_DB": "3"},
    ],
)
def test_a_cluster_with_a_database_other_than_0_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^REDIS_TOPOLOGY: cluster needs database 0"):
        Settings.from_env({"REDIS_TOPOLOGY": "cluster", **env})
    with pytest.raises(ConfigError, match=r"^REDIS_CACHE_TOPOLOGY: cluster needs database 0"):
        Settings.from_env({"REDIS_CACHE_TOPOLOGY": "cluster", **env})
    assert Settings.from_env(env).redis_topology == "single"


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
def test_a_cluster_or_sentinel_through_a_unix_socket_is_refused(topology: str) -> None:
    env = {
        "REDIS_URL": "unix:///run/redis.sock",
        "REDIS_SENTINELS": "s1:26379",
        "REDIS_SENTINEL_MASTER": "m",
    }
    with pytest.raises(ConfigError, match=f"^REDIS_TOPOLOGY: {topology} needs a redis://"):
        Settings.from_env({"REDIS_TOPOLOGY": topology, **env})


def test_sentinel_without_sentinels_or_a_master_name_is_refused_naming_both() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REDIS_TOPOLOGY": "sentinel"})
    assert str(caught.value) == (
        "REDIS_SENTINEL_MASTER: required when REDIS_TOPOLOGY is sentinel; "
        "REDIS_SENTINELS: required when REDIS_TOPOLOGY or REDIS_CACHE_TOPOLOGY is sentinel"
    )
    with pytest.raises(ConfigError, match=r"^REDIS_SENTINEL_MASTER: required"):
        Settings.from_env({"REDIS_TOPOLOGY": "sentinel", "REDIS_SENTINELS": "s1:26379"})
    with pytest.raises(ConfigError, match=r"^REDIS_SENTINELS: required"):
        Settings.from_env({"REDIS_TOPOLOGY": "sentinel", "REDIS_SENTINEL_MASTER": "m"})
    with pytest.raises(
        ConfigError, match=r"^REDIS_CACHE_SENTINEL_MASTER: required when REDIS_CACHE"
    ):
        Settings.from_env({"REDIS_CACHE_TOPOLOGY": "sentinel", "REDIS_SENTINELS": "s1:26379"})
    ready = {"REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "m"}
    assert Settings.from_env({"REDIS_TOPOLOGY": "sentinel", **ready}).redis_sentinel_master == "m"


@pytest.mark.parametrize(
    "bad", ["redis-2", "redis-2:", ":7000", "redis-2:0", "redis-2:65536", "::1:7000", "a b:1"]
)
@pytest.mark.parametrize(
    "name", ["REDIS_CLUSTER_NODES", "REDIS_CACHE_CLUSTER_NODES", "REDIS_SENTINELS"]
)
def test_a_malformed_host_port_list_is_refused_with_its_name(name: str, bad: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: must be comma-separated host:port"):
        Settings.from_env({name: f"ok:1,{bad}"})


def test_an_unknown_topology_is_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"^REDIS_TOPOLOGY: must be one of single, cluster, sentinel"
    ):
        Settings.from_env({"REDIS_TOPOLOGY": "ring"})


def test_the_sentinel_password_stays_out_of_repr_and_errors() -> None:
    settings = Settings.from_env({"REDIS_SENTINEL_PASSWORD": "hunter2-password"})
    assert settings.redis_sentinel_password == "hunter2-password"
    assert "hunter2-password" not in repr(settings)
