"""One case through every model: decode once, segment once, predict, explain and measure per model."""

import logging
from pathlib import Path

from generator.explain import CaseInputs
from generator.images import Preprocessor, decode_image
from generator.inference import probabilities, top_k
from generator.measure import compare_models
from generator.results import CaseResult, ModelResult

log = logging.getLogger(__name__)


def case_targets(spec, predictions):
    """Every model's top-1 and the case's extra targets, so that models can be compared on the same class."""
    return tuple(dict.fromkeys([p[0].index for p in predictions] + list(spec.target_indices)))


def compute_case(manifest, content_dir, spec, models, explainers, measurer=None, bar=None):
    original = decode_image(Path(content_dir) / spec.image, spec.case_id, manifest.preprocess.background)
    prepared = Preprocessor(manifest.preprocess).prepare(original)
    inputs = CaseInputs(spec.case_id, prepared, extras={"preprocess": manifest.preprocess})
    for explainer in explainers:
        explainer.prepare_case(inputs)
    probs = [probabilities(model, prepared.tensor) for model in models]
    predictions = [top_k(p, model.categories, manifest.top_k) for p, model in zip(probs, models)]
    targets = case_targets(spec, predictions)
    model_results = {}
    for model, top, model_probs in zip(models, predictions, probs):
        if bar is not None:
            bar.set_description(f"{spec.case_id} · {model.label}")
        model_results[model.key] = explain_model(model, inputs, explainers, measurer, top, targets, model_probs)
        if bar is not None:
            bar.update(1)
    case = CaseResult(
        spec=spec, original=original, crop_array=prepared.crop_array, segments=inputs.segments, models=model_results
    )
    return case.with_comparisons(compare_models(case, manifest.explainers.lime.num_features))


def explain_model(model, inputs, explainers, measurer, predictions, targets, probs):
    explained = {}
    for explainer in explainers:
        results = explainer.explain(model, inputs, targets)
        explained[explainer.name] = {result.target: result for result in results}
    result = ModelResult(
        model_key=model.key,
        top_k=predictions,
        targets=targets,
        gradcam=explained.get("gradcam", {}),
        lime=explained.get("lime", {}),
        probabilities=probs,
    )
    if measurer is None:
        return result
    return result.with_metrics(measurer.measure(model, inputs, result))
