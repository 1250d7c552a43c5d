"""Metrics on hand-built models and maps whose right answers are known."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from generator.explain.lime import superpixel_saliency
from generator.explain.stability import STABILITY_THRESHOLD, seed_stability
from generator.measure import concentration, faithfulness, map_agreement, metrics, sanity
from generator.run.inference import BatchClassifier
from tests import curves as one_map

SIZE = 48
REGION = (slice(18, 30), slice(18, 30))  # 12 x 12 = 144 of 2304 pixels


class RegionBrightness(nn.Module):
    """Logits [scale * mean brightness of REGION, scale * 0.5]: class 0 is "the square is lit"."""

    def __init__(self, scale=12.0):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        brightness = x[:, :, REGION[0], REGION[1]].mean(dim=(1, 2, 3))
        return torch.stack([self.scale * brightness, torch.full_like(brightness, self.scale * 0.5)], dim=1)


@pytest.fixture(scope="module")
def classify():
    return BatchClassifier(RegionBrightness(), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


@pytest.fixture(scope="module")
def lit_square():
    image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    image[REGION] = 255
    return image


def oracle_map():
    saliency = np.zeros((SIZE, SIZE))
    saliency[REGION] = 1.0
    return saliency


def test_curves_start_and_end_where_the_protocol_says(classify, lit_square):
    result = one_map.deletion_insertion(classify, lit_square, oracle_map(), target=0, steps=8)
    original = classify(lit_square[None])[0, 0]
    black = classify(np.zeros_like(lit_square)[None])[0, 0]
    blurred = classify(faithfulness.blurred(lit_square)[None])[0, 0]
    np.testing.assert_allclose(result.fractions, np.linspace(0, 1, 9))
    np.testing.assert_allclose(result.deletion_curve[[0, -1]], [original, black])
    np.testing.assert_allclose(result.insertion_curve[[0, -1]], [blurred, original])
    assert original > 0.99 and black < 0.01 and blurred < original  # blur dims the square
    assert result.deletion_auc == pytest.approx(np.trapezoid(result.deletion_curve, result.fractions))


def test_oracle_beats_random_and_anti_oracle_loses(classify, lit_square):
    oracle = one_map.deletion_insertion(classify, lit_square, oracle_map(), target=0)
    anti = one_map.deletion_insertion(classify, lit_square, 1.0 - oracle_map(), target=0)
    random = one_map.random_order_baseline(classify, lit_square, target=0, seed=3)
    assert oracle.deletion_auc < random.deletion_auc < anti.deletion_auc
    assert oracle.insertion_auc > random.insertion_auc > anti.insertion_auc
    assert oracle.deletion_auc < 0.1 and oracle.insertion_auc > 0.9


def test_one_batched_call_for_both_curves_and_seeded_baseline(classify, lit_square):
    calls = []

    def counting(images):
        calls.append(len(images))
        return classify(images)

    first = one_map.random_order_baseline(counting, lit_square, target=0, steps=16, seed=7)
    assert calls == [34]  # both curves in one batched call
    again = one_map.random_order_baseline(classify, lit_square, target=0, steps=16, seed=7)
    np.testing.assert_array_equal(first.deletion_curve, again.deletion_curve)
    np.testing.assert_array_equal(first.insertion_curve, again.insertion_curve)


def test_ties_are_broken_by_position():
    order = metrics.pixel_order(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert order.tolist() == [1, 2, 0, 3]


def test_superpixel_saliency_and_means_round_trip():
    segments = np.array([[0, 0, 1], [2, 2, 1]])
    painted = superpixel_saliency([0.5, -1.0, 2.0], segments)
    np.testing.assert_array_equal(painted, [[0.5, 0.5, -1.0], [2.0, 2.0, -1.0]])
    np.testing.assert_allclose(metrics.superpixel_means(painted, segments), [0.5, -1.0, 2.0])
    np.testing.assert_allclose(metrics.superpixel_means([[1, 3, 0], [5, 7, 4]], segments), [2.0, 2.0, 6.0])


def test_agreement_with_self_and_negation():
    scores = np.array([0.3, -0.1, 0.9, 0.0, 0.5, 0.2, -0.4, 0.7])
    same = map_agreement.agreement(scores, scores, 3, metrics.PIXELS)
    assert same.spearman == pytest.approx(1.0) and same.top_k_overlap == 1.0
    assert (same.k, same.unit) == (3, "pixels")
    assert map_agreement.agreement(scores, -scores, 3, metrics.PIXELS).spearman == pytest.approx(-1.0)
    assert map_agreement.agreement(scores, -scores, 3, metrics.PIXELS).top_k_overlap == 0.0


def test_agreement_carries_the_k_it_counted_capped_at_the_vector_length():
    scores = np.array([0.3, -0.1, 0.9, 0.0])
    capped = map_agreement.agreement(scores, scores[::-1], 10, metrics.SUPERPIXELS)
    assert (capped.k, capped.unit) == (4, "superpixels")
    assert capped.top_k_overlap == 1.0  # all 4 of 4 in common


def test_agreement_is_nan_safe_and_counts_partial_overlap():
    flat = map_agreement.agreement(np.ones(6), np.arange(6.0), 5, metrics.PIXELS)
    assert np.isnan(flat.spearman) and np.isnan(flat.top_k_overlap)  # undefined, not "no agreement"
    assert np.isnan(map_agreement.agreement(np.arange(6.0), np.zeros(6), 5, metrics.PIXELS).top_k_overlap)  # zero map
    assert np.isnan(map_agreement.agreement(np.zeros(0), np.zeros(0), 5, metrics.PIXELS).top_k_overlap)  # no regions
    a = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    b = np.array([5.0, 0.0, 3.0, 2.0, 1.0, 4.0])  # top-2: {0, 1} vs {0, 5}
    assert map_agreement.agreement(a, b, 2, metrics.PIXELS).top_k_overlap == 0.5


def test_concentration_extremes():
    one = np.zeros((8, 8))
    one[3, 4] = 2.5
    assert concentration.concentration(one) == 1 / 64
    assert concentration.concentration(np.ones((8, 8))) == 0.5
    assert math.isnan(concentration.concentration(np.zeros((8, 8))))
    half_hot = np.zeros((8, 8))
    half_hot[:2] = 1.0  # 16 equal pixels: half the mass in 8 of 64
    assert concentration.concentration(half_hot) == 8 / 64
    assert concentration.concentration(np.where(half_hot > 0, 1.0, -3.0)) == 8 / 64  # negatives are not mass


def test_lime_stability_identical_and_unrelated_runs():
    rng = np.random.default_rng(0)
    run = rng.normal(size=20)
    same = seed_stability([run, run, run], k=5)
    assert same.mean_jaccard == 1.0 and same.weight_spread == 0.0 and same.stable
    unrelated = seed_stability([rng.normal(size=20) for _ in range(4)], k=5)
    assert unrelated.mean_jaccard < STABILITY_THRESHOLD and not unrelated.stable
    assert unrelated.weight_spread > 0.5


def test_lime_stability_jaccard_value():
    a = np.array([5.0, 4.0, 3.0, -1.0, -2.0])
    b = np.array([5.0, 4.0, -3.0, 3.0, -2.0])  # top-3 positive {0,1,2} vs {0,1,3}: 2 / 4
    assert seed_stability([a, b], k=3).mean_jaccard == 0.5


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU()), nn.Flatten()
    )


def test_randomise_module_touches_only_the_named_layer():
    net = small_net()
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    changed = sanity.randomise_module(net, "2.0", seed=1)
    for name, parameter in net.named_parameters():
        torch.testing.assert_close(parameter, before[name])  # original untouched
    for name, parameter in changed.named_parameters():
        if name.startswith("2.0."):
            assert not torch.allclose(parameter, before[name])
        else:
            torch.testing.assert_close(parameter, before[name])
    again = sanity.randomise_module(net, "2.0", seed=1)
    other = sanity.randomise_module(net, "2.0", seed=2)
    for p, q in zip(changed.parameters(), again.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert not torch.equal(changed.get_submodule("2.0").weight, other.get_submodule("2.0").weight)


def test_randomise_redraws_constant_batchnorm_weights():
    net = small_net()
    changed = sanity.randomise_module(net, "1", seed=0)
    assert not torch.allclose(changed[1].weight, net[1].weight)
    torch.testing.assert_close(changed[1].running_mean, net[1].running_mean)  # buffers kept


def test_rank_correlation_and_sanity_flag():
    rng = np.random.default_rng(1)
    saliency = rng.random((16, 16))
    assert sanity.rank_correlation(saliency, saliency) == pytest.approx(1.0)
    assert sanity.rank_correlation(saliency, -saliency) == pytest.approx(-1.0)
    assert np.isnan(sanity.rank_correlation(saliency, np.zeros((16, 16))))
    assert not sanity.sanity_flag(float("nan"))
    assert sanity.sanity_flag(0.9) and not sanity.sanity_flag(0.1) and not sanity.sanity_flag(float("nan"))


def test_curves_of_all_maps_share_one_pass_and_classify_each_image_once(classify, lit_square):
    """Every map of one model and case in one pass: each distinct image classified once, never the original."""
    from generator.manifest.schema import MetricsSpec
    from generator.measure.measurer import Measurer, random_smooth_map

    seen = []

    def counting(images):
        seen.extend(metrics.image_key(image) for image in images)
        return classify(images)

    rng = np.random.default_rng(5)
    maps = {
        0: {"gradcam": oracle_map(), "lime": rng.random((SIZE, SIZE))},
        1: {"gradcam": 1.0 - oracle_map()},
    }
    measurer = Measurer(MetricsSpec(steps=8), [], seed=4)
    original = classify(lit_square[None])[0]
    curves = measurer.curves(counting, lit_square, maps, original)["faithfulness"]

    assert len(seen) == len(set(seen)), "an image was classified twice"
    assert metrics.image_key(lit_square) not in seen, "the original's probabilities come from the predictions"
    all_maps = [smap for by_name in maps.values() for smap in by_name.values()]
    all_maps.append(random_smooth_map((SIZE, SIZE), 4))
    distinct = {metrics.image_key(i) for smap in all_maps for i in faithfulness.curve_images(lit_square, smap, 0, 8)[1]}
    assert len(seen) == len(distinct) - 1  # every distinct image but the original
    for target, by_name in maps.items():
        assert list(curves[target]) == [*by_name, "random"]
        expected = dict(by_name, random=random_smooth_map((SIZE, SIZE), 4))
        for name, smap in expected.items():
            alone = one_map.deletion_insertion(classify, lit_square, smap, target, steps=8)
            np.testing.assert_allclose(curves[target][name].deletion_curve, alone.deletion_curve, atol=1e-12)
            np.testing.assert_allclose(curves[target][name].insertion_curve, alone.insertion_curve, atol=1e-12)
    assert measurer.curves(counting, lit_square, {0: {}, 1: {}}, original).get("faithfulness", {}) == {}
