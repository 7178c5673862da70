"""python -m factsvc."""

import sys

from factsvc.cli import main

sys.exit(main())
