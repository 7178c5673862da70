"""python -m factsvc.api_schema [--check] [PATH]: write the OpenAPI document (make docs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import factsvc
from factsvc.api_schema.document import build_document, render
from factsvc.routes import ROUTES

SHIPPED = Path(factsvc.__file__).parent / "openapi.json"


def main(argv: list[str] | None = None) -> int:
    """Writes the generated document to PATH (the shipped openapi.json by default); with
    --check, writes nothing and exits 1 when PATH differs from it."""
    parser = argparse.ArgumentParser(prog="python -m factsvc.api_schema", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=SHIPPED)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render(build_document(ROUTES))
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
        if current != text:
            print(f"{args.path} is not what the code generates: run `make docs`", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
