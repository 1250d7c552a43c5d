"""On the cat photo the trained EfficientNet-Lite0's maps are more faithful than its randomised copy's.

Raw AUCs of two models are not comparable (a random network's probabilities are flat near 1/1000, so
its deletion curve is "low" without explaining anything); what is comparable is how far each map beats
the same model's random-order baseline: deletion gain = random AUC - map AUC, insertion gain = map AUC
- random AUC. The same numbers are on every case page (the "random" columns).
"""

import pytest
import skimage.data
from PIL import Image

from generator.explain import CaseInputs
from generator.explain.gradcam import GradCam
from generator.explain.lime import Lime, LimeSpec
from generator.manifest.schema import MetricsSpec, ModelSpec, PreprocessSpec
from generator.measure.measurer import Measurer
from generator.run.images import Preprocessor
from generator.run.models import load_model, resolve_weights
from generator.run.results import ModelResult

pytestmark = pytest.mark.slow
PREPROCESS = PreprocessSpec()
LIME = LimeSpec(num_samples=150)
EGYPTIAN_CAT = 285


def faithfulness_gains(weights):
    spec = ModelSpec(name="efficientnet_lite0", weights=weights)
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
    prepared = Preprocessor(PREPROCESS).prepare(Image.fromarray(skimage.data.chelsea()))
    inputs = CaseInputs("chelsea", prepared)
    targets = (EGYPTIAN_CAT,)
    explainers = [GradCam(None), Lime(LIME)]
    explanations = {e.name: {r.target: r for r in e.explain(model, inputs, targets)} for e in explainers}
    result = ModelResult(model_key=spec.key, top_k=(), targets=targets, explanations=explanations)
    measurer = Measurer(MetricsSpec(steps=16, stability_seeds=1, sanity=False), explainers, seed=0)
    faith = measurer.measure(model, inputs, result)[EGYPTIAN_CAT]["faithfulness"]
    baseline = faith["random"]
    return {
        method: (
            baseline.deletion_auc - faith[method].deletion_auc,
            faith[method].insertion_auc - baseline.insertion_auc,
        )
        for method in ("gradcam", "lime")
    }


def test_trained_lite0_beats_its_randomised_copy_on_deletion_and_insertion():
    trained = faithfulness_gains("IMAGENET1K_V1")
    randomised = faithfulness_gains("random")
    for method in ("gradcam", "lime"):
        trained_deletion, trained_insertion = trained[method]
        random_deletion, random_insertion = randomised[method]
        assert trained_deletion > 0.03 and trained_insertion > 0.03, (method, trained[method])
        assert trained_deletion > random_deletion + 0.03, (method, trained[method], randomised[method])
        assert trained_insertion > random_insertion + 0.03, (method, trained[method], randomised[method])
