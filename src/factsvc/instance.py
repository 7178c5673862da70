"""This instance's own directory under PATH_DATA: claimed while it runs, with its metric files."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from factsvc.config import Settings

log = logging.getLogger(__name__)

LOCK_FILE = "instance.lock"


class InstanceInUse(RuntimeError):
    """Another running instance holds this INSTANCE_NAME's directory."""


@contextlib.contextmanager
def claimed_instance_dir(settings: Settings) -> Iterator[None]:
    """Hold `settings.instance_dir` (PATH_DATA/INSTANCE_NAME) for this run, then give this
    run's worker processes their multiprocess metrics directory.

    The claim is an exclusive flock on its `instance.lock`, held until this process and every
    worker it forks have exited, by instances in other containers sharing the volume too;
    InstanceInUse when another instance holds it. The metrics directory (`metrics_dir`) is
    emptied of a previous run's files and named in PROMETHEUS_MULTIPROC_DIR, which must be set
    before prometheus_client is imported (it reads it once); this process removes it at exit.
    A PROMETHEUS_MULTIPROC_DIR given in the environment is used as it is."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    with _locked(settings.instance_dir / LOCK_FILE, settings.instance_name):
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            yield
            return
        directory = settings.metrics_dir
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        owner = os.getpid()
        try:
            yield
        finally:
            if os.getpid() == owner:  # not a forked worker leaving
                shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path, name: str) -> Iterator[None]:
    # Never unlinked: removing a lock file races with the next instance that opens it.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "?"
            raise InstanceInUse(
                f"INSTANCE_NAME {name} is in use by a running instance (process {holder}); "
                f"instances that share PATH_DATA need names of their own"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)


def adopt_legacy_embedded_data(settings: Settings) -> None:
    """Move the embedded servers' data of a version that kept it in PATH_DATA/embedded (shared
    by every instance) into this instance's directory, unless the instance has its own."""
    legacy = settings.path_data / "embedded"
    if legacy == settings.instance_dir or settings.embedded_dir.exists():
        return
    if not any((legacy / server).is_dir() for server in ("redis", "mongo")):
        return
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    legacy.rename(settings.embedded_dir)
    log.warning("moved the embedded servers' data from %s to %s", legacy, settings.embedded_dir)
