"""The images Home Assistant and HACS show for SmartML (custom_components/smartml/brand/)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
import pytest

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "smartml" / "brand"


@pytest.mark.parametrize("variant", ["", "dark_"])
@pytest.mark.parametrize(("name", "scale"), [("icon", 1), ("icon@2x", 2), ("logo", 1), ("logo@2x", 2)])
def test_every_brand_image_is_there_in_its_size(variant: str, name: str, scale: int) -> None:
    with Image.open(BRAND / f"{variant}{name}.png") as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        width, height = image.size
        if name.startswith("icon"):
            assert (width, height) == (256 * scale, 256 * scale)
        else:
            assert height == 128 * scale and width > 2 * height  # the mark and the name beside it
        assert image.getpixel((0, 0))[3] == 0  # transparent background
