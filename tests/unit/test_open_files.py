"""The service raises its soft limit of open files to the hard limit, for many connections."""

from __future__ import annotations

import resource
import subprocess
import sys

PROBE = (
    "import resource\n"
    "from factsvc.open_files import raise_open_files_limit\n"
    "print(*raise_open_files_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))\n"
)


def test_a_low_soft_limit_is_raised_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        preexec_fn=lower,  # only setrlimit, before exec
        capture_output=True,
        text=True,
        check=True,
    )
    returned_soft, returned_hard, soft, now_hard = map(int, probe.stdout.split())
    assert (returned_soft, returned_hard) == (soft, now_hard) == (hard, hard)
