"""make_thumbnail: every hostile upload refused with a reason, every real image made into a
clean square WebP."""

from __future__ import annotations

import io
import multiprocessing
import pickle
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageFile

from factsvc.services.avatar_image import (
    ACCEPTED_MEDIA_TYPES,
    MAX_JPEG_SCANS,
    THUMBNAIL_MEDIA_TYPE,
    ImageRefused,
    make_thumbnail,
)
from tests.support import images

SIZE = 32
MAX_PIXELS = 4_000_000
# What a WebP without metadata may hold: the bitstream (lossy or lossless), its extended
# header and the alpha plane; never EXIF, ICCP or XMP.
PIXEL_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


def thumbnail(
    tmp_path: Path, data: bytes, media_type: str, *, max_pixels: int = MAX_PIXELS, size: int = SIZE
) -> bytes:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return make_thumbnail(str(path), media_type, max_pixels=max_pixels, size=size)


def refusal(tmp_path: Path, data: bytes, media_type: str, *, max_pixels: int = MAX_PIXELS) -> str:
    with pytest.raises(ImageRefused) as refused:
        thumbnail(tmp_path, data, media_type, max_pixels=max_pixels)
    assert refused.value.args == (refused.value.reason,)
    return refused.value.reason


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["WEBP"])
    image.load()
    return image


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 6) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


VALID: dict[str, tuple[Callable[[], bytes], str]] = {
    "png": (images.png, "image/png"),
    "jpeg": (images.jpeg, "image/jpeg"),
    "webp": (images.webp, "image/webp"),
    "jpeg with GPS": (images.jpeg_with_gps, "image/jpeg"),
    "png with GPS": (images.png_with_gps, "image/png"),
    "polyglot": (images.polyglot_png, "image/png"),
    "animated webp": (images.animated_webp, "image/webp"),
    "animated png": (images.animated_png, "image/png"),
    "rotated jpeg": (images.jpeg_rotated, "image/jpeg"),
    "cmyk jpeg": (images.cmyk_jpeg, "image/jpeg"),
    "16-bit png": (images.sixteen_bit_png, "image/png"),
    "palette png with transparency": (images.palette_png_with_transparency, "image/png"),
    "grey and alpha png": (images.grey_alpha_png, "image/png"),
}


def test_the_contract_names_three_types_and_a_webp_answer() -> None:
    assert dict(ACCEPTED_MEDIA_TYPES) == {
        "image/png": "PNG",
        "image/jpeg": "JPEG",
        "image/webp": "WEBP",
    }
    assert THUMBNAIL_MEDIA_TYPE == "image/webp"


@pytest.mark.parametrize(("make", "media_type"), VALID.values(), ids=VALID.keys())
def test_a_real_image_becomes_a_square_webp_with_nothing_but_pixels(
    tmp_path: Path, make: Callable[[], bytes], media_type: str
) -> None:
    output = thumbnail(tmp_path, make(), media_type)

    assert set(images.webp_chunks(output)) <= PIXEL_CHUNKS
    image = decoded(output)
    assert image.size == (SIZE, SIZE)
    assert image.mode in ("RGB", "RGBA")
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp"} & set(image.info)


@pytest.mark.parametrize("size", [1, 17, 256])
def test_the_thumbnail_has_the_asked_size_smaller_or_larger_than_the_image(
    tmp_path: Path, size: int
) -> None:
    assert decoded(thumbnail(tmp_path, images.png((64, 48)), "image/png", size=size)).size == (
        size,
        size,
    )


@pytest.mark.parametrize(
    ("make", "media_type"),
    [(images.jpeg_with_gps, "image/jpeg"), (images.png_with_gps, "image/png")],
    ids=["jpeg", "png"],
)
def test_the_gps_position_is_gone(
    tmp_path: Path, make: Callable[[], bytes], media_type: str
) -> None:
    upload = make()
    gps = Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)
    assert tuple(float(value) for value in gps[2]) == images.GPS_LATITUDE

    output = thumbnail(tmp_path, upload, media_type)

    assert b"Exif" not in output
    assert b"EXIF" not in output
    assert b"Camera maker" not in output


