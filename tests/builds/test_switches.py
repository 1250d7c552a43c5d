"""Every documented switch builds, alone and in combination, and the pages show only what was computed.

The explicit cases are the switches of the manifest reference one at a time (and the combinations that once
failed); each uses a random ResNet18 (and a random MobileNetV3-Small as second model), 12 LIME samples and
4-step curves, and runs MkDocs in strict mode. "defaults" runs at the reference's 224x224 crop with fused
inference; the others on 64x64 images, eagerly (CHEAP). The property-based tests draw whole manifests from the
same space, with one or two of MODELS (three torchvision families, a timm model, a TorchScript file), every
explainer, every output, 10-24 LIME samples and up to 3 stability seeds, on 64x64 images: a valid one must build, whatever fails inside (a TypeError in Grad-CAM becomes the
case's CaseError, a ReportError: nothing here lets one through); an invalid choice, made on purpose and named,
must stop the build with its own message. Examples, seed and profile: tests/conftest.py (20 under CI=true;
more: XAI_REPORT_HYPOTHESIS_EXAMPLES=200 pytest tests/builds/test_switches.py).
"""

import tempfile

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from generator.explain import EXPLAINERS
from generator.explain.gradcam import GradCam
from generator.utils.errors import CaseError, ManifestError, WeightsError
from tests.switches import CAM_VARIANTS, REGIONS, build_tiny, check_pages, tiny_manifest

SWITCHES = {
    "defaults": {},
    "gradcam-off": {"gradcam": False},
    "lime-off": {"lime": False},
    "predictions-only": {"gradcam": False, "lime": False},
    "faithfulness-off": {"faithfulness": False},
    "stability-off": {"stability_seeds": 1},
    "stability-bootstrap": {"stability": "bootstrap"},
    "sanity-off": {"sanity": False},
    "all-metrics-off": {"faithfulness": False, "sanity": False, "stability_seeds": 1},
    "two-models": {"two_models": True, "two_cases": True},
    "two-models-gradcam-off": {"two_models": True, "gradcam": False},
    "two-models-lime-off": {"two_models": True, "lime": False},
    "ones": {"top_k": 1, "num_features": 1, "top_labels": 1},
    "tens": {"top_k": 10, "num_features": 10, "top_labels": 10},
    "targets-and-label": {"targets": ("tiger cat", 285), "label": "tabby"},
    "label-only": {"label": 281},
    "integrated-gradients": {"integrated_gradients": True, "two_models": True},
    "integrated-gradients-alone": {"integrated_gradients": True, "gradcam": False, "lime": False},
    "regions": {"regions": "shapes", "two_cases": True, "two_models": True},
    "cam-family": {"cams": CAM_VARIANTS, "two_models": True},
    "cam-family-alone": {"cams": CAM_VARIANTS, "gradcam": False, "lime": False, "regions": "object"},
    "regions-no-object": {"regions": "no object", "lime": False},
    "kernel-shap": {"kernel_shap": True, "two_models": True, "regions": "object"},
    "kernel-shap-alone": {"kernel_shap": True, "gradcam": False, "lime": False, "two_cases": True},
    "road": {"road": True, "two_models": True, "two_cases": True},
    "road-alone": {"road": True, "faithfulness": False, "sanity": False, "stability_seeds": 1},
    "every-method-and-measure": {"cams": CAM_VARIANTS, "integrated_gradients": True, "kernel_shap": True, "road": True},
    "lime-samples-auto": {  # up to 2000 images: a small model, no curves
        "num_samples": "auto",
        "model": "squeezenet1_1",
        "stability": "bootstrap",
        "faithfulness": False,
        "sanity": False,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("switches", list(SWITCHES.values()), ids=list(SWITCHES))
def test_switch_builds_and_pages_show_only_what_ran(tmp_path, switches):
    manifest = tiny_manifest(**switches) if not switches else tiny_manifest(**CHEAP, **switches)
    content = build_tiny(manifest, tmp_path)
    check_pages(content, manifest)


# tiny_manifest's keyword switch of each explainer
EXPLAINER_SWITCHES = ("gradcam", "lime", "integrated_gradients", "kernel_shap")
# three small torchvision families, a timm model, and a TorchScript file (opaque: its gradient methods left out)
MODELS = ("resnet18", "mobilenet_v3_small", "squeezenet1_1", "timm:resnet18", "torchscript:resnet18")
CHEAP = {"crop": 64, "batch_size": 64}  # 64x64 images; no batch fills 64, so no model is traced
COUNTED_RULES = ("most_confident_wrong", "least_confident", "per_class", "random")
SELECTION_RULE = st.sampled_from(["wrong", "disagree"]) | st.builds(
    lambda kind, count: {kind: count}, st.sampled_from(COUNTED_RULES), st.integers(1, 2)
)
EXPLAIN = st.fixed_dictionaries(
    {
        "select": st.lists(
            SELECTION_RULE, max_size=3, unique_by=lambda rule: str(rule) if isinstance(rule, str) else next(iter(rule))
        ),
        "max": st.none() | st.integers(1, 2),
    }
)
MANIFEST_SPACE = st.fixed_dictionaries(
    {
        **{name: st.booleans() for name in EXPLAINER_SWITCHES},
        "faithfulness": st.booleans(),
        "road": st.booleans(),
        "sanity": st.booleans(),
        "stability_seeds": st.integers(1, 3),
        "stability": st.sampled_from(["reruns", "bootstrap"]),
        "models": st.lists(st.sampled_from(MODELS), min_size=1, max_size=2, unique=True),
        "two_cases": st.booleans(),
        "num_samples": st.integers(10, 24),
        "top_k": st.integers(1, 10),
        "num_features": st.integers(1, 10),
        "top_labels": st.integers(1, 10),
        "targets": st.lists(st.sampled_from(["tabby", "tiger cat", 285, 0, "espresso"]), max_size=2, unique=True),
        "label": st.none() | st.sampled_from(["tabby", 281, "Egyptian cat"]),
        "output": st.sampled_from([None, "softmax", "sigmoid", "logits"]),
        "mean_std": st.none() | st.just(((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))),
        "cases_from": st.booleans(),
        "regions": st.none() | st.sampled_from(sorted(REGIONS)),
        "cams": st.lists(st.sampled_from(CAM_VARIANTS), max_size=2, unique=True),  # at most two: each costs a build
        "explain": st.none() | EXPLAIN,  # with cases_from, its rules choose among the generated cases
    }
)
# The invalid choices the strategy makes on purpose: (what it changes, the error, text the message must hold).
INVALID_CHOICES = {
    "unknown label": ({"label": "no such class"}, ManifestError, "cases[0].label: unknown class 'no such class'"),
    "target out of range": ({"targets": [1000]}, ManifestError, "cases[0].targets: class index 1000 is out of range"),
    "too few LIME samples": ({"num_samples": 9}, ManifestError, "explainers.lime.num_samples"),
    "no stability seed": ({"stability_seeds": 0}, ManifestError, "metrics.stability_seeds"),
    "unknown model": ({"models": ["resnet_nope"]}, WeightsError, "model 'resnet_nope': unknown builder"),
}


def test_the_space_draws_every_explainer():
    drawn = set(EXPLAINER_SWITCHES) | set(CAM_VARIANTS)
    assert drawn == set(EXPLAINERS), "add the new explainer to tiny_manifest and EXPLAINER_SWITCHES or CAM_VARIANTS"


@pytest.mark.slow
@settings(deadline=None)  # examples, seed and database: the profile (tests/conftest.py)
# examples that once failed: every one stopped the build with a StrictUndefined TypeError in the templates
@example({"faithfulness": False})
@example({"gradcam": False})
@example({"lime": False})
@example({"gradcam": False, "lime": False, "two_models": True})
@example({"models": ["torchscript:resnet18"], "integrated_gradients": True})  # every gradient method left out
# once failed: an opaque model alone, Grad-CAM its only method: no map at all, so no worst-case section
@example({"models": ["torchscript:resnet18"], "lime": False, "stability_seeds": 1, "sanity": False, "top_k": 1})
@example({"models": ["resnet18", "torchscript:resnet18"], "output": "logits", "label": "tabby"})
@example({"cases_from": True, "label": "tabby", "mean_std": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))})
@example({"gradcam": False, "cams": ["xgradcam", "gradcam_plus_plus"]})  # "Grad-CAM" is not "XGrad-CAM"
@example({"cases_from": True, "label": "tabby", "two_models": True, "explain": {"select": ["wrong"], "max": 1}})
@example({"cases_from": True, "explain": {"select": [], "max": None}})  # no rule: only the cases written by hand
# once failed (the oracle's): one model, LIME and KernelSHAP compared under the shared table's "Agreement" heading
@example({"gradcam": False, "kernel_shap": True, "num_samples": 10, "top_k": 1, "num_features": 1, "top_labels": 1})
@given(MANIFEST_SPACE)
def test_any_valid_manifest_builds_and_its_pages_show_only_what_ran(switches):
    manifest = tiny_manifest(**CHEAP, **switches)
    with tempfile.TemporaryDirectory(prefix="xai-hypothesis-") as folder:
        content = build_tiny(manifest, folder)  # no error is expected: every drawn manifest is valid
        check_pages(content, manifest)


