"""The avatars' part of the composition root: the GridFS store, the image processes, the spool
directory and the upload policy, built from Settings for app.py."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable
from factsvc.executors import BoundedExecutor, make_process_pool
from factsvc.handlers.avatars import UploadPolicy
from factsvc.handlers.upload_spool import prepare_spool_directory
from factsvc.metrics import Metrics
from factsvc.renewed_pool import RenewedProcessPool
from factsvc.services.avatars import AvatarRules, AvatarService
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.sessions import SessionService
from factsvc.storage.mongo import MongoClient
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.mongo_avatars import MongoAvatarStore

log = logging.getLogger(__name__)
POOL = "avatar"


def upload_policy(settings: Settings) -> UploadPolicy:
    """AVATAR_MAX_BYTES in PATH_UPLOAD; past the limit, the connection reads and drops up to
    HTTP_MAX_BODY_BYTES more before it closes, as it does after any other 413. The body may
    take HTTP_BODY_TIMEOUT_SECONDS, or longer when its length needs it (UploadPolicy)."""
    return UploadPolicy(
        settings.avatar_max_bytes,
        settings.path_upload,
        settings.http_max_body_bytes,
        settings.http_body_timeout_seconds,
    )


async def open_avatar_service(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    mongo_client: MongoClient,
    accounts: MongoAccountStore,
    sessions: SessionService,
    limiter: RateLimiter,
    metrics: Metrics,
) -> tuple[AvatarService, MongoAvatarStore, BoundedExecutor]:
    """The avatar service, its store (whose delete_owned_by an account's deletion calls) and
    its bounded image runner; the process pool is shut down when `stack` closes.

    Images are decoded in processes, not threads: decoding and encoding WebP holds the GIL
    (measured: a 2 MiB WebP's thumbnail halved the loop's turns while it ran in a thread, and
    took twice as long), and a codec that crashes on hostile input takes a worker, not the
    service, down: the pool is then replaced (RenewedProcessPool)."""
    await asyncio.to_thread(prepare_spool_directory, settings.path_upload)
    files = MongoAvatarStore(mongo_client, settings.mongodb_name)
    try:
        await files.ensure_indexes()
    except DependencyUnavailable as error:
        log.warning("MongoDB unavailable at start; the avatars' index comes later: %s", error)
    pool = RenewedProcessPool(lambda: make_process_pool(settings.avatar_workers))
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    runner = BoundedExecutor(
        pool,
        max_pending=settings.avatar_max_pending,
        max_wait_seconds=settings.avatar_max_wait_seconds,
        what=POOL,
        on_reject=metrics.rejections.labels(POOL).inc,
    )
    service = AvatarService(
        accounts=accounts,
        files=files,
        sessions=sessions,
        limiter=limiter,
        images=runner,
        rules=AvatarRules(
            max_pixels=settings.avatar_max_pixels,
            size=settings.avatar_size,
            uploads_per_user=Limit(
                "avatar-user", settings.avatar_uploads_max, settings.avatar_uploads_window_seconds
            ),
        ),
    )
    return service, files, runner
