"""Decode photos (any mode, EXIF orientation) and apply the manifest's preprocessing recipe."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision import transforms

from generator.utils.errors import CaseError

if TYPE_CHECKING:
    from generator.manifest.schema import PreprocessSpec

MAX_IMAGE_PIXELS = 100_000_000


@dataclass(frozen=True)
class PreparedImage:
    """One case's image, decoded once: the crop every model sees, as an image and as a tensor.

    Each model normalises `pixels` with its own mean and std (LoadedModel.input_tensor).
    """

    original: Image.Image  # RGB, orientation applied
    crop: Image.Image  # RGB, the models' input size
    pixels: torch.Tensor  # 1x3xHxW float32 in [0, 1] (ToTensor's), not normalised

    @property
    def crop_array(self) -> NDArray[np.uint8]:
        return np.asarray(self.crop, dtype=np.uint8)


def decode_image(
    path: str | os.PathLike[str], case_id: str, background: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """Open any common photo as RGB with EXIF orientation applied; raise CaseError naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_pixel_count(image.size)  # from the header, before any pixel is decoded
                image.load()
                image = ImageOps.exif_transpose(image)
                return to_rgb(image, background)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise CaseError(
            case_id, f"{path}: image too large ({error}); downscale it below {MAX_IMAGE_PIXELS:,} pixels"
        ) from None
    except UnidentifiedImageError:
        raise CaseError(case_id, f"{path}: not an image Pillow can read; export it as JPEG or PNG") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise CaseError(case_id, f"{path}: cannot decode image ({error}); re-export it as JPEG or PNG") from None


def check_pixel_count(size: tuple[int, int]) -> None:
    """Our own limit, without touching Pillow's process-wide MAX_IMAGE_PIXELS."""
    pixels = size[0] * size[1]
    if pixels > MAX_IMAGE_PIXELS:
        raise Image.DecompressionBombError(f"{size[0]}x{size[1]} = {pixels:,} pixels")


def to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        span = max(values.max() - values.min(), 1e-12)
        image = Image.fromarray(((values - values.min()) / span * 255).round().astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGB" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, tuple(background) + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


class Preprocessor:
    """The manifest's recipe (reference: Resize((256, 256)), CenterCrop(224), ToTensor; each model normalises)."""

    def __init__(self, spec: PreprocessSpec) -> None:
        self.spec = spec
        self.geometry = transforms.Compose([transforms.Resize(tuple(spec.resize)), transforms.CenterCrop(spec.crop)])
        self.to_tensor = transforms.ToTensor()

    def prepare(self, image: Image.Image) -> PreparedImage:
        crop = self.geometry(image)
        return PreparedImage(original=image, crop=crop, pixels=self.to_tensor(crop).unsqueeze(0))
