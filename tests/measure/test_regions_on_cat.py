"""On the offline example's cat region, the trained EfficientNet-Lite0's Grad-CAM points at the cat and puts more of
its mass there than its random twin's does (the region as examples/offline/manifest.yaml marks it)."""


import pytest

from generator.explain import CaseInputs
from generator.explain.gradcam import GradCam
from generator.manifest.loader import load_manifest
from generator.measure.pointing.scores import region_score
from generator.run.images import Preprocessor, decode_image
from generator.run.models import load_model, resolve_weights
from generator.run.region_geometry import case_regions
from tests.helpers import REPO

pytestmark = pytest.mark.slow
OFFLINE = REPO / "examples" / "offline" / "manifest.yaml"
EGYPTIAN_CAT = 285


@pytest.fixture(scope="module")
def chelsea():
    manifest = load_manifest(OFFLINE)
    spec = next(case for case in manifest.cases if case.case_id == "chelsea")
    photo = decode_image(OFFLINE.parent / spec.image, spec.case_id, manifest.preprocess.background)
    regions = {r.name: r for r in case_regions(spec, OFFLINE.parent, photo.size, manifest.preprocess)}
    return manifest, CaseInputs("chelsea", Preprocessor(manifest.preprocess).prepare(photo)), regions


def grad_cam_on(manifest, inputs, weights, mask):
    (spec,) = [m for m in manifest.models if (m.weights == "random") == (weights == "random")]
    model = load_model(spec, resolve_weights(spec, str(OFFLINE.parent), 0), 0)
    (result,) = GradCam(None).explain(model, inputs, (EGYPTIAN_CAT,))
    return region_score(result.raw, mask)


def test_trained_lite0_points_at_the_cat_and_puts_more_mass_there_than_its_random_twin(chelsea):
    manifest, inputs, regions = chelsea
    cat = regions["cat"]
    assert cat.is_object and 0.5 < cat.crop_share < 0.95  # the marked cat, most but not all of the crop
    trained = grad_cam_on(manifest, inputs, "IMAGENET1K_V1", cat.mask)
    randomised = grad_cam_on(manifest, inputs, "random", cat.mask)
    assert trained.pointing_hit is True
    assert trained.mass > randomised.mass + 0.1, (trained, randomised)
    assert trained.lift > 1.0 > randomised.lift, (trained, randomised)
