"""Avatar thumbnails: a quick look at an uploaded image, and the resize. Not a lab module.

Where the resize runs, in the request or in a job, is uploads.py's business (Lab 3).
"""

import io

from PIL import Image, ImageOps
from werkzeug.exceptions import BadRequest

SIZE = (128, 128)
# A file of a few kilobytes can declare a huge image; refuse it before decoding it.
MAX_PIXELS = 4096 * 4096
REFUSAL = f"file must be an image (PNG, JPEG, GIF, WebP...) of at most {MAX_PIXELS} pixels"


def check(data: bytes) -> None:
    """Refuse what is not an image, or is too big, from its header alone: cheap enough for a request."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as error:  # Pillow's decoders raise many kinds of errors on damaged files
        raise BadRequest(REFUSAL) from error
    if image.width * image.height > MAX_PIXELS:
        raise BadRequest(REFUSAL)


def thumbnail_png(data: bytes) -> bytes:
    """Decode the whole image, crop and resize it to SIZE: the CPU-heavy part."""
    check(data)
    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGBA")
        png = io.BytesIO()
        ImageOps.fit(image, SIZE).save(png, format="PNG")
    except Exception as error:
        raise BadRequest(REFUSAL) from error
    return png.getvalue()
