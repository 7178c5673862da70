"""The `factsvc` command: `factsvc serve [--embedded]`."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from factsvc.config import ConfigError, Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="factsvc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument(
        "--embedded",
        action="store_true",
        help="start and supervise a local redis-server and MongoDB-compatible server",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        print(f"factsvc: configuration error: {error}", file=sys.stderr)
        return 2
    # Imported late: a configuration error is reported before anything heavy loads, and
    # prometheus_client must not be imported before the metrics directory is set.
    from factsvc.logs import configure_logging

    configure_logging(settings)
    with multiprocess_metrics_dir(settings.metrics_dir):
        from factsvc.server import serve

        return serve(settings, embedded=args.embedded)


@contextlib.contextmanager
def multiprocess_metrics_dir(metrics_dir: Path) -> Iterator[None]:
    """Workers share metric files in a directory of this run's own, set before
    prometheus_client is imported (it reads the variable once) and removed at exit."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    directory = metrics_dir / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield
    finally:
        if os.getpid() == int(directory.name):
            shutil.rmtree(directory, ignore_errors=True)
