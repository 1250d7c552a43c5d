"""One case through every model: decode once, segment once, predict, explain and measure per model.

Every model-running step goes through the case's cache, so a rebuild with nothing changed runs no model.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from generator.cache.case_cache import CaseCache, NotCached
from generator.explain import CaseInputs, enabled_explainers
from generator.explain.base import runs_on
from generator.measure import MEASURES
from generator.measure.measurer import Measurer
from generator.run import fast_forward, images, inference
from generator.run import models as model_builders
from generator.run.class_names import model_targets
from generator.run.images import Preprocessor, decode_image
from generator.run.inference import batch_probabilities, probabilities, top_k
from generator.run.region_geometry import case_regions
from generator.run.results import CasePredictions, CaseResult, ModelResult, Prediction
from generator.utils.digests import file_digest
from generator.utils.errors import CaseError, ReportError
from generator.utils.options import BuildOptions
from generator.utils.phase_times import timed

if TYPE_CHECKING:
    from generator.cache.store import ResultCache
    from generator.explain.base import AnyExplainer
    from generator.manifest.schema import CaseSpec, Manifest
    from generator.run.models import LoadedModel

log = logging.getLogger(__name__)

Missing = list[tuple[str, object, object]]  # CaseCache.missing: (kind, model identity, explainer) a build would compute

# the modules whose source computes the predictions (part of their cache keys)
PREDICTION_CODE = tuple(m.__name__ for m in (inference, images, model_builders, fast_forward))


class PredictionsMissing(LookupError):
    """A dry run found predictions missing: everything after them depends on them."""

    def __init__(self, missing: Missing) -> None:
        super().__init__("predictions not cached")
        self.missing = missing


def case_computers(manifest: Manifest, options: BuildOptions) -> tuple[list[AnyExplainer], Measurer]:
    """The enabled explainers and the measurer that every case of a build shares."""
    explainers = enabled_explainers(manifest.explainers, manifest.seed, options.precision, options.device)
    measurer = Measurer(
        manifest.metrics,
        explainers,
        manifest.seed,
        options.device,
        options.precision,
    )
    return explainers, measurer


@dataclass(frozen=True)
class CaseContext:
    """What every case of a build is computed with: the manifest, its folder, the models, the enabled explainers,
    the measurer (None: predictions and maps only), the result cache (None: nothing cached) and the options."""

    manifest: Manifest
    content_dir: Path
    models: Sequence[LoadedModel]
    explainers: Sequence[AnyExplainer]
    measurer: Measurer | None = None
    cache: ResultCache | None = None
    options: BuildOptions = field(default_factory=BuildOptions)


def compute_case(
    context: CaseContext,
    spec: CaseSpec,
    bar: Any = None,  # a tqdm bar
    cached_only: bool = False,
    dry_run: bool = False,
) -> CaseResult | Missing:
    """The case's results; with `cached_only`, read from the cache or raise NotCached, never computed.

    With `dry_run` (`check`) it is the same walk with nothing computed: it returns what a build would compute,
    as CaseCache.missing entries, or raises PredictionsMissing.
    """
    manifest, content_dir, options = context.manifest, context.content_dir, context.options
    models, explainers, measurer = context.models, context.explainers, context.measurer
    path = Path(content_dir) / spec.image
    original = decode_image(path, spec.case_id, manifest.preprocess.background)
    prepared = Preprocessor(manifest.preprocess).prepare(original)
    regions = case_regions(
        spec, Path(content_dir), original.size, manifest.preprocess
    )  # a bad region fails here, first
    case_cache = CaseCache(
        context.cache,
        manifest,
        file_digest(path),
        device=options.device,
        precision=options.precision,
        force=options.force and not cached_only,
        cached_only=cached_only,
        dry_run=dry_run,
    )
    inputs = CaseInputs(spec.case_id, prepared)
    with timed("segmentation"):
        for explainer in explainers:
            explainer.prepare_case(inputs, case_cache.shared(explainer))
    probs: list[NDArray[np.float64] | None] = []
    for model in models:
        with failures_named(spec.case_id, model), timed("predictions"):
            probs.append(
                case_cache.probabilities(
                    model, functools.partial(probabilities, model, model.input_tensor(prepared)), PREDICTION_CODE
                )
            )
    if dry_run and any(p is None for p in probs):
        raise PredictionsMissing(case_cache.missing)
    computed = [p for p in probs if p is not None]
    assert len(computed) == len(probs), "predictions are missing only on a dry run"
    predictions = [top_k(p, model.categories, manifest.top_k) for p, model in zip(computed, models)]
    model_results: dict[str, ModelResult] = {}
    for model, top, model_probs in zip(models, predictions, computed):
        targets = model_targets(model, spec, models, predictions)  # so that models compare on the same class
        if bar is not None:
            bar.set_description(f"{spec.case_id} · {model.label}")
        with failures_named(spec.case_id, model):
            model_results[model.key] = explain_model(
                model, inputs, explainers, measurer, case_cache, top, targets, model_probs
            )
        if bar is not None:
            bar.update(1)
    if dry_run:
        return case_cache.missing
    if measurer is not None and regions:  # measured on every build: the regions are in no cache key
        models_by_key = {model.key: model for model in models}
        model_results = {
            key: measurer.measure_regions(models_by_key[key], inputs, result, regions)
            for key, result in model_results.items()
        }
    case = CaseResult(
        spec=spec,
        original=original,
        crop_array=prepared.crop_array,
        segments=inputs.segments,
        models=model_results,
        regions=regions,
    )
    classes = {model.key: model.categories for model in models}
    for measure in MEASURES.values():  # what compares the models (the case's comparisons)
        case = measure.across_models(case, explainers, manifest.metrics, classes)
    return case


PREDICT_THREADS = 4  # decoding and resizing release the GIL: images are read ahead while the models run


@dataclass(frozen=True)
class ReadCase:
    """A case read for prediction: its preprocessed image and its cache (keyed by the file's content)."""

    spec: CaseSpec
    pixels: torch.Tensor  # the crop, 1 x 3 x H x W in [0, 1]: each model normalises it its own way
    cache: CaseCache
    lookup: CaseCache  # the same keys, read only: raises NotCached where nothing is stored


def predict_cases(
    context: CaseContext, specs: Sequence[CaseSpec], batch: int, failed: Callable[[CaseSpec, CaseError], None]
) -> Iterator[CasePredictions]:
    """Every model's top-k on each case, in order, through the cases' cache under the keys `compute_case` reads (a
    case explained later predicts nothing again). Images are decoded and preprocessed by threads one chunk ahead of
    the models; the uncached ones go through each model `batch` at a time. A case whose image cannot be read is
    handed to `failed` and left out."""
    chunks = [specs[start : start + batch] for start in range(0, len(specs), batch)]
    with ThreadPoolExecutor(PREDICT_THREADS, thread_name_prefix="xai-read") as pool:
        ahead = [pool.submit(read_case, context, spec) for spec in chunks[0]] if chunks else []
        for number in range(len(chunks)):
            current = ahead
            if number + 1 < len(chunks):
                ahead = [pool.submit(read_case, context, spec) for spec in chunks[number + 1]]
            read = []
            for spec, future in zip(chunks[number], current, strict=True):
                try:
                    read.append(future.result())
                except CaseError as error:
                    failed(spec, error)
            yield from predict_chunk(context, read)


def read_case(context: CaseContext, spec: CaseSpec) -> ReadCase:
    """The case's crop (the full-size photo is dropped: two chunks of them would not fit) and its two views of the
    cache, both keyed by the file's content."""
    manifest, options = context.manifest, context.options
    path = Path(context.content_dir) / spec.image
    prepared = Preprocessor(manifest.preprocess).prepare(
        decode_image(path, spec.case_id, manifest.preprocess.background)
    )
    digest = file_digest(path)

    def cache(cached_only: bool) -> CaseCache:
        return CaseCache(
            context.cache,
            manifest,
            digest,
            device=options.device,
            precision=options.precision,
            force=options.force,
            cached_only=cached_only,
        )

    return ReadCase(spec, prepared.pixels, cache(False), cache(True))


def predict_chunk(context: CaseContext, read: Sequence[ReadCase]) -> Iterator[CasePredictions]:
    """Per model, the chunk's cached probabilities read and the others computed in one forward pass."""
    probs: list[dict[str, NDArray[np.float64]]] = [{} for _ in read]
    for model in context.models:
        missing = []
        for index, case in enumerate(read):
            try:
                probs[index][model.key] = cast_probabilities(
                    case.lookup.probabilities(model, no_compute, PREDICTION_CODE)
                )
            except NotCached:
                missing.append(index)
        if missing:
            with failures_named(read[missing[0]].spec.case_id, model), timed("predictions"):
                batch = torch.cat([model.normalise(read[index].pixels) for index in missing])
                rows = batch_probabilities(model, batch)
            for index, row in zip(missing, rows, strict=True):
                stored = read[index].cache.probabilities(model, functools.partial(np.array, row), PREDICTION_CODE)
                assert stored is not None, "a prediction is stored where it was missing"
                probs[index][model.key] = stored
    for case, by_model in zip(read, probs, strict=True):
        top = {
            model.key: top_k(by_model[model.key], model.categories, context.manifest.top_k) for model in context.models
        }
        yield CasePredictions(case.spec, top)


def no_compute() -> NDArray[np.float64]:
    raise AssertionError("a read-only lookup computes nothing")  # CaseCache(cached_only=True) raises NotCached first


def cast_probabilities(found: NDArray[np.float64] | None) -> NDArray[np.float64]:
    assert found is not None, "only a dry run leaves a value out"
    return found


@contextmanager
def failures_named(case_id: str, model: LoadedModel) -> Iterator[None]:
    """An unexpected exception inside a model's work becomes a CaseError naming the case and the model.

    It then counts as that case's failure (--keep-going builds the others); the traceback is logged at
    debug level, so `-v` shows it.
    """
    try:
        yield
    except (ReportError, NotCached):
        raise
    except Exception as error:
        log.debug("case '%s', model '%s' failed", case_id, model.label, exc_info=True)
        raise CaseError(case_id, f"{type(error).__name__}: {error}", model=model.label) from error


def explain_model(
    model: LoadedModel,
    inputs: CaseInputs,
    explainers: Sequence[AnyExplainer],
    measurer: Measurer | None,
    case_cache: CaseCache,
    predictions: tuple[Prediction, ...],
    targets: tuple[int, ...],
    probs: NDArray[np.float64] | None,
) -> ModelResult:
    explained: dict[str, dict[int, Any]] = {}  # explainer name -> {target: its result}
    for explainer in (e for e in explainers if runs_on(e, model)):
        with timed(explainer.name):
            results = case_cache.explanation(
                explainer, model, targets, functools.partial(explainer.explain, model, inputs, targets)
            )
        if results is not None:  # None: a dry run
            explainer.share(model, inputs, results)
        explained[explainer.name] = {result.target: result for result in results or ()}
    result = ModelResult(
        model_key=model.key, top_k=predictions, targets=targets, explanations=explained, probabilities=probs
    )
    if measurer is None:
        return result
    measured = case_cache.metrics(
        model, targets, lambda: measurer.measure(model, inputs, result), measurer.code_modules()
    )
    return result if measured is None else result.with_metrics(measured)  # None: a dry run
