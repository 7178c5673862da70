"""Small images the tests make themselves, hostile ones included, as the bytes of a file."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from typing import Literal

from PIL import Image, ImageCms

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREEN = (0, 160, 0)
# Where the GPS block of the EXIF samples says the photo was taken (the Eiffel Tower).
GPS_LATITUDE = (48.0, 51.0, 29.6)
GPS_LONGITUDE = (2.0, 17.0, 40.2)
POLYGLOT_PAYLOAD = b"<html><script>alert(1)</script></html>"


def encoded(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    output = io.BytesIO()
    image.save(output, pillow_format, **options)
    return output.getvalue()


def halves(
    size: tuple[int, int], left: tuple[int, ...], right: tuple[int, ...], mode: str
) -> Image.Image:
    """An image whose left half is `left` and right half `right`."""
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def png(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = RED) -> bytes:
    return encoded(Image.new("RGB", size, color), "PNG")


def jpeg(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = RED) -> bytes:
    return encoded(Image.new("RGB", size, color), "JPEG", quality=95)


def webp(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = RED) -> bytes:
    return encoded(Image.new("RGB", size, color), "WEBP", lossless=True)


def noise_png(size: tuple[int, int] = (128, 128)) -> bytes:
    """Random pixels: PNG data that cannot be guessed from its start, for truncation."""
    return encoded(
        Image.frombytes("RGB", size, bytes(range(256)) * (size[0] * size[1] * 3 // 256 + 1)), "PNG"
    )


def truncated(data: bytes) -> bytes:
    """The first half of a file, as when an upload is cut short."""
    return data[: len(data) // 2]


def polyglot_png() -> bytes:
    """A valid PNG with an HTML page after its end, which a sniffing browser could run."""
    return png() + POLYGLOT_PAYLOAD


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    gps = exif.get_ifd(0x8825)  # GPSInfo
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = GPS_LATITUDE
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = GPS_LONGITUDE
    return exif


def jpeg_with_gps() -> bytes:
    return encoded(Image.new("RGB", (64, 48), RED), "JPEG", exif=gps_exif())


def png_with_gps() -> bytes:
    return encoded(Image.new("RGB", (64, 48), RED), "PNG", exif=gps_exif())


def jpeg_rotated(orientation: int = 6) -> bytes:
    """A square JPEG stored with its left half red and right half blue, whose EXIF says to
    turn it before display (6: 90 degrees clockwise, so red on top and blue below)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(halves((96, 96), RED, BLUE, "RGB"), "JPEG", quality=95, exif=exif)


def progressive_jpeg(extra_scans: int = 0) -> bytes:
    """A progressive JPEG (10 scans as Pillow writes it) with its smallest scan repeated
    `extra_scans` more times: libjpeg decodes each one again over the whole image."""
    data = encoded(halves((64, 64), RED, BLUE, "RGB"), "JPEG", progressive=True, quality=90)
    starts = [index for index in range(len(data) - 1) if data[index : index + 2] == b"\xff\xda"]
    ends = [*starts[1:], len(data) - 2]  # the last scan runs to the end of image marker
    smallest = min(range(len(starts)), key=lambda index: ends[index] - starts[index])
    scan = data[starts[smallest] : ends[smallest]]
    return data[:-2] + scan * extra_scans + data[-2:]


def jpeg_with_corrupt_exif() -> bytes:
    """A JPEG whose EXIF block says orientation 6 and points the Make tag's text far past its
    end: Pillow skips that tag with a UserWarning."""
    entries = [(0x010F, 2, 1000, 0x7FFF0000), (0x0112, 3, 1, 6)]
    tiff = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    tiff += b"".join(struct.pack("<HHII", *entry) for entry in entries) + struct.pack("<I", 0)
    return encoded(halves((96, 96), RED, BLUE, "RGB"), "JPEG", exif=b"Exif\x00\x00" + tiff)


def icc_swapping_red_and_blue() -> bytes:
    """An RGB ICC profile: sRGB's, with the red and blue primaries (rXYZ, bXYZ) exchanged, so
    that pixels stored as pure red are pure blue once the profile is applied."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", profile, 128)  # the tag table follows the header
    entries = {
        struct.unpack_from(">4s", profile, 132 + 12 * index)[0]: 132 + 12 * index
        for index in range(count)
    }
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile)


def icc_of_another_space(space: Literal["LAB", "XYZ"] = "LAB") -> bytes:
    """A valid ICC profile of a colour space ("LAB" or "XYZ") that RGB pixels cannot be in."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(space)).tobytes()


def cmyk_jpeg() -> bytes:
    return encoded(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)


def sixteen_bit_png(level: int = 0x8000) -> bytes:
    """Grey at `level` of 65535: a decoder that clips instead of scaling sees white."""
    return encoded(Image.new("I;16", (64, 48), level), "PNG")


def palette_png_with_transparency() -> bytes:
    """Palette PNG: left half index 0, transparent (tRNS); right half index 1, red."""
    image = halves((64, 64), (0,), (1,), "P")
    image.putpalette([255, 255, 255, *RED])
    return encoded(image, "PNG", transparency=0)


def grey_alpha_png() -> bytes:
    """LA PNG: left half opaque grey, right half fully transparent."""
    return encoded(halves((64, 64), (128, 255), (128, 0), "LA"), "PNG")


def animated_webp() -> bytes:
    """Two frames: green, then blue."""
    first, second = Image.new("RGB", (64, 64), GREEN), Image.new("RGB", (64, 64), BLUE)
    return encoded(first, "WEBP", save_all=True, append_images=[second], lossless=True)


def animated_png() -> bytes:
    """An APNG of two frames: green, then blue."""
    first, second = Image.new("RGB", (64, 64), GREEN), Image.new("RGB", (64, 64), BLUE)
    return encoded(first, "PNG", save_all=True, append_images=[second])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def _png(width: int, height: int, idat: bytes, *, bit_depth: int = 1) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)  # greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@functools.cache
def decompression_bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A complete, valid black 1-bit PNG: `width` x `height` pixels (312 MB of rows at
    50 000 x 50 000, 2.5 G pixels once decoded to 8 bits each) compressed about 1 000 to 1."""
    row = bytes(1 + (width + 7) // 8)  # filter byte "none", then the bits
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 20) // len(row))
    block = row * rows_per_block
    parts = [compressor.compress(block) for _ in range(height // rows_per_block)]
    parts.append(compressor.compress(row * (height % rows_per_block)))
    parts.append(compressor.flush())
    return _png(width, height, b"".join(parts))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width` x `height` over a few bytes of data."""
    return _png(width, height, zlib.compress(bytes(64)))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header (SOF0) is rewritten to `width` x `height`."""
    data = bytearray(encoded(Image.new("RGB", (16, 16), RED), "JPEG"))
    start = data.index(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2)
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_chunks(data: bytes) -> list[bytes]:
    """The FourCCs of a WebP file's RIFF chunks, in order; ValueError if it is not RIFF WEBP."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a RIFF WEBP file")
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data):
        raise ValueError("RIFF size does not match the file")
    chunks, offset = [], 12
    while offset < len(data):
        kind = data[offset : offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        chunks.append(kind)
        offset += 8 + size + (size & 1)
    if offset != len(data):
        raise ValueError("chunks overrun the file")
    return chunks
