"""The CLI makes a photo over a route's limits fit before sending it, keeping its orientation: `verify` sends it
upright at 1600 px and maps the answer's boxes back; `import` scales it in its own frame, Exif kept, with its
annotation."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from authentic.annotations.checks import check_annotation
from authentic.annotations.model import Annotation, Box
from authentic.cli import flows
from authentic.cli.fitting import VERIFY_LONG_SIDE, CannotFit, fit_for_upload, fit_for_verify
from authentic.contracts import MAX_VERIFY_PHOTO_BYTES, MAX_VERIFY_PIXELS
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize

RIGHT_TOP = 6  # stored on its side: turn 90° clockwise to stand it up


def marked(width: int, height: int) -> Image.Image:
    """Grey, with a white block in the stored top-left corner (where it ends up tells the orientation)."""
    image = Image.new("RGB", (width, height), (90, 90, 90))
    image.paste((255, 255, 255), (0, 0, width // 8, height // 8))
    return image


def jpeg(image: Image.Image, orientation: int = 1, **options: Any) -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), **options)
    return out.getvalue()


def grey(image: Image.Image, xy: tuple[int, int]) -> int:
    value = image.convert("L").getpixel(xy)
    assert isinstance(value, int)
    return value


def noise(width: int, height: int) -> Image.Image:
    return Image.frombytes("RGB", (width, height), random.Random(3).randbytes(width * height * 3))


def test_a_photo_that_fits_is_sent_as_it_is() -> None:
    photo = jpeg(marked(1200, 900), RIGHT_TOP)
    fitted = fit_for_verify(photo, "image/jpeg")
    assert (fitted.data, fitted.scale, fitted.changed) == (photo, 1.0, False)


def test_an_unreadable_photo_that_fits_is_sent_for_the_server_to_judge() -> None:
    assert fit_for_verify(b"not a photo", "image/jpeg").data == b"not a photo"
    with pytest.raises(CannotFit, match="cannot be read"):
        fit_for_verify(bytes(MAX_VERIFY_PHOTO_BYTES + 1), "image/jpeg")


def test_a_photo_over_the_pixel_limit_is_sent_upright_at_1600_px() -> None:
    stored = marked(6000, 4500)  # 27 MP, stored on its side
    assert MAX_VERIFY_PIXELS < 6000 * 4500
    fitted = fit_for_verify(jpeg(stored, RIGHT_TOP, quality=60), "image/jpeg")

    with Image.open(io.BytesIO(fitted.data)) as sent:
        assert sent.size == (1200, 1600)  # upright: portrait
        assert sent.getexif().get(ORIENTATION_TAG, 1) == 1  # the turn is in the pixels, not in a tag
        assert grey(sent, (1150, 50)) > 200  # the stored top-left is now the top-right
        assert grey(sent, (50, 50)) < 150
    assert fitted.content_type == "image/jpeg"
    assert fitted.scale == pytest.approx(VERIFY_LONG_SIDE / 6000)


def test_a_photo_over_the_byte_limit_is_made_to_fit() -> None:
    heavy = jpeg(noise(3000, 2000), quality=100)
    assert len(heavy) > MAX_VERIFY_PHOTO_BYTES
    fitted = fit_for_verify(heavy, "image/jpeg")
    assert len(fitted.data) <= MAX_VERIFY_PHOTO_BYTES
    assert fitted.size == (1600, 1067)


class _VerifyClient:
    """Stands in for the HTTP client: answers one box at the centre quarter of what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []

    def verify(self, brand: str, photo: bytes, content_type: str, *, public: bool = False) -> dict[str, Any]:
        self.sent.append((photo, content_type))
        with Image.open(io.BytesIO(photo)) as image:
            width, height = ImageOps.exif_transpose(image).size
        box = {"left": width / 4, "top": height / 4, "width": width / 2, "height": height / 2}
        detection = {"name": "shoe", "role": "genuine", "confidence": 0.9, "counts": True, "box": box}
        return {
            "verdict": "genuine",
            "reason": "",
            "image_size": {"width": width, "height": height},
            "detections": [detection],
        }


