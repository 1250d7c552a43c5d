"""A tiny report for the wiring tests: a four-class network of the author's own code (`source: python`, a state
dict file beside it) on 64x64 crops of chelsea, built in-process in about a second; what the build computed (the
cache keys it composed, which it loaded and which it stored) and the results it handed to the pages."""

import copy
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from generator.build import BuildOptions, build_report
from tests.helpers import CHELSEA, COFFEE

CLASSES = ["tabby", "espresso", "rocket", "camera"]
NET_SOURCE = '''
from torch import nn


def net():
    """Two convolutions, a pooled linear head: four classes (tests/wiring.py)."""
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
'''
BIG_BATCH = 4096  # above every batch's length: the network runs eagerly, never traced (seconds per shape)


def tiny_net():
    namespace = {}
    exec(NET_SOURCE, namespace)  # the very function the report's tinynet.py holds
    return namespace["net"]()


def write_weights(path, seed):
    """A state dict of the tiny network drawn from `seed`, with a head sharp enough to move between images."""
    torch.manual_seed(seed)
    module = tiny_net()
    with torch.no_grad():
        module[-1].weight.mul_(20.0)
    torch.save(module.state_dict(), path)


def tiny_manifest(**extra):
    """The tiny report's manifest: Grad-CAM, LIME (20 samples) and Integrated Gradients (4 steps) on one case."""
    manifest = {
        "title": "Wiring",
        "models": [
            {
                "source": "python",
                "name": "tinynet:net",
                "weights": "net.pth",
                "display_name": "Tiny",
                "classes": list(CLASSES),
                "target_layer": "2",
            }
        ],
        "preprocess": {"resize": [72, 72], "crop": 64},
        "explainers": {
            "lime": {"num_samples": 20, "batch_size": BIG_BATCH},
            "integrated_gradients": {"enabled": True, "steps": 4, "internal_batch_size": 4},
        },
        "metrics": {"steps": 4, "stability_seeds": 2, "batch_size": BIG_BATCH},
        "cases": [{"id": "chelsea", "image": "images/chelsea.png", "label": "tabby"}],
    }
    manifest.update(copy.deepcopy(extra))
    return manifest


def make_tiny_project(folder=None, manifest=None, weights_seed=0):
    """The project folder: content/ with the manifest, tinynet.py, net.pth and the photos chelsea and coffee."""
    folder = Path(folder or tempfile.mkdtemp(prefix="xai-wiring-"))
    content = folder / "content"
    (content / "images").mkdir(parents=True, exist_ok=True)
    for image in (CHELSEA, COFFEE):
        shutil.copy(image, content / "images" / image.name)
    (content / "tinynet.py").write_text(NET_SOURCE, encoding="utf-8")
    write_weights(content / "net.pth", weights_seed)
    write_manifest(folder, manifest or tiny_manifest())
    return folder


def write_manifest(folder, manifest):
    path = Path(folder) / "content" / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def options_for(folder, site=False):
    folder = Path(folder)
    return BuildOptions(
        manifest=folder / "content" / "manifest.yaml",
        site_dir=folder / "site",
        site=site,
        show_progress=False,
        cache_dir=folder / "cache",
    )


@dataclass
class Recorded:
    """What one build computed: {entry: key} of every key composed, the keys loaded whole and the keys stored."""

    keys: dict = field(default_factory=dict)  # (case image digest, kind, explainer or "") -> computation key
    loaded: set = field(default_factory=set)
    stored: set = field(default_factory=set)
    cases: dict = field(default_factory=dict)  # case id -> the CaseResult the build computed

    def computed(self):
        """The entries whose value was computed (and stored), not read from the cache."""
        return {entry for entry, key in self.keys.items() if key in self.stored}

    def reused(self):
        return {entry for entry, key in self.keys.items() if key in self.loaded}


def recorded_build(folder, monkeypatch, site=False):
    """Build the project in-process and return what it composed, loaded and stored (a Recorded)."""
    import generator.cache.case_cache as case_cache
    import generator.session as session
    from generator.cache.store import ResultCache

    record = Recorded()
    compose, load, store, compute_case = (
        case_cache.computation_key,
        ResultCache.load,
        ResultCache.store,
        session.compute_case,
    )

    def composed(**parts):
        key = compose(**parts)
        record.keys[(parts["image"][:12], parts["kind"], parts.get("explainer", ""))] = key
        return key

    def loaded(self, key):
        payload = load(self, key)
        if payload is not None:
            record.loaded.add(key)
        return payload

    def stored(self, key, payload):
        record.stored.add(key)
        return store(self, key, payload)

    def computed_case(*args, **kwargs):
        case = compute_case(*args, **kwargs)
        if not kwargs.get("dry_run") and hasattr(case, "case_id"):
            record.cases[case.case_id] = case
        return case

    with monkeypatch.context() as patched:
        patched.setattr(case_cache, "computation_key", composed)
        patched.setattr(ResultCache, "load", loaded)
        patched.setattr(ResultCache, "store", stored)
        patched.setattr(session, "compute_case", computed_case)
        build_report(options_for(folder, site=site))
    return record
