"""LIME proven against the `lime` package itself: same perturbations, same surrogate weights, same segments for every model."""

import copy

import numpy as np
import pytest
import skimage.data
import torch
from lime import lime_image
from PIL import Image
from torch import nn

import generator.explain.lime as project_lime
from generator.compute import CaseContext, compute_case
from generator.explain import CaseInputs, enabled_explainers
from generator.explain.lime import (
    Lime,
    LimeSpec,
    bootstrap_stability,
    explain_with_lime,
    is_constant,
    normalised_perturbations,
    perturbation_set,
    perturbed_images,
    segment_image,
)
from generator.explain.stability import Stability, seed_stability, top_k_positive
from generator.manifest.imagenet import imagenet_categories
from generator.manifest.schema import CaseSpec, ExplainersSpec, Manifest, ModelSpec, PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.inference import BatchClassifier
from generator.run.model_source import Normalisation
from generator.run.models import LoadedModel, resolve_weights
from tests import helpers

SEED = 3
NUM_SAMPLES = 100
PREPROCESS = PreprocessSpec()
IMAGENET = Normalisation()  # torchvision models' input mean and std


def small_cnn(seed, classes=10):
    return helpers.small_cnn(seed, classes)


def classifier_for(module, batch_size=64):
    return BatchClassifier(module, IMAGENET.mean, IMAGENET.std, batch_size)


@pytest.fixture(scope="module")
def crop():
    return Preprocessor(PREPROCESS).prepare(Image.fromarray(skimage.data.chelsea())).crop_array


@pytest.fixture(scope="module")
def segments(crop):
    return segment_image(crop, LimeSpec(), SEED)


def settings(**overrides):
    return LimeSpec(**{"num_samples": NUM_SAMPLES, "top_labels": 3, **overrides})


def lime_reference(classifier, image, segments, num_samples, seed, **kwargs):
    explainer = lime_image.LimeImageExplainer(random_state=seed)
    return explainer.explain_instance(
        image,
        classifier,
        hide_color=0,
        num_samples=num_samples,
        segmentation_fn=lambda _image: segments,
        random_seed=seed,
        batch_size=10,
        **kwargs,
    )


def weight_vector(local_exp, n_segments):
    weights = np.zeros(n_segments)
    for segment, weight in local_exp:
        weights[segment] = weight
    return weights


def test_segments_are_relabelled_and_deterministic(crop, segments):
    n = int(segments.max()) + 1
    assert segments.shape == crop.shape[:2] and segments.dtype == np.int32
    np.testing.assert_array_equal(np.unique(segments), np.arange(n))
    assert 10 < n < 200
    np.testing.assert_array_equal(segment_image(crop, LimeSpec(), SEED), segments)


def test_same_seed_same_weights_other_seed_other_weights(crop, segments):
    classifier = classifier_for(small_cnn(0))
    first = explain_with_lime(classifier, crop, segments, (1,), settings(), SEED)
    again = explain_with_lime(classifier, crop, segments, (1,), settings(), SEED)
    other = explain_with_lime(classifier, crop, segments, (1,), settings(), SEED + 1)
    assert [r.target for r in first] == [r.target for r in again]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.intercept, a.score, a.local_pred) == (b.intercept, b.score, b.local_pred)
    assert not np.allclose(first[0].weights, other[0].weights)


def test_weights_intercept_score_equal_lime_package(crop, segments):
    classifier = classifier_for(small_cnn(0))
    n_segments = int(segments.max()) + 1
    top1 = int(np.argmax(classifier(crop[None].copy())[0]))

    ours = explain_with_lime(classifier, crop, segments, (top1,), settings(), SEED)
    reference = lime_reference(classifier, crop, segments, NUM_SAMPLES, SEED, top_labels=3)

    assert [r.target for r in ours] == [int(label) for label in reference.top_labels]  # top1 first, then the rest
    for result in ours:
        expected = weight_vector(reference.local_exp[result.target], n_segments)
        assert np.abs(expected).max() > 1e-4, "degenerate case: the classifier ignores the superpixels"
        np.testing.assert_allclose(result.weights, expected, rtol=1e-5, atol=1e-8)
        assert result.intercept == pytest.approx(reference.intercept[result.target], rel=1e-5, abs=1e-8)
    # lime keeps one score / local_pred: the last label it fits, which is its top-1 (top_labels ascending)
    assert ours[0].score == pytest.approx(reference.score, rel=1e-5)
    assert ours[0].local_pred == pytest.approx(float(np.ravel(reference.local_pred)[0]), rel=1e-5)
    assert 0 < ours[0].score <= 1


