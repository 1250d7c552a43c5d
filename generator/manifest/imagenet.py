"""ImageNet-1k class names, taken from torchvision's weight metadata (no download needed)."""

from functools import lru_cache


@lru_cache(maxsize=1)
def imagenet_categories() -> tuple[str, ...]:
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def resolve_class(value: int | str) -> int:
    """Turn a class name (case-insensitive) or index into an index; raise ValueError if unknown."""
    categories = imagenet_categories()
    if isinstance(value, bool):
        raise ValueError(f"expected an ImageNet class name or index, got {value!r}")
    if isinstance(value, int):
        if 0 <= value < len(categories):
            return value
        raise ValueError(f"class index {value} is out of range 0..{len(categories) - 1}")
    wanted = str(value).strip().lower()
    for index, name in enumerate(categories):
        if name.lower() == wanted:
            return index
    close = [name for name in categories if wanted in name.lower()][:5]
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    raise ValueError(f"unknown ImageNet class {value!r}{hint}")
