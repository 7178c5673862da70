"""The process's limit of open files, raised to what the system allows for many connections."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)


def raise_open_files_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (as Go's runtime does at
    start), so that each idle keep-alive connection, one descriptor, is refused only where
    the administrator set the bound; forked workers inherit it. Returns (soft, hard) after.
    A hard limit of RLIM_INFINITY is left alone, as is a refusal (logged)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError) as error:
            log.warning("open files limit stays %d (hard %d): %s", soft, hard, error)
            return soft, hard
        soft = hard
    return soft, hard