def test_score_and_intercept_of_an_extra_target_equal_lime_package(crop, segments):
    """A manifest target that is not among the top labels: lime's `labels=(t,)` without top_labels."""
    classifier = classifier_for(small_cnn(1))
    probs = classifier(crop[None].copy())[0]
    target = int(np.argsort(probs)[0])  # the least likely class
    ours = explain_with_lime(classifier, crop, segments, (target,), settings(top_labels=1), SEED)
    assert ours[0].target == target and len(ours) == 2
    reference = lime_reference(classifier, crop, segments, NUM_SAMPLES, SEED, labels=(target,), top_labels=None)
    np.testing.assert_allclose(
        ours[0].weights, weight_vector(reference.local_exp[target], int(segments.max()) + 1), rtol=1e-5, atol=1e-8
    )
    assert ours[0].intercept == pytest.approx(reference.intercept[target], rel=1e-5, abs=1e-8)
    assert ours[0].score == pytest.approx(reference.score, rel=1e-5)
    assert ours[0].local_pred == pytest.approx(float(np.ravel(reference.local_pred)[0]), rel=1e-5)


class ConstantLogits(nn.Module):
    """A model that ignores its input, as a randomly initialised network can: every class equally likely, but
    class 1's logit moves by `jitter` times the image's mean (float32's differences between batches)."""

    def __init__(self, jitter):
        super().__init__()
        self.jitter = jitter

    def forward(self, images):
        logits = torch.zeros(len(images), 10)
        logits[:, 1] += self.jitter * images.mean(dim=(1, 2, 3))
        return logits


def test_constant_means_within_a_few_float32_steps_of_the_largest_probability():
    assert is_constant(np.full(5, 0.1)) and is_constant(np.zeros(3))
    assert is_constant(np.array([0.001, 0.001 + 1.2e-10]))  # one float32 step apart (the random Lite0's)
    assert is_constant(np.array([1.0 - 6e-8, 1.0]))  # one step below 1
    assert not is_constant(np.array([0.99999, 1.0]))  # saturated, but about 170 steps of real change
    assert not is_constant(np.array([0.001, 0.00101]))  # 1% apart
    assert not is_constant(np.array([0.0, 1e-12]))  # tiny, but all of its value


@pytest.mark.parametrize("jitter", [0.0, 5e-8])
def test_a_model_that_ignores_its_input_gets_zero_weights_not_roundoff(crop, segments, jitter):
    classifier = classifier_for(ConstantLogits(jitter))
    ours = explain_with_lime(classifier, crop, segments, (1,), settings(), SEED)
    reference = lime_reference(classifier, crop, segments, NUM_SAMPLES, SEED, labels=(1,), top_labels=None)
    lime_weights = weight_vector(reference.local_exp[1], int(segments.max()) + 1)
    assert np.abs(lime_weights).max() < 1e-6  # lime's: the jitter (or roundoff) fitted
    assert lime_weights.any() or not jitter  # the jitter is there for lime to fit
    assert not ours[0].weights.any()  # ours: the exact slopes of a constant response
    assert ours[0].intercept == pytest.approx(reference.intercept[1], rel=1e-5)
    assert top_k_positive(ours[0].weights, 5) == set()
    assert seed_stability([r[0].weights for r in (ours, ours)], k=5) == Stability(1.0, 0.0, True)
    data = perturbation_set(int(segments.max()) + 1, NUM_SAMPLES, np.random.RandomState(SEED))  # the rows it used
    assert bootstrap_stability(data, ours[0], 5, SEED) == Stability(1.0, 0.0, True)


def test_perturbed_images_equal_lime_data_labels(crop, segments):
    n_segments = int(segments.max()) + 1
    seen = []

    def recording_classifier(images):
        seen.extend(copy.deepcopy(images))
        return np.zeros((len(images), 2))

    explainer = lime_image.LimeImageExplainer(random_state=SEED)
    fudged = crop.copy()
    fudged[:] = 0  # hide_color=0
    data, _ = explainer.data_labels(crop, fudged, segments, recording_classifier, 12, batch_size=5)

    ours = perturbation_set(n_segments, 12, np.random.RandomState(SEED))
    np.testing.assert_array_equal(ours, data)
    assert (ours[0] == 1).all() and 0 < ours[1:].mean() < 1

    images = perturbed_images(crop, segments, ours[:6], 0)
    assert images.dtype == np.uint8 and images.shape == (6, *crop.shape)
    for row in range(6):
        np.testing.assert_array_equal(images[row], seen[row])
    np.testing.assert_array_equal(images[0], crop)  # the first row is the untouched image
    hidden = ~ours[3][segments].astype(bool)
    assert hidden.any() and (images[3][hidden] == 0).all()
    np.testing.assert_array_equal(images[3][~hidden], crop[~hidden])

    grey = perturbed_images(crop, segments, ours[3:4], 128)[0]
    assert (grey[hidden] == 128).all() and np.array_equal(grey[~hidden], crop[~hidden])


