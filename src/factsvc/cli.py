"""The `factsvc` command: `factsvc serve [--embedded]`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

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
    from factsvc.instance import InstanceInUse, adopt_legacy_embedded_data, claimed_instance_dir
    from factsvc.logs import configure_logging

    configure_logging(settings)
    # Fixed now: a port settled later (port 0) must not rename the directory claimed.
    settings = settings.replaced(instance_name=settings.instance_name)
    with contextlib.ExitStack() as claim:
        try:
            claim.enter_context(claimed_instance_dir(settings))
        except InstanceInUse as error:
            print(f"factsvc: {error}", file=sys.stderr)
            return 2
        if args.embedded:
            adopt_legacy_embedded_data(settings)
        from factsvc.server import serve

        return serve(settings, embedded=args.embedded)
