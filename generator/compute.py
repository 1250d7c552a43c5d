"""One case through every model: decode once, segment once, predict and explain per model."""

import logging
from pathlib import Path

from generator.explain import CaseInputs
from generator.images import Preprocessor, decode_image
from generator.inference import probabilities, top_k
from generator.results import CaseResult, ModelResult

log = logging.getLogger(__name__)


def case_targets(spec, top1_index):
    return tuple(dict.fromkeys((top1_index, *spec.target_indices)))


def compute_case(manifest, content_dir, spec, models, explainers, bar=None):
    original = decode_image(Path(content_dir) / spec.image, spec.case_id, manifest.preprocess.background)
    prepared = Preprocessor(manifest.preprocess).prepare(original)
    inputs = CaseInputs(spec.case_id, prepared, extras={"preprocess": manifest.preprocess})
    for explainer in explainers:
        explainer.prepare_case(inputs)
    model_results = {}
    for model in models:
        if bar is not None:
            bar.set_description(f"{spec.case_id} · {model.label}")
        model_results[model.key] = compute_model(manifest, model, inputs, explainers, spec)
        if bar is not None:
            bar.update(1)
    return CaseResult(
        spec=spec, original=original, crop_array=prepared.crop_array, segments=inputs.segments, models=model_results
    )


def compute_model(manifest, model, inputs, explainers, spec):
    probs = probabilities(model, inputs.image.tensor)
    predictions = top_k(probs, model.categories, manifest.top_k)
    targets = case_targets(spec, predictions[0].index)
    explained = {}
    for explainer in explainers:
        results = explainer.explain(model, inputs, targets)
        explained[explainer.name] = {result.target: result for result in results}
    return ModelResult(
        model_key=model.key,
        top_k=predictions,
        targets=targets,
        gradcam=explained.get("gradcam", {}),
        lime=explained.get("lime", {}),
    )

