"""INSTANCE_NAME and the directory each instance claims under PATH_DATA."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from factsvc.config import ConfigError, Settings
from factsvc.config.instance_name import MAX_LENGTH, default_instance_name
from factsvc.instance import InstanceInUse, adopt_legacy_embedded_data, claimed_instance_dir

MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


@pytest.fixture(autouse=True)
def no_multiprocess_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a claim sets in the environment is undone after each test."""
    monkeypatch.setenv(MULTIPROC, "")
    monkeypatch.delenv(MULTIPROC)


def settings_at(path_data: Path, **env: str) -> Settings:
    return Settings.from_env({"PATH_DATA": str(path_data), "TORNADO_SERVER_PORT": "8123", **env})


def test_the_default_name_is_the_host_name_and_the_port(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    assert settings.instance_name == f"{socket.gethostname()}-8123"
    assert settings.metrics_dir == tmp_path / settings.instance_name / "metrics"
    assert settings.embedded_dir == tmp_path / settings.instance_name / "embedded"
    assert settings.log_dir == tmp_path / "log", "one log file for every instance"


def test_with_any_free_port_the_default_name_takes_the_process_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert default_instance_name(0).endswith(f"-pid{os.getpid()}")
    monkeypatch.setattr(socket, "gethostname", lambda: "web 1/./é" + "x" * 200)
    name = default_instance_name(8888)
    assert name.startswith("web-1-.--x")
    assert name.endswith("-8888")
    assert len(name) == MAX_LENGTH


@pytest.mark.parametrize("name", ["a/b", "..", ".hidden", "x" * (MAX_LENGTH + 1), "with space"])
def test_a_name_that_is_not_one_plain_directory_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="INSTANCE_NAME"):
        settings_at(tmp_path, INSTANCE_NAME=name)


def test_a_claim_gives_the_workers_an_emptied_metrics_directory_removed_at_exit(
    tmp_path: Path,
) -> None:
    settings = settings_at(tmp_path, INSTANCE_NAME="one")
    stale = settings.metrics_dir / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a killed run")
    with claimed_instance_dir(settings):
        assert os.environ[MULTIPROC] == str(settings.metrics_dir)
        assert settings.metrics_dir.is_dir()
        assert not stale.exists()
    assert not settings.metrics_dir.exists()
    assert (settings.instance_dir / "instance.lock").exists(), "never unlinked"


def test_a_second_claim_of_a_name_in_use_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    settings = settings_at(tmp_path, INSTANCE_NAME="one")
    with claimed_instance_dir(settings):
        written = settings.metrics_dir / "counter_1.db"
        written.write_bytes(b"live")
        in_use = f"INSTANCE_NAME one is in use .*{os.getpid()}"
        with pytest.raises(InstanceInUse, match=in_use), claimed_instance_dir(settings):
            pass
        assert written.read_bytes() == b"live"
    with claimed_instance_dir(settings):
        pass  # free again once the holder is gone


def test_instances_of_other_names_never_touch_each_others_files(tmp_path: Path) -> None:
    one = settings_at(tmp_path, INSTANCE_NAME="one")
    two = settings_at(tmp_path, INSTANCE_NAME="two")
    with claimed_instance_dir(one):
        written = one.metrics_dir / "counter_1.db"
        written.write_bytes(b"live")
        os.environ.pop(MULTIPROC)  # as in another process
        with claimed_instance_dir(two):
            assert os.environ[MULTIPROC] == str(two.metrics_dir)
        assert written.read_bytes() == b"live"


def test_embedded_data_of_the_shared_layout_move_into_the_instance(tmp_path: Path) -> None:
    settings = settings_at(tmp_path, INSTANCE_NAME="one")
    (tmp_path / "embedded" / "mongo").mkdir(parents=True)
    (tmp_path / "embedded" / "mongo" / "users").write_text("accounts")
    adopt_legacy_embedded_data(settings)
    assert (settings.embedded_dir / "mongo" / "users").read_text() == "accounts"
    assert not (tmp_path / "embedded").exists()


def test_an_instance_with_embedded_data_of_its_own_adopts_none(tmp_path: Path) -> None:
    settings = settings_at(tmp_path, INSTANCE_NAME="one")
    (tmp_path / "embedded" / "redis").mkdir(parents=True)
    (settings.embedded_dir / "redis").mkdir(parents=True)
    adopt_legacy_embedded_data(settings)
    assert (tmp_path / "embedded" / "redis").is_dir()
    named_embedded = settings_at(tmp_path, INSTANCE_NAME="embedded")
    adopt_legacy_embedded_data(named_embedded)  # its own directory is the old one: left alone
    assert (tmp_path / "embedded" / "redis").is_dir()
