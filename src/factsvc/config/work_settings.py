"""The settings of the service's work: factorials and avatars, their pools, caches and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from factsvc.config.declaring import Area, setting
from factsvc.config.loading import DeclaredSettings
from factsvc.config.rules import AbsolutePath, WholeNumber
from factsvc.config.setting_types import DAY, Attempts, Count, Lifetime, Wait, Window

A = Area


class FactorialSettings(DeclaredSettings):
    """The area "factorials" of Settings: bounds, caches and the computing processes."""

    fact_max_n: Annotated[int, WholeNumber(0, 1_000_000)] = setting(
        "FACT_MAX_N", 100_000, A.FACTORIALS
    )
    """largest n accepted"""
    fact_cache_ttl: Lifetime = setting("FACT_CACHE_TTL", 7 * DAY, A.FACTORIALS)
    """seconds a value stays in Redis"""
    fact_cache_max_bytes: Annotated[int, WholeNumber(1 << 20, 1 << 40)] = setting(
        "FACT_CACHE_MAX_BYTES", 256 << 20, A.FACTORIALS
    )
    """bound of the factorial cache in Redis: its own server's maxmemory, else the service's"""
    fact_cache_min_n: Annotated[int, WholeNumber(0, 1_000_000)] = setting(
        "FACT_CACHE_MIN_N", 5000, A.FACTORIALS
    )
    """smallest n kept in Redis; smaller ones are cheaper to compute than to fetch"""
    fact_local_cache_bytes: Annotated[int, WholeNumber(0, 1 << 40)] = setting(
        "FACT_LOCAL_CACHE_BYTES", 64 << 20, A.FACTORIALS
    )
    """size of the in-process cache tier, per process"""
    fact_workers: Annotated[int, WholeNumber(1, 64)] = setting("FACT_WORKERS", 1, A.FACTORIALS)
    """processes per worker computing big factorials"""
    fact_max_pending: Count = setting("FACT_MAX_PENDING", 32, A.FACTORIALS)
    """big computations queued or running; more wait for a place"""
    fact_max_wait_seconds: Wait = setting("FACT_MAX_WAIT_SECONDS", 5.0, A.FACTORIALS)
    """how long a computation waits for a place before 503 + Retry-After; 0: refuse at once"""


class AvatarSettings(DeclaredSettings):
    """The area "avatars" of Settings: upload and image bounds, processes and limits."""

    avatar_max_bytes: Annotated[int, WholeNumber(1024, 64 << 20)] = setting(
        "AVATAR_MAX_BYTES", 2 << 20, A.AVATARS
    )
    """largest avatar upload (PUT /account/avatar's body); larger ones get 413"""
    avatar_max_pixels: Annotated[int, WholeNumber(1, 1 << 30)] = setting(
        "AVATAR_MAX_PIXELS", 4096 * 4096, A.AVATARS
    )
    """largest width x height an upload may declare; more is refused (decompression bombs)"""
    avatar_size: Annotated[int, WholeNumber(16, 1024)] = setting("AVATAR_SIZE", 256, A.AVATARS)
    """width and height of the stored avatar, a square WebP, in pixels"""
    path_upload: Annotated[Path, AbsolutePath()] = setting("PATH_UPLOAD", "", A.AVATARS)
    """where uploads are spooled while they arrive (created at start); empty: PATH_DATA/upload"""
    avatar_workers: Annotated[int, WholeNumber(1, 64)] = setting("AVATAR_WORKERS", 1, A.AVATARS)
    """processes per worker decoding and resizing uploaded images"""
    avatar_max_pending: Count = setting("AVATAR_MAX_PENDING", 4, A.AVATARS)
    """images being resized or queued; more wait for a place"""
    avatar_max_wait_seconds: Wait = setting("AVATAR_MAX_WAIT_SECONDS", 5.0, A.AVATARS)
    """how long an image waits for a place before 503 + Retry-After; 0: refuse at once"""
    avatar_uploads_max: Attempts = setting("AVATAR_UPLOADS_MAX", 30, A.AVATARS)
    """avatar uploads per user per window; more get 429"""
    avatar_uploads_window_seconds: Window = setting(
        "AVATAR_UPLOADS_WINDOW_SECONDS", 3600, A.AVATARS
    )
    """the window of AVATAR_UPLOADS_MAX, in seconds"""
