"""nginx's proxy cache of /fact answers: its zone, bounds and the location that uses it."""

from __future__ import annotations

import math

from factsvc.config import Settings

# Its keys take shared memory (about 8000 per MB, nginx's documentation), one per n and coding
# (a /fact answer varies with Accept-Encoding from n = 433 up, and clients send one or two
# forms of it); its answers take disk up to PROXY_CACHE_MAX_SIZE, the least recently used
# making way beyond it, and any unused for PROXY_CACHE_INACTIVE.
PROXY_CACHE_ZONE = "factsvc_fact"
PROXY_CACHE_KEYS_PER_MB = 8000
PROXY_CACHE_VARIANTS_PER_N = 2
PROXY_CACHE_MAX_SIZE = "1g"
PROXY_CACHE_INACTIVE = "7d"


def proxy_cache_keys_zone_mb(settings: Settings) -> int:
    """The shared memory, in MB, for the keys of every /fact answer (n from 0 to FACT_MAX_N)
    in PROXY_CACHE_VARIANTS_PER_N codings."""
    keys = (settings.fact_max_n + 1) * PROXY_CACHE_VARIANTS_PER_N
    return math.ceil(keys / PROXY_CACHE_KEYS_PER_MB)


def proxy_cache_path(settings: Settings, cache_dir: str | None, indent: str) -> str:
    """The http block's proxy_cache_path line for a cache in `cache_dir`, indented by
    `indent`, a blank line before it; "" without a cache."""
    if cache_dir is None:
        return ""
    return (
        f"\n{indent}proxy_cache_path {cache_dir} levels=1:2 "
        f"keys_zone={PROXY_CACHE_ZONE}:{proxy_cache_keys_zone_mb(settings)}m "
        f"max_size={PROXY_CACHE_MAX_SIZE} inactive={PROXY_CACHE_INACTIVE} use_temp_path=off;\n"
    )


def fact_location(wait_seconds: int, cache_dir: str | None, indent: str) -> str:
    """The server block's `location = /fact` through the cache, in which concurrent misses
    for one n wait up to `wait_seconds` for the first; its lines indented by `indent` per
    level, a blank line before it. "" without a cache (location / then serves /fact)."""
    if cache_dir is None:
        return ""
    lines = [
        "location = /fact {",
        f"{indent}proxy_pass http://factsvc;",
        f"{indent}# Kept as the service's Cache-Control says; no proxy_cache_valid, so that an",
        f"{indent}# answer without one (an error: no-store) is never kept.",
        f"{indent}proxy_cache {PROXY_CACHE_ZONE};",
        f"{indent}# Concurrent misses for one n wait for the first answer, as long as it may take.",
        f"{indent}proxy_cache_lock on;",
        f"{indent}proxy_cache_lock_timeout {wait_seconds}s;",
        f"{indent}proxy_cache_lock_age {wait_seconds}s;",
        f"{indent}proxy_cache_revalidate on;",
        f"{indent}# A stored answer holds the id of the request that fetched it: send this one's.",
        f"{indent}proxy_hide_header X-Request-ID;",
        f"{indent}add_header X-Request-ID $factsvc_request_id always;",
        "}",
    ]
    return "\n" + "".join(f"{indent * 2}{line}\n" for line in lines)
