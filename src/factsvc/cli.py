"""The `factsvc` command: `factsvc serve [--embedded]`."""

from __future__ import annotations

import argparse
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
    # Imported late so that a configuration error is reported before anything heavy loads.
    from factsvc.logs import configure_logging
    from factsvc.server import serve

    configure_logging(settings)
    return serve(settings, embedded=args.embedded)