@settings(deadline=None)
@given(MANIFEST_SPACE, st.sampled_from(sorted(INVALID_CHOICES)))
def test_each_invalid_choice_stops_the_build_with_its_own_error(switches, choice):
    change, error, message = INVALID_CHOICES[choice]
    manifest = tiny_manifest(**CHEAP, **{**switches, **change})
    with tempfile.TemporaryDirectory(prefix="xai-hypothesis-") as folder:
        with pytest.raises(error) as caught:
            build_tiny(manifest, folder)
    assert message in str(caught.value)


@pytest.mark.slow
def test_the_property_test_fails_on_a_fault_inside_an_explainer(monkeypatch):
    """A TypeError in Grad-CAM, which the build reports as the case's CaseError, fails the property test."""

    def broken_explain(self, model, inputs, targets):
        raise TypeError("injected fault")

    monkeypatch.setattr(GradCam, "explain", broken_explain)
    with_gradcam = MANIFEST_SPACE.map(lambda switches: {**switches, "gradcam": True})
    property_test = test_any_valid_manifest_builds_and_its_pages_show_only_what_ran.hypothesis.inner_test
    once = settings(max_examples=1, phases=[Phase.generate], deadline=None)(given(with_gradcam)(property_test))
    with pytest.raises(CaseError) as caught:
        once()
    assert isinstance(caught.value.__cause__, TypeError) and str(caught.value.__cause__) == "injected fault"