def test_the_payload_after_a_polyglots_image_is_gone(tmp_path: Path) -> None:
    upload = images.polyglot_png()
    assert images.POLYGLOT_PAYLOAD in upload

    output = thumbnail(tmp_path, upload, "image/png")

    assert b"<script" not in output
    assert b"html" not in output
    images.webp_chunks(output)  # raises if anything follows the RIFF chunk


@pytest.mark.parametrize(
    ("orientation", "top", "bottom", "left", "right"),
    [
        (1, None, None, images.RED, images.BLUE),
        (3, None, None, images.BLUE, images.RED),
        (6, images.RED, images.BLUE, None, None),
        (8, images.BLUE, images.RED, None, None),
    ],
)
def test_the_exif_orientation_is_applied_before_it_is_dropped(
    tmp_path: Path,
    orientation: int,
    top: tuple[int, int, int] | None,
    bottom: tuple[int, int, int] | None,
    left: tuple[int, int, int] | None,
    right: tuple[int, int, int] | None,
) -> None:
    image = decoded(thumbnail(tmp_path, images.jpeg_rotated(orientation), "image/jpeg"))

    middle, near, far = SIZE // 2, 3, SIZE - 4
    samples = {
        "top": (top, (middle, near)),
        "bottom": (bottom, (middle, far)),
        "left": (left, (near, middle)),
        "right": (right, (far, middle)),
    }
    for where, (expected, xy) in samples.items():
        if expected is not None:
            assert close_to(image.getpixel(xy), expected, 12), where  # type: ignore[arg-type]