@pytest.mark.parametrize("hide_color", [0, 128])
def test_normalised_perturbations_equal_normalising_each_perturbed_image(crop, segments, hide_color):
    data = perturbation_set(int(segments.max()) + 1, 21, np.random.RandomState(SEED))
    classifier = classifier_for(small_cnn(0), 8)
    batches = list(normalised_perturbations(classifier, crop, segments, data, hide_color))
    assert [len(batch) for batch in batches] == [8, 8, 5]
    expected = classifier.to_tensor(perturbed_images(crop, segments, data, hide_color))
    fast = torch.cat(batches)
    assert all(batch.is_contiguous(memory_format=torch.channels_last) for batch in batches)
    assert fast.dtype == expected.dtype and torch.equal(fast, expected)  # the same numbers, bit for bit


def test_batching_does_not_change_the_result(crop, segments):
    module = small_cnn(0)
    small = explain_with_lime(classifier_for(module, 7), crop, segments, (2,), settings(), SEED)
    large = explain_with_lime(classifier_for(module, 256), crop, segments, (2,), settings(), SEED)
    for a, b in zip(small, large):
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-5, atol=1e-8)


# --- every model of a case sees the same segments and the same perturbations --------------------------


def loaded(module, name):
    spec = ModelSpec(name="resnet18", weights="random", display_name=name)
    return LoadedModel(spec, module, imagenet_categories(), resolve_weights(spec, ".", SEED), "2")


def test_compute_case_segments_once_and_shares_perturbations(tmp_path, monkeypatch, crop):
    Image.fromarray(skimage.data.chelsea()).save(tmp_path / "cat.png")
    lime_spec = LimeSpec(num_samples=40, top_labels=2)
    manifest = Manifest(
        seed=SEED,
        models=(ModelSpec(name="resnet18", display_name="A"), ModelSpec(name="resnet18", display_name="B")),
        explainers=ExplainersSpec(lime=lime_spec),
        cases=(CaseSpec(image="cat.png"),),
    )
    models = [loaded(small_cnn(10, 1000), "A"), loaded(small_cnn(11, 1000), "B")]

    segment_calls = []
    real_segment = project_lime.segment_image

    def spy_segment(image_array, spec, seed):
        segment_calls.append(seed)
        return real_segment(image_array, spec, seed)

    calls = []
    real_classify = project_lime.classify_perturbations

    def spy_classify(classifier, image, segments, data, hide_color):
        calls.append((classifier.module, image.copy(), segments, data.copy()))
        return real_classify(classifier, image, segments, data, hide_color)

    monkeypatch.setattr(project_lime, "segment_image", spy_segment)
    monkeypatch.setattr(project_lime, "classify_perturbations", spy_classify)

    explainers = enabled_explainers(manifest.explainers, manifest.seed)
    result = compute_case(CaseContext(manifest, tmp_path, models, explainers), manifest.cases[0])

    assert segment_calls == [SEED]
    assert [call[0] for call in calls] == [models[0].module, models[1].module]
    (_, image_a, segments_a, data_a), (_, image_b, segments_b, data_b) = calls
    assert segments_a is segments_b is result.segments
    np.testing.assert_array_equal(result.segments, segment_image(crop, lime_spec, SEED))
    np.testing.assert_array_equal(image_a, crop)
    np.testing.assert_array_equal(image_b, crop)
    np.testing.assert_array_equal(data_a, data_b)
    np.testing.assert_array_equal(
        data_a, perturbation_set(int(result.segments.max()) + 1, 40, np.random.RandomState(SEED))
    )
    # the models differ, so their explanations do; the inputs they were given did not
    a, b = (result.models[m.key].explanations["lime"] for m in models)
    assert set(a) and set(b)
    assert not np.allclose(next(iter(a.values())).weights, next(iter(b.values())).weights)


def test_lime_explainer_reuses_case_segments(monkeypatch, crop):
    prepared = Preprocessor(PREPROCESS).prepare(Image.fromarray(skimage.data.chelsea()))
    inputs = CaseInputs("cat", prepared)
    calls = []
    real_segment = project_lime.segment_image
    monkeypatch.setattr(project_lime, "segment_image", lambda *args: calls.append(1) or real_segment(*args))
    explainer = Lime(LimeSpec(num_samples=20, top_labels=1), seed=SEED)
    models = [loaded(small_cnn(20, 1000), "A"), loaded(small_cnn(21, 1000), "B")]
    explainer.prepare_case(inputs, lambda kind, parts, compute: compute())  # once per case, as compute_case does
    first = explainer.explain(models[0], inputs, (5,))
    segments = inputs.segments
    second = explainer.explain(models[1], inputs, (5,))
    assert len(calls) == 1 and inputs.segments is segments
    # same seed, same segments: the model that repeats gives the same numbers
    again = explainer.explain(models[0], inputs, (5,))
    np.testing.assert_array_equal(first[0].weights, again[0].weights)
    assert not np.array_equal(first[0].weights, second[0].weights)
