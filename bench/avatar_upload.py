"""Avatar uploads end to end: PUT /account/avatar of images near AVATAR_MAX_BYTES against the
real service on its embedded backends (as `make run` starts it), how long each takes, and how
long the service's event loop is held meanwhile; then make_thumbnail alone, in a thread and in
a process.

.venv/bin/python bench/avatar_upload.py [--runs 7] [--concurrency 4] [--out FILE.json]

Two views of the loop: the service's own probe (factsvc_event_loop_lag_seconds at /metrics, a
0.5 s sleeper: how late it woke, as histogram buckets), and a client that asks GET /healthz
every 5 ms on a connection of its own (its slowest answers bound how long the loop was held).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from factsvc.config import Settings
from factsvc.executors import make_process_pool
from factsvc.services.avatar_image import make_thumbnail
from percentiles import in_ms
from prepare import Users
from report_avatar import report_lines
from servers import start_service

BIN = Path(sys.executable).parent
DEFAULTS = Settings.model_fields
MAX_BYTES: int = DEFAULTS["avatar_max_bytes"].default
MAX_PIXELS: int = DEFAULTS["avatar_max_pixels"].default
SIZE: int = DEFAULTS["avatar_size"].default
PING_INTERVAL_SECONDS = 0.005
# Uploads at once in the concurrent runs: AVATAR_MAX_PENDING's default, so none is refused.
CONCURRENCY: int = DEFAULTS["avatar_max_pending"].default
_LAG_BUCKET = re.compile(
    r'^factsvc_event_loop_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)$', re.MULTILINE
)
Sample = dict[str, Any]


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _photo(width: int, height: int, sigma: float) -> Image.Image:
    """Gradients and grain: compresses like a photo (a flat image would be far too small)."""
    noise = Image.effect_noise((width, height), sigma)
    linear = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    return Image.merge(
        "RGB",
        (Image.blend(linear, noise, 0.5), Image.blend(radial, noise, 0.3), radial),
    )


def _encoded(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    output = io.BytesIO()
    image.save(output, pillow_format, **options)
    return output.getvalue()


def sample_images(max_bytes: int) -> dict[str, tuple[str, bytes]]:
    """Name -> (media type, bytes): a 12-megapixel JPEG photo at the highest quality that fits
    in `max_bytes`, a grainy PNG scaled to just fit, and a smooth PNG of MAX_PIXELS pixels (the
    most an upload may have: the dearest to decode, though far smaller than `max_bytes`)."""
    photo = _photo(4000, 3000, 20)
    quality = max(
        (q for q in range(50, 96) if len(_encoded(photo, "JPEG", quality=q)) <= max_bytes),
        default=50,
    )
    jpeg = _encoded(photo, "JPEG", quality=quality)
    side, png = 1000, b""
    for _ in range(4):
        png = _encoded(_photo(side * 4 // 3, side, 20), "PNG")
        side = int(side * (0.98 * max_bytes / len(png)) ** 0.5)
    png = _encoded(_photo(side * 4 // 3, side, 20), "PNG")
    square = int(MAX_PIXELS**0.5)
    linear = Image.linear_gradient("L").resize((square, square))
    radial = Image.radial_gradient("L").resize((square, square))
    smooth = _encoded(
        Image.merge("RGB", (linear, radial, linear.transpose(Image.Transpose.ROTATE_90))), "PNG"
    )
    return {
        "jpeg_2mib": ("image/jpeg", jpeg),
        "png_2mib": ("image/png", png),
        "png_max_pixels": ("image/png", smooth),
    }


def describe(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return f"{image.format} {image.width}x{image.height}, {len(data) / (1 << 20):.2f} MiB"


class Pinger(threading.Thread):
    """GET /healthz every PING_INTERVAL_SECONDS on a connection of its own: (start, seconds)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self._finished = threading.Event()
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        while not self._finished.is_set():
            started = time.perf_counter()
            self._connection.request("GET", "/healthz")
            self._connection.getresponse().read()
            self.samples.append((started, time.perf_counter() - started))
            self._finished.wait(PING_INTERVAL_SECONDS)

    def stop(self) -> None:
        self._finished.set()
        self.join()

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for started, seconds in self.samples if start <= started <= end]


def _lag_buckets(url: str) -> dict[float, float]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    buckets: dict[float, float] = {}
    for bound, count in _LAG_BUCKET.findall(text):
        buckets[float(bound)] = buckets.get(float(bound), 0.0) + float(count)
    return buckets


def _probe_view(before: dict[float, float], after: dict[float, float]) -> Sample:
    """The service probe's samples taken between two scrapes: how many, and the bound of the
    highest bucket any of them fell in (cumulative buckets: the first holding them all)."""
    delta = {bound: after.get(bound, 0.0) - before.get(bound, 0.0) for bound in after}
    total = delta.get(float("inf"), 0.0)
    worst = min((b for b, n in delta.items() if n >= total), default=float("inf"))
    return {"samples": int(total), "worst_at_most_ms": worst * 1000}


def upload(url: str, token: str, media_type: str, data: bytes) -> float:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    headers = {"Content-Type": media_type, "Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    connection.request("PUT", "/account/avatar", data, headers)
    response = connection.getresponse()
    body = response.read()
    seconds = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"PUT /account/avatar: {response.status} {body[:300]!r}")
    return seconds