def test_the_centre_square_is_kept(tmp_path: Path) -> None:
    wide = Image.new("RGB", (90, 30), images.BLUE)
    wide.paste(images.RED, (30, 0, 60, 30))

    image = decoded(thumbnail(tmp_path, images.encoded(wide, "PNG"), "image/png"))

    for xy in [(1, 1), (SIZE - 2, SIZE - 2), (SIZE // 2, SIZE // 2)]:
        assert close_to(image.getpixel(xy), images.RED), xy  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "media_type", "left", "right"),
    [
        (images.png, "image/png", images.RED, images.RED),
        (images.cmyk_jpeg, "image/jpeg", images.RED, images.RED),
        # Pillow's own conversion of 16-bit grey clips every level above 255 to white.
        (images.sixteen_bit_png, "image/png", (128, 128, 128), (128, 128, 128)),
        (images.palette_png_with_transparency, "image/png", (0, 0, 0, 0), (*images.RED, 255)),
        (images.grey_alpha_png, "image/png", (128, 128, 128, 255), (0, 0, 0, 0)),
        # The first frame, green; the second is blue.
        (images.animated_webp, "image/webp", images.GREEN, images.GREEN),
        (images.animated_png, "image/png", images.GREEN, images.GREEN),
    ],
    ids=["rgb", "cmyk", "16-bit", "palette", "grey and alpha", "animated webp", "animated png"],
)
def test_colours_and_transparency_survive_the_conversion(
    tmp_path: Path,
    make: Callable[[], bytes],
    media_type: str,
    left: tuple[int, ...],
    right: tuple[int, ...],
) -> None:
    image = decoded(thumbnail(tmp_path, make(), media_type))

    assert close_to(image.getpixel((3, SIZE // 2)), left)  # type: ignore[arg-type]
    assert close_to(image.getpixel((SIZE - 4, SIZE // 2)), right)  # type: ignore[arg-type]


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG"])
@pytest.mark.parametrize(
    ("make_profile", "seen"),
    [
        (srgb_profile, images.RED),
        (images.icc_swapping_red_and_blue, images.BLUE),
        (lambda: images.icc_of_another_space("LAB"), images.RED),
        (lambda: images.icc_of_another_space("XYZ"), images.RED),
        (lambda: b"not a profile" * 16, images.RED),
    ],
    ids=["sRGB", "red and blue swapped", "LAB", "XYZ", "not a profile"],
)
def test_an_embedded_icc_profile_is_applied_or_dropped_never_copied(
    tmp_path: Path,
    pillow_format: str,
    make_profile: Callable[[], bytes],
    seen: tuple[int, int, int],
) -> None:
    red = Image.new("RGB", (64, 48), images.RED)
    upload = images.encoded(red, pillow_format, icc_profile=make_profile())

    output = thumbnail(tmp_path, upload, f"image/{pillow_format.lower()}")

    assert set(images.webp_chunks(output)) <= PIXEL_CHUNKS
    assert close_to(decoded(output).getpixel((SIZE // 2, SIZE // 2)), seen)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "media_type", "reason"),
    [
        (images.png(), "image/jpeg", "is not a JPEG image"),
        (images.jpeg(), "image/png", "is not a PNG image"),
        (images.png(), "image/webp", "is not a WebP image"),
        (images.webp(), "image/png", "is not a PNG image"),
        (images.POLYGLOT_PAYLOAD, "image/png", "is not a PNG image"),
        (b"", "image/jpeg", "is not a JPEG image"),
    ],
    ids=["png as jpeg", "jpeg as png", "png as webp", "webp as png", "html", "empty"],
)
def test_bytes_that_are_not_the_declared_type_are_refused(
    tmp_path: Path, data: bytes, media_type: str, reason: str
) -> None:
    assert refusal(tmp_path, data, media_type) == reason


def test_a_type_outside_the_contract_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, images.png(), "image/svg+xml") == "is not of an accepted image type"


@pytest.mark.parametrize(
    ("data", "media_type", "reason"),
    [
        (images.truncated(images.noise_png()), "image/png", "is not a complete, valid PNG image"),
        (
            images.truncated(images.jpeg((300, 300))),
            "image/jpeg",
            "is not a complete, valid JPEG image",
        ),
        (
            images.truncated(images.encoded(Image.new("RGB", (300, 300), images.RED), "WEBP")),
            "image/webp",
            "is not a complete, valid WebP image",
        ),
    ],
    ids=["png", "jpeg", "webp"],
)
def test_a_truncated_file_is_refused(
    tmp_path: Path, data: bytes, media_type: str, reason: str
) -> None:
    assert refusal(tmp_path, data, media_type) == reason


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    bomb = images.decompression_bomb_png(50_000, 50_000)
    assert len(bomb) < 400_000

    assert refusal(tmp_path, bomb, "image/png") == f"has more than {MAX_PIXELS} pixels"


def test_the_pixel_limit_is_each_calls_own_far_below_pillows(tmp_path: Path) -> None:
    bomb = images.decompression_bomb_png(2_001, 2_000)  # 4 002 000 pixels in 1 KB or so
    before = Image.MAX_IMAGE_PIXELS
    assert before is not None
    assert before > 2_001 * 2_000

    assert refusal(tmp_path, bomb, "image/png") == f"has more than {MAX_PIXELS} pixels"
    assert decoded(thumbnail(tmp_path, bomb, "image/png", max_pixels=2_001 * 2_000)).size == (
        SIZE,
        SIZE,
    )
    assert before == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize(
    "data",
    [images.png_declaring(65_535, 65_535), images.jpeg_declaring(65_500, 65_500)],
    ids=["png", "jpeg"],
)
def test_a_tiny_file_declaring_huge_dimensions_is_refused(tmp_path: Path, data: bytes) -> None:
    assert len(data) < 1_000
    media_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"

    assert refusal(tmp_path, data, media_type) == f"has more than {MAX_PIXELS} pixels"


def test_the_dimensions_are_checked_before_any_pixel_is_decoded(tmp_path: Path) -> None:
    # 3000 x 3000 over a few bytes of data: decoding it fails, so the reason tells which
    # check came first.
    data = images.png_declaring(3_000, 3_000)

    assert refusal(tmp_path, data, "image/png", max_pixels=9_000_000) == (
        "is not a complete, valid PNG image"
    )
    assert refusal(tmp_path, data, "image/png", max_pixels=8_999_999) == (
        "has more than 8999999 pixels"
    )


def test_a_progressive_jpeg_of_a_few_scans_is_accepted(tmp_path: Path) -> None:
    upload = images.progressive_jpeg()
    assert upload.count(b"\xff\xda") == 10

    image = decoded(thumbnail(tmp_path, upload, "image/jpeg"))

    assert close_to(image.getpixel((3, SIZE // 2)), images.RED, 12)  # type: ignore[arg-type]


def test_a_jpeg_of_too_many_scans_is_refused_before_decoding(tmp_path: Path) -> None:
    upload = images.progressive_jpeg(extra_scans=MAX_JPEG_SCANS)

    assert refusal(tmp_path, upload, "image/jpeg") == (
        f"is a progressive JPEG of more than {MAX_JPEG_SCANS} scans"
    )


def test_a_corrupt_exif_block_is_refused_where_warnings_are_errors(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reason = refusal(tmp_path, images.jpeg_with_corrupt_exif(), "image/jpeg")

    assert reason == "is not a complete, valid JPEG image"


def test_a_corrupt_exif_block_is_only_a_warning_elsewhere(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = thumbnail(tmp_path, images.jpeg_with_corrupt_exif(), "image/jpeg")

    assert {type(warning.message) for warning in caught} == {UserWarning}
    image = decoded(output)
    assert close_to(image.getpixel((SIZE // 2, 3)), images.RED, 12)  # type: ignore[arg-type]
    assert set(images.webp_chunks(output)) <= PIXEL_CHUNKS


def test_running_out_of_memory_is_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(self: ImageFile.ImageFile) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", out_of_memory)

    assert refusal(tmp_path, images.png(), "image/png") == "is too large to decode"


def test_metadata_the_encoder_would_write_is_caught_before_it_is_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = Image.Image.save

    def save_with_exif(self: Image.Image, fp: Any, format: Any = None, **options: Any) -> None:
        save(self, fp, format, **{**options, "exif": images.gps_exif()})

    monkeypatch.setattr(Image.Image, "save", save_with_exif)

    with pytest.raises(RuntimeError, match="EXIF"):
        thumbnail(tmp_path, images.png(), "image/png")


def test_a_file_that_cannot_be_read_is_the_servers_error_not_a_refusal(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_thumbnail(str(tmp_path / "gone"), "image/png", max_pixels=MAX_PIXELS, size=SIZE)


def test_a_refusal_survives_pickling_with_its_reason() -> None:
    refused = pickle.loads(pickle.dumps(ImageRefused("is not a PNG image")))  # noqa: S301

    assert isinstance(refused, ImageRefused)
    assert refused.reason == "is not a PNG image"
    assert refused.args == ("is not a PNG image",)


def test_it_runs_in_threads_side_by_side(tmp_path: Path) -> None:
    paths = []
    for index, (make, media_type) in enumerate(VALID.values()):
        path = tmp_path / f"upload-{index}"
        path.write_bytes(make())
        paths.append((str(path), media_type))

    with ThreadPoolExecutor(4) as pool:
        outputs = list(
            pool.map(
                lambda job: make_thumbnail(job[0], job[1], max_pixels=MAX_PIXELS, size=SIZE),
                paths,
            )
        )

    assert all(decoded(output).size == (SIZE, SIZE) for output in outputs)


def test_it_runs_in_a_spawned_process_and_its_refusal_comes_back(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(images.jpeg())
    bad.write_bytes(images.png())
    context = multiprocessing.get_context("spawn")

    with ProcessPoolExecutor(1, mp_context=context) as pool:
        made = pool.submit(
            make_thumbnail, str(good), "image/jpeg", max_pixels=MAX_PIXELS, size=SIZE
        )
        refused = pool.submit(
            make_thumbnail, str(bad), "image/jpeg", max_pixels=MAX_PIXELS, size=SIZE
        )
        assert decoded(made.result(timeout=60)).size == (SIZE, SIZE)
        with pytest.raises(ImageRefused) as error:
            refused.result(timeout=60)

    assert error.value.reason == "is not a JPEG image"
