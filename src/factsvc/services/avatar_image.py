"""Avatar images: decode an untrusted upload with Pillow, re-encode it as a square WebP."""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import BinaryIO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ACCEPTED_MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
)
THUMBNAIL_MEDIA_TYPE = "image/webp"

# What a reason calls each format (Pillow's own names, but WebP as its authors write it).
_FORMAT_NAMES: Mapping[str, str] = MappingProxyType({"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"})
_WEBP_QUALITY = 85
# libjpeg decodes every scan of a progressive JPEG over the whole image and sets no bound on
# their number: one small scan repeated 1 000 times (a 172 KB file) took 29 s of CPU here.
# Encoders write about 10 (libjpeg's default script) and rarely more than 20.
MAX_JPEG_SCANS = 64
_START_OF_SCAN = b"\xff\xda"
# A WebP's chunks that hold pixels: the lossy or lossless bitstream, the extended header, alpha.
_PIXEL_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH"})

# What Pillow and its codecs raise on hostile input: parsers raise SyntaxError, struct.error,
# EOFError, IndexError or KeyError from inside their headers, decoders OSError, bounds
# ValueError. Pillow also warns (a corrupt EXIF block, Image.DecompressionBombWarning): where
# warnings are errors (as in the tests) the warning is raised and refuses the image; elsewhere
# it is printed once and the image is made. Silencing it here instead would need
# warnings.catch_warnings, which changes process-wide state under other threads.
_DECODING_ERRORS: tuple[type[BaseException], ...] = (
    Warning,
    OSError,
    ValueError,
    SyntaxError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
)


class ImageRefused(ValueError):
    """The upload is not an image that becomes an avatar. `reason` is a short predicate for the
    client about the body ("is not a PNG image"), never a path or a library's message.
    Picklable (args == (reason,)), so that it crosses from a worker process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_thumbnail(path: str, media_type: str, *, max_pixels: int, size: int) -> bytes:
    """Decode the file at `path` as `media_type` only and return a `size` x `size` WebP
    (the centre square, turned as its EXIF orientation says, in sRGB, with no metadata).

    Runs in a worker thread or process: top-level, picklable arguments, no event loop.
    The dimensions the header declares are checked against `max_pixels` (width x height)
    before any pixel is decoded; the whole first frame is then decoded, so that a truncated
    file is refused. Raises ImageRefused for anything that is not such an image: another
    format (whatever `media_type` says), too many pixels, a JPEG of more than MAX_JPEG_SCANS
    scans, truncated or damaged data, or an image too large for memory.
    """
    pillow_format = ACCEPTED_MEDIA_TYPES.get(media_type)
    if pillow_format is None:
        raise ImageRefused("is not of an accepted image type")
    name = _FORMAT_NAMES[pillow_format]
    # Opened here, outside the handling of decoding errors: a file that cannot be read is the
    # server's fault (OSError), not the client's.
    with open(path, "rb") as file:
        return _decoded_thumbnail(file, pillow_format, name, max_pixels, size)


def _decoded_thumbnail(
    file: BinaryIO, pillow_format: str, name: str, max_pixels: int, size: int
) -> bytes:
    try:
        with Image.open(file, formats=[pillow_format]) as image:
            _check_dimensions(image, max_pixels)
            if pillow_format == "JPEG":
                _check_scans(file)
            return _thumbnail(image, size)
    except ImageRefused:
        raise
    except UnidentifiedImageError:
        raise ImageRefused(f"is not a {name} image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(f"has more than {max_pixels} pixels") from None
    except MemoryError:
        raise ImageRefused("is too large to decode") from None
    except _DECODING_ERRORS:
        raise ImageRefused(f"is not a complete, valid {name} image") from None


def _check_dimensions(image: Image.Image, max_pixels: int) -> None:
    # Pillow's own limit (Image.MAX_IMAGE_PIXELS) is process-wide and far above an avatar's:
    # it stays as it is, and each call checks its own bound here, from the header alone.
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRefused(f"has more than {max_pixels} pixels")
    if width < 1 or height < 1:
        raise ImageRefused("has no pixels")


def _check_scans(file: BinaryIO) -> None:
    # Entropy-coded data escapes every 0xFF byte (0xFF 0x00), so 0xFF 0xDA starts a scan, or
    # sits in metadata (an EXIF thumbnail's scans): the count is never too low.
    position = file.tell()
    file.seek(0)
    scans = file.read().count(_START_OF_SCAN)
    file.seek(position)
    if scans > MAX_JPEG_SCANS:
        raise ImageRefused(f"is a progressive JPEG of more than {MAX_JPEG_SCANS} scans")


def _thumbnail(image: Image.Image, size: int) -> bytes:
    if image.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale, each side still at least `size`: a large
        # photo costs a fraction of the time and memory.
        image.draft(image.mode, (size, size))
    image.load()  # the first frame, whole: a truncated file raises here
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = _displayable(image).resize(
        (size, size),
        Image.Resampling.LANCZOS,
        box=(left, top, left + side, top + side),
        reducing_gap=3.0,
    )
    # The centre square commutes with every EXIF orientation, so turning the small square is
    # the same as turning the photo, and cheaper. The EXIF block rides along in `info`.
    turned = ImageOps.exif_transpose(square)
    srgb = _to_srgb(turned, image.info.get("icc_profile"))
    # A new image from the pixels alone: nothing of the upload's `info` (EXIF, ICC, XMP,
    # comments) can reach the encoder.
    clean = Image.frombytes(srgb.mode, srgb.size, srgb.tobytes())
    output = io.BytesIO()
    clean.save(output, "WEBP", quality=_WEBP_QUALITY, method=4, exif=b"", xmp=b"")
    return _pixels_only(output.getvalue())


def _pixels_only(webp: bytes) -> bytes:
    """`webp` itself, once its RIFF chunks are seen to hold pixels only (no EXIF, ICCP or XMP
    chunk, which Pillow would write if a later release carried them over by default)."""
    offset = 12  # "RIFF", the size, "WEBP"
    while offset < len(webp):
        kind = webp[offset : offset + 4]
        if kind not in _PIXEL_CHUNKS:
            raise RuntimeError(f"the WebP encoder wrote a {kind!r} chunk")
        (length,) = struct.unpack_from("<I", webp, offset + 4)
        offset += 8 + length + (length & 1)
    return webp


def _displayable(image: Image.Image) -> Image.Image:
    """The image in a mode that resamples well: RGB, RGBA, or CMYK (converted after resizing,
    with its ICC profile); 16-bit grey scaled to 8 bits (Pillow's conversion clips it)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "CMYK"):
        return image
    if mode.startswith("I"):
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L").convert("RGB")
    if mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """RGB or RGBA in sRGB: through the embedded ICC profile when there is one that works
    (a Display P3 photo, a CMYK print file), else by Pillow's plain conversion."""
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    if isinstance(icc_profile, bytes) and icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # an unusable profile is dropped: the colours are then taken as sRGB
        else:
            if converted is not None:
                return converted
    return image if image.mode == output_mode else image.convert(output_mode)
