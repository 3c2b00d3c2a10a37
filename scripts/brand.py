"""Draw SmartML's brand images from its icon: `.venv/bin/python scripts/brand.py`.

Home Assistant (2026.3 and later) and HACS read them from custom_components/smartml/brand/:
icon (square, 256 and 512 px), logo (the icon with the name; 128 and 256 px high) and a
dark_ variant of each for dark themes. icon.png and icon@2x.png are the source; the
others are drawn from icon@2x.png with Pillow's own font, so every machine draws the same.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "smartml" / "brand"
NAME = "SmartML"
TEXT_LIGHT = (33, 33, 33, 255)  # on light themes
TEXT_DARK = (250, 250, 250, 255)  # on dark themes
ICON_BLUE = (3, 169, 244)
ICON_BLUE_DARK = (79, 195, 247)  # a lighter blue that keeps its contrast on dark themes


def recoloured(icon: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """The icon with its blue replaced (white and transparency kept)."""
    out = icon.convert("RGBA").copy()
    pixels = out.load()
    assert pixels is not None
    for y in range(out.height):
        for x in range(out.width):
            r, g, b, a = pixels[x, y]  # type: ignore[misc]  # an RGBA image gives 4-tuples
            if a and not (r > 200 and g > 200 and b > 200):
                pixels[x, y] = (*colour, a)
    return out


def logo(icon: Image.Image, height: int, text: tuple[int, int, int, int]) -> Image.Image:
    """The icon beside the name, trimmed, `height` pixels high."""
    mark = icon.resize((height, height), Image.Resampling.LANCZOS)
    font = ImageFont.load_default(size=int(height * 0.55))
    left, top, right, bottom = (int(v) for v in font.getbbox(NAME))
    gap = height // 6
    canvas = Image.new("RGBA", (height + gap + right - left, height), (0, 0, 0, 0))
    canvas.alpha_composite(mark, (0, 0))
    ImageDraw.Draw(canvas).text((height + gap - left, (height - (bottom - top)) // 2 - top), NAME, font=font, fill=text)
    box = canvas.getbbox()
    return canvas.crop((box[0], 0, box[2], height)) if box else canvas


def main() -> None:
    """Write the logo and dark images beside the icons."""
    icon = Image.open(BRAND / "icon@2x.png").convert("RGBA")
    dark_icon = recoloured(icon, ICON_BLUE_DARK)
    images = {
        "dark_icon.png": dark_icon.resize((256, 256), Image.Resampling.LANCZOS),
        "dark_icon@2x.png": dark_icon,
        "logo.png": logo(icon, 128, TEXT_LIGHT),
        "logo@2x.png": logo(icon, 256, TEXT_LIGHT),
        "dark_logo.png": logo(dark_icon, 128, TEXT_DARK),
        "dark_logo@2x.png": logo(dark_icon, 256, TEXT_DARK),
    }
    for name, image in images.items():
        image.save(BRAND / name, optimize=True)


if __name__ == "__main__":
    main()
