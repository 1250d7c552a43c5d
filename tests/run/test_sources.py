"""The model sources: found by module, one registry, `source:` checked when the manifest loads, Lite0 its own."""

import hashlib
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.run.sources as sources_package
from generator.cli import main
from generator.manifest.loader import load_manifest
from generator.manifest.schema import ModelSpec
from generator.run.model_source import CLAIMED, SOURCES, ModelFileSource, triple
from generator.run.models import load_model, resolve_weights
from generator.run.sources import import_sources, source_names, source_of
from generator.utils.digests import file_digest, short_file_digest
from generator.utils.errors import EXIT_BAD_INPUT, ManifestError
from tests import requires
from tests.helpers import make_project
from tests.repository.test_layout import PACKAGE, import_graph

SOURCES_FOLDER = Path(sources_package.__file__).parent


def test_every_module_of_the_sources_folder_registers_its_source():
    modules = sorted(path.stem for path in SOURCES_FOLDER.glob("*.py") if path.stem != "__init__")
    registered = sorted(type(source).__module__.rsplit(".", 1)[1] for source in SOURCES.values())
    assert registered == modules
    assert set(source_names()) == set(SOURCES) and source_names()[0] == "torchvision"


def test_a_module_dropped_into_the_sources_folder_is_found_without_being_listed(tmp_path, monkeypatch):
    (tmp_path / "toy_source.py").write_text(
        "from generator.run.model_source import ModelSource, register\n\n\n"
        "@register\nclass ToySource(ModelSource):\n    name = 'toy'\n    title = 'a toy'\n\n"
        "    def resolve(self, spec, manifest_dir, seed):\n        raise NotImplementedError\n\n"
        "    def build(self, spec, weights, seed):\n        raise NotImplementedError\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sources_package, "__path__", [*sources_package.__path__, str(tmp_path)])
    monkeypatch.delitem(SOURCES, "toy", raising=False)
    try:
        import_sources()
        assert "toy" in source_names()
        assert type(source_of(ModelSpec(source="toy", name="anything"))).__name__ == "ToySource"
    finally:
        SOURCES.pop("toy", None)
        sys.modules.pop(f"{sources_package.__name__}.toy_source", None)


def test_a_misspelt_source_stops_the_build_at_the_manifest_with_its_key_and_the_closest_name(tmp_path, monkeypatch):
    manifest = {"models": [{"source": "timmm", "name": "resnet18"}], "cases": [{"image": "images/chelsea.png"}]}
    path = make_project(tmp_path, manifest)
    loaded = []
    monkeypatch.setattr("generator.session.load_models", lambda *args, **kwargs: loaded.append(args))
    result = CliRunner().invoke(main, ["build", "--manifest", str(path), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == EXIT_BAD_INPUT == 2
    assert f"{path}: 1 problem(s):\n  models[0].source: unknown model source 'timmm'; did you mean 'timm'? (sources: " in (
        result.output
    )
    assert "Traceback" not in result.output and loaded == []


def test_a_source_with_no_close_name_lists_every_source(tmp_path):
    path = make_project(tmp_path, {"models": [{"source": "keras", "name": "x"}], "cases": [{"image": "images/chelsea.png"}]})
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert error.value.problems == [
        f"models[0].source: unknown model source 'keras' (sources: {', '.join(source_names())}; docs/models.md)"
    ]


def test_every_registered_source_is_accepted_and_the_schema_lists_them(tmp_path):
    entries = [{"source": name, "name": f"x{i}", "display_name": f"m{i}"} for i, name in enumerate(source_names())]
    path = make_project(tmp_path, {"models": entries, "cases": [{"image": "images/chelsea.png"}]})
    assert [spec.source for spec in load_manifest(path).models] == list(source_names())
    result = CliRunner().invoke(main, ["schema"])
    assert json.loads(result.output)["$defs"]["ModelSpec"]["properties"]["source"]["enum"] == list(source_names())


def test_lite0_without_a_source_is_built_by_its_own_module():
    requires.module("efficientnet_lite_pytorch", "efficientnet-lite-pytorch (the Lite0 architecture)")
    spec = ModelSpec(name="efficientnet_lite0", weights="random")
    assert spec.source == "torchvision" and source_of(spec) is SOURCES["efficientnet_lite"] is CLAIMED[spec.name]
    assert source_of(ModelSpec(source="timm", name="efficientnet_lite0")) is SOURCES["timm"]  # timm's own Lite0
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
    assert type(model.module).__name__ == "EfficientNet"
    assert model.target_layer_name == "_bn1" and model.target_layer_probe.grid == (7, 7)
    assert model.provenance == "efficientnet-lite-pytorch EfficientNet" and len(model.categories) == 1000


def test_a_model_files_digest_is_the_short_form_of_the_files_sha256(tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"not really a network" * 1000)
    full = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_digest(path) == full and file_digest(path, chunk=7) == full and short_file_digest(path) == full[:16]

    class Files(ModelFileSource):
        name, what = "files", "file"

        def build(self, spec, weights, seed):
            raise NotImplementedError

    assert Files().resolve(ModelSpec(name=str(path)), tmp_path, 0).digest == full[:16]


@pytest.mark.parametrize(
    "value, expected",
    [
        ([0.5, 0.25, 0.125], (0.5, 0.25, 0.125)),
        ((1, 2, 3), (1.0, 2.0, 3.0)),
        (0.5, (0.5, 0.5, 0.5)),
        ([0.5], (0.5, 0.5, 0.5)),
        ([0.5, 0.5], (9.0, 9.0, 9.0)),
        (["a", 1, 2], (9.0, 9.0, 9.0)),
        (None, (9.0, 9.0, 9.0)),
    ],
)
def test_a_mean_or_std_is_three_numbers_or_one_for_every_channel(value, expected):
    assert triple(value, (9.0, 9.0, 9.0)) == expected


def test_the_models_page_names_every_source():
    page = (SOURCES_FOLDER.parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    assert [name for name in source_names() if f"`{name}`" not in page] == []


def test_the_registry_and_the_layer_rules_sit_below_the_sources():
    """No cycle model_source -> sources -> target_layers -> model_source: nothing below imports the sources."""

    graph = import_graph()

    def imports(relative):
        return graph[".".join(Path(relative).with_suffix("").parts)]

    below = {"run/model_source.py", "run/target_layers.py", "run/devices.py"}
    assert [(name, t) for name in below for t in imports(name) if t.startswith(("run.sources", "run.models"))] == []
    for path in sorted(SOURCES_FOLDER.glob("*_source.py")):
        targets = imports(path.relative_to(PACKAGE))
        assert not {t for t in targets if t == "run.sources" or t.startswith(("run.models", "run.sources."))}, path