@contextmanager
def watched(url: str, pinger: Pinger, into: Sample) -> Iterator[None]:
    """Fill `into` with the service probe's view and the pings' latencies over the block."""
    before, start = _lag_buckets(url), time.perf_counter()
    yield
    # The probe samples twice a second: wait for the sample that covers the block's end.
    time.sleep(0.6)
    end = time.perf_counter()
    into["service_probe"] = _probe_view(before, _lag_buckets(url))
    into["healthz"] = in_ms(pinger.between(start, end), 99)


def end_to_end(
    runs: int,
    concurrency: int,
    images: dict[str, tuple[str, bytes]],
    log: Callable[[str], None] = progress,
) -> Sample:
    """Uploads against `factsvc serve --embedded` of one process, as `make run` serves, with
    the default avatar settings but no per-user upload limit in the way of repeated uploads
    (and cheaper hashes for the preparation); `runs` uploads one at a time and `runs` rounds
    of `concurrency` at once (each by another user), per image."""
    with tempfile.TemporaryDirectory(prefix="factsvc-avatar-bench-") as work_dir:
        server, _ = start_service(
            BIN,
            Path(work_dir),
            processes=1,
            event_loop="uvloop",
            bcrypt_rounds=10,
            extra_env={"AVATAR_UPLOADS_MAX": "100000"},
        )
        try:
            users = Users.make(concurrency)
            users.register(server.url)
            tokens = [token for token, _ in users.log_in(server.url, concurrency)]
            pinger = Pinger(server.url)
            pinger.start()
            try:
                return _uploads(server.url, pinger, tokens, runs, images, log)
            finally:
                pinger.stop()
        finally:
            server.stop()


def _uploads(
    url: str,
    pinger: Pinger,
    tokens: list[str],
    runs: int,
    images: dict[str, tuple[str, bytes]],
    log: Callable[[str], None],
) -> Sample:
    idle: Sample = {}
    with watched(url, pinger, idle):
        time.sleep(2.0)
    results: Sample = {"idle": idle}
    for name, (media_type, data) in images.items():
        log(f"avatar uploads: PUT /account/avatar of {name}")
        upload(url, tokens[0], media_type, data)  # starts the image process
        one: Sample = {}
        with watched(url, pinger, one):
            one["upload"] = in_ms(
                [upload(url, tokens[0], media_type, data) for _ in range(runs)], 99
            )
        together: Sample = {}
        with watched(url, pinger, together), ThreadPoolExecutor(len(tokens)) as pool:
            latencies: list[float] = []
            for _ in range(runs):
                jobs = [pool.submit(upload, url, token, media_type, data) for token in tokens]
                latencies.extend(job.result() for job in jobs)
            together["upload"] = in_ms(latencies, 99)
        results[name] = {"one_at_a_time": one, "at_once": together}
    return results


async def _lags_while(run: Callable[[], Any], executor: Executor) -> list[float]:
    """How late the loop woke a 1 ms sleeper, each time, while `run` ran in `executor`."""
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(executor, run)
    lags = []
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - started - 0.001)
    await work
    return lags


def alone(runs: int, images: dict[str, tuple[str, bytes]]) -> Sample:
    """make_thumbnail's own time, in this process's thread and in a spawned worker process,
    and the lag of this process's event loop meanwhile."""
    results: Sample = {}
    with (
        tempfile.TemporaryDirectory(prefix="factsvc-avatar-alone-") as temporary,
        ThreadPoolExecutor(1) as threads,
        make_process_pool(1) as processes,
    ):
        directory = Path(temporary)
        for name, (media_type, data) in images.items():
            path = directory / name
            path.write_bytes(data)

            def run(path: Path = path, media_type: str = media_type) -> bytes:
                return make_thumbnail(str(path), media_type, max_pixels=MAX_PIXELS, size=SIZE)

            processes.submit(
                make_thumbnail, str(path), media_type, max_pixels=MAX_PIXELS, size=SIZE
            ).result()
            entry: Sample = {}
            for where, executor in (("thread", threads), ("process", processes)):
                times, lags = [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    if where == "thread":
                        lags.extend(asyncio.run(_lags_while(run, executor)))
                    else:
                        call = _in_process(executor, str(path), media_type)
                        lags.extend(asyncio.run(_lags_while(call, threads)))
                    times.append(time.perf_counter() - started)
                entry[where] = {"time": in_ms(times, 99), "loop_lag": in_ms(lags, 99)}
            results[name] = entry
    return results


def _in_process(executor: Executor, path: str, media_type: str) -> Callable[[], bytes]:
    def call() -> bytes:
        future = executor.submit(make_thumbnail, path, media_type, max_pixels=MAX_PIXELS, size=SIZE)
        return future.result()

    return call


def measure(
    runs: int,
    concurrency: int = CONCURRENCY,
    *,
    service: bool = True,
    log: Callable[[str], None] = progress,
) -> Sample:
    """The whole measurement: the sample images, make_thumbnail alone, and (with `service`)
    the uploads end to end; as JSON-ready values, milliseconds."""
    log("avatar uploads: making the sample images")
    images = sample_images(MAX_BYTES)
    report: Sample = {
        "runs": runs,
        "concurrency": concurrency,
        "images": {name: describe(data) for name, (_, data) in images.items()},
    }
    log("avatar uploads: make_thumbnail alone, in a thread and in a process")
    report["alone"] = alone(runs, images)
    if service:
        report["end_to_end"] = end_to_end(runs, concurrency, images, log)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--alone-only", action="store_true", help="make_thumbnail alone only")
    options = parser.parse_args()
    report = measure(options.runs, options.concurrency, service=not options.alone_only)
    print("\n".join(report_lines(report)))
    if options.out:
        options.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
