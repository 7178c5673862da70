"""nginx as a child process: found on PATH or in the sbin directories, run in the foreground on a
configuration rendered into a directory of its own, checked with `nginx -t` first."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from factsvc.cluster.nginx_config import Site, render
from factsvc.config import Settings
from factsvc.embedded import LOOPBACK, EmbeddedError, ManagedServer

# Where packages put nginx; a user's PATH often lacks the sbin directories.
SBIN_DIRECTORIES = ("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin")
HOW_TO_INSTALL = (
    "nginx is not installed: `make nginx` installs Debian's package (as root, with apt-get); "
    "elsewhere install it with your package manager (Debian/Ubuntu: sudo apt-get install "
    "nginx; macOS: brew install nginx)"
)


def find_nginx() -> str:
    """The nginx executable on PATH or in SBIN_DIRECTORIES; EmbeddedError saying how to
    install it when there is none."""
    found = shutil.which("nginx") or shutil.which("nginx", path=os.pathsep.join(SBIN_DIRECTORIES))
    if found is None:
        raise EmbeddedError(HOW_TO_INSTALL)
    return found


def worker_user(site_dir: Path) -> str | None:
    """The user nginx's workers run as: None (nginx's own user) unless nginx starts as root,
    which would switch them to `nobody`, who may not enter a private PATH_DATA where the proxy
    cache lives; then the owner of `site_dir`."""
    if os.geteuid() != 0:
        return None  # workers run as nginx's own user, which can use its files
    return pwd.getpwuid(site_dir.stat().st_uid).pw_name


def nginx_server(
    settings: Settings,
    *,
    port: int,
    upstream_ports: Sequence[int],
    site_dir: Path,
    log_dir: Path,
    cache_dir: Path | None = None,
) -> ManagedServer:
    """nginx on LOOPBACK:`port` in front of the instances on `upstream_ports`, its
    configuration, pid and temporary files in `site_dir`, its logs in `log_dir`
    (nginx-access.log, nginx-error.log; what it prints, nginx.log), its proxy cache of /fact
    answers in `cache_dir` (None: no cache; nginx creates it in an existing directory). Not
    started yet.

    Raises EmbeddedError when nginx is missing or refuses the configuration."""
    executable = find_nginx()
    site_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    site = Site(
        listen=f"{LOOPBACK}:{port}",
        upstreams=tuple(f"{LOOPBACK}:{upstream}" for upstream in upstream_ports),
        error_log=str(log_dir / "nginx-error.log"),
        access_log=str(log_dir / "nginx-access.log"),
        cache_dir=None if cache_dir is None else str(cache_dir),
        user=worker_user(site_dir),
    )
    config = site_dir / "nginx.conf"
    config.write_text(render(settings, site), encoding="utf-8")
    # -e: the log of nginx's start, before it reads the configuration (the compiled-in path,
    # /var/log/nginx/error.log, is not writable by every user).
    argv = [executable, "-e", "stderr", "-p", f"{site_dir}/", "-c", str(config)]
    checked = subprocess.run(  # noqa: S603 - nginx's own path and our files
        [*argv, "-t", "-q"], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        raise EmbeddedError(f"nginx refused {config}: {checked.stderr.strip()}")
    return ManagedServer(
        "nginx",
        [*argv, "-g", "daemon off;"],
        port,
        log_dir / "nginx.log",
        site_dir / "server.pid",
    )
