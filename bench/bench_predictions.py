"""Predictions over a whole folder: xai-report's prediction tier against a plain PyTorch evaluation loop.

    python bench/bench_predictions.py make --count 1000 --out /tmp/predbench   # the images, made from the shipped photos
    farm-bench -n 3 --timeout 900 -- python bench/bench_predictions.py ours /tmp/predbench \\
        --vs 'python bench/bench_predictions.py loop /tmp/predbench'

`make` writes COUNT images in 3 class folders (tabby, espresso, military uniform), each a seeded crop, flip and
brightness of a shipped photo, so nothing is downloaded, and a manifest that predicts them all with a random-weight
ResNet18 (`cases_from`, `explain: {select: [{random: 1}]}`). `ours` runs the build's prediction tier
(generator.tiers.predict_and_choose) on them with a fresh result cache: decoding, preprocessing, the forward passes,
the cache writes and the choice of cases; `--warm` runs it a second time on the same cache and times only that (a
no-op rebuild's prediction tier). `loop` is the yardstick: a torch.utils.data.DataLoader over the same files with the
reference preprocessing (Resize 256x256, CenterCrop 224, ToTensor, Normalize), 2 workers, the same model and batch
size, in inference mode. Each prints its images per second; farm-bench times both whole processes in turn.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = {"espresso": "coffee.png", "military uniform": "grace_hopper.jpg", "tabby": "chelsea.png"}
BATCH = 64  # generator.run.devices' "auto" batch on the CPU: the loop uses the same


def make(count, out):
    rng = np.random.default_rng(0)
    per_class = -(-count // len(PHOTOS))
    written = 0
    for label, photo in PHOTOS.items():
        folder = out / "images" / label
        folder.mkdir(parents=True, exist_ok=True)
        base = Image.open(ROOT / "content" / "images" / photo).convert("RGB")
        width, height = base.size
        for index in range(min(per_class, count - written)):
            scale = rng.uniform(0.6, 1.0)
            w, h = int(width * scale), int(height * scale)
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            image = base.crop((x, y, x + w, y + h))
            if rng.random() < 0.5:
                image = ImageOps.mirror(image)
            ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3)).save(folder / f"{index:05d}.jpg", quality=90)
            written += 1
    manifest = {
        "title": f"Predictions over {count} images",
        "models": [{"name": "resnet18", "display_name": "ResNet18", "weights": "random"}],
        "cases_from": [{"folder": "images", "label": "folder"}],
        "explain": {"select": [{"random": 1}]},
    }
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    print(f"{written} images and manifest.yaml in {out}")


def ours(folder, warm):
    from generator.build import BuildOptions
    from generator.manifest.loader import load_manifest
    from generator.session import BuildSession
    from generator.tiers import predict_and_choose

    manifest_path = folder / "manifest.yaml"
    manifest = load_manifest(manifest_path)
    with tempfile.TemporaryDirectory(prefix="predbench-cache-") as cache:
        options = BuildOptions(manifest=manifest_path, cache_dir=Path(cache), show_progress=False)
        session = BuildSession.open(options, manifest)
        started = time.perf_counter()
        tiers = predict_and_choose(session, manifest.cases)
        if warm:
            started = time.perf_counter()
            tiers = predict_and_choose(session, manifest.cases)
        seconds = time.perf_counter() - started
    assert tiers is not None
    print(f"ours{' (warm)' if warm else ''}: {len(tiers.predicted)} images in {seconds:.2f} s = {len(tiers.predicted) / seconds:.1f} images/s")


def loop(folder):
    import torch
    from torchvision import datasets, models, transforms

    torch.manual_seed(0)
    model = models.resnet18(weights=None).eval()
    recipe = transforms.Compose(
        [
            transforms.Resize((256, 256)),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    data = datasets.ImageFolder(str(folder / "images"), transform=recipe)
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, num_workers=2)
    started = time.perf_counter()
    count = 0
    with torch.inference_mode():
        for images, _ in loader:
            torch.softmax(model(images), dim=1)
            count += len(images)
    seconds = time.perf_counter() - started
    print(f"loop: {count} images in {seconds:.2f} s = {count / seconds:.1f} images/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make")
    made.add_argument("--count", type=int, default=1000)
    made.add_argument("--out", type=Path, required=True)
    ran = commands.add_parser("ours")
    ran.add_argument("folder", type=Path)
    ran.add_argument("--warm", action="store_true")
    looped = commands.add_parser("loop")
    looped.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "make":
        make(args.count, args.out)
    elif args.command == "ours":
        ours(args.folder, args.warm)
    else:
        loop(args.folder)


if __name__ == "__main__":
    sys.exit(main())