def test_verify_maps_the_boxes_of_a_downscaled_photo_back_onto_the_original(tmp_path: Path) -> None:
    photo = tmp_path / "shelf.jpg"
    photo.write_bytes(jpeg(marked(6000, 4500), RIGHT_TOP, quality=60))
    client = _VerifyClient()

    verified = flows.verify_photo(client, "acme", photo)  # type: ignore[arg-type]

    assert len(client.sent[0][0]) < len(photo.read_bytes())
    assert verified.answer["image_size"] == {"width": 4500, "height": 6000}  # the original, upright
    box = verified.answer["detections"][0]["box"]
    assert box["left"] == pytest.approx(1125, abs=3) and box["height"] == pytest.approx(3000, abs=3)
    drawn = flows.annotate(photo, verified.answer, tmp_path / "out.jpg")
    with Image.open(drawn) as out:
        assert out.size == (4500, 6000)


def test_an_upload_over_the_limits_keeps_its_frame_and_exif() -> None:
    photo = jpeg(marked(2000, 1000), RIGHT_TOP)
    fitted = fit_for_upload(photo, "image/jpeg", max_bytes=10_000_000, max_pixels=500_000)

    with Image.open(io.BytesIO(fitted.data)) as sent:
        assert sent.width * sent.height <= 500_000
        assert sent.width > sent.height  # still stored on its side ...
        assert sent.getexif()[ORIENTATION_TAG] == RIGHT_TOP  # ... with the tag that stands it up
        assert grey(sent, (10, 10)) > 200
    assert fitted.size == (999, 500)


@pytest.mark.parametrize("frame", ["stored", "upright"])
def test_an_annotation_is_scaled_with_its_photo_in_either_frame(frame: str) -> None:
    photo = jpeg(marked(2000, 1000), RIGHT_TOP)
    fitted = fit_for_upload(photo, "image/jpeg", max_bytes=10_000_000, max_pixels=500_000)
    # the white block: stored (0, 0, 250, 125); upright (on a 1000x2000 photo) it is at the top right
    if frame == "stored":
        original = Annotation("a.jpg", ImageSize(2000, 1000), (Box(0, 0, 0, 250, 125),))
    else:
        original = Annotation("a.jpg", ImageSize(1000, 2000), (Box(0, 875, 0, 125, 250),))

    scaled = flows.scaled_annotation(original, fitted)

    checked = check_annotation(scaled, stored=ImageSize(*fitted.size), orientation=RIGHT_TOP, source="a.jpg")
    assert checked.annotation.size == ImageSize(500, 999)
    (box,) = checked.annotation.boxes
    assert (box.left, box.top) == pytest.approx((437.5, 0), abs=1)
    assert (box.width, box.height) == pytest.approx((62.5, 125), abs=1)


def test_import_downscales_what_is_over_the_limits_and_its_annotation_with_it(tmp_path: Path) -> None:
    (tmp_path / "big.jpg").write_bytes(jpeg(marked(2000, 1000)))
    (tmp_path / "small.jpg").write_bytes(jpeg(marked(400, 200)))
    for name, size in (("big", (2000, 1000)), ("small", (400, 200))):
        annotation = Annotation(
            f"{name}.jpg", ImageSize(*size), (Box(0, 0, 0, size[0] / 8, size[1] / 8),), ()
        ).to_seed_json()
        annotation["categories"] = [{"class_id": 0, "name": "shoe"}]
        (tmp_path / f"{name}.json").write_text(json.dumps(annotation))

    uploads, refused = flows.prepare_import(tmp_path, "seed", flows.UploadLimits(10_000_000, 500_000))

    assert refused == []
    by_name = {u.name: u for u in uploads}
    assert by_name["small.jpg"].scale == 1.0
    assert by_name["small.jpg"].image == (tmp_path / "small.jpg").read_bytes()
    big = by_name["big.jpg"]
    assert big.scale < 1.0
    sent = json.loads(big.annotation)
    assert sent["image_size"][0]["width"] == 999
    assert sent["annotations"][0]["width"] == pytest.approx(250 * 999 / 2000, abs=0.01)
