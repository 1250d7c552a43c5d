"""Manifest validation: every problem at once, each with its key path; safe YAML; path confinement."""

import json
import os

import pytest

from generator.manifest.loader import load_manifest
from generator.utils.errors import ManifestError
from tests.helpers import make_project, run_cli


def problems_of(path):
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return caught.value.problems


def test_valid_manifest_has_reference_defaults(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/chelsea.png", "label": "tabby"}]})
    manifest = load_manifest(path)
    assert [m.name for m in manifest.models] == ["resnet18", "resnet50"]
    assert all(m.weights == "IMAGENET1K_V1" for m in manifest.models)
    assert manifest.preprocess.resize == (256, 256) and manifest.preprocess.crop == 224
    assert manifest.top_k == 5
    lime = manifest.explainers.lime
    assert (lime.num_samples, lime.hide_color, lime.top_labels, lime.num_features) == (1000, 0, 5, 5)
    case = manifest.cases[0]
    assert case.case_id == "chelsea"  # derived from the file name
    assert case.label == "tabby" and manifest.preprocess.mean is None  # each model's own normalisation


def test_labels_and_targets_by_name_or_index(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/chelsea.png", "label": 285, "targets": ["Tabby", 282]}]})
    case = load_manifest(path).cases[0]
    assert case.label == 285 and case.targets == ("Tabby", 282)  # resolved per model: tests/run/test_classes.py
    bad = make_project(tmp_path / "bad", {"cases": [{"image": "images/chelsea.png", "label": True, "targets": [-1]}]})
    problems = problems_of(bad)
    assert "cases[0].label: expected a class name or index, got True" in problems
    assert "cases[0].targets: class index -1 is negative" in problems


def test_several_problems_reported_at_once_with_key_paths(tmp_path):
    path = make_project(
        tmp_path,
        {
            "titel": "typo",
            "top_k": "five",
            "models": [{"name": "resnet18", "weigths": "random"}],
            "cases": [
                {"image": "images/chelsea.png"},
                {"image": "images/missing.jpg"},
                {"image": "images/chelsea.png", "id": "Not A Slug", "label": False},
            ],
        },
    )
    problems = problems_of(path)
    assert "titel: unknown key (check its spelling; `python -m generator schema` lists every key)" in problems
    assert "top_k: Input should be a valid integer, unable to parse string as an integer" in problems
    assert any(p.startswith("models[0].weigths: unknown key") for p in problems)
    assert "cases[1].image: file not found: images/missing.jpg" in problems
    assert any(p.startswith("cases[2].id: invalid case id 'Not A Slug'") for p in problems)
    assert any(p.startswith("cases[2].label: expected a class name or index") for p in problems)
    assert len(problems) == 6


def test_duplicate_case_ids(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/chelsea.png"}, {"image": "images/chelsea.png"}]})
    assert problems_of(path) == ["(top level): duplicate case id 'chelsea' (set a distinct id / display_name)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the manifest is empty: it needs at least a 'cases' list"),
        ("- just\n- a list\n", "the manifest must be a mapping of keys, got a list"),
        (
            "cases: [\n  {image: x.png\n",
            "YAML syntax error at line 3, column 1: expected ',' or '}', but got '<stream end>'",
        ),
        ("title: x\ncases: []\n", "cases: must list at least 1 item(s)"),
        ("title: x\n", "cases: required key is missing"),
    ],
)
def test_malformed_documents(tmp_path, text, expected):
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    assert problems_of(path) == [expected]


def test_alias_bomb_refused_before_expansion(tmp_path):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    lines.append("cases: *a8")
    path = tmp_path / "manifest.yaml"
    path.write_text("\n".join(lines))
    problems = problems_of(path)
    assert len(problems) == 1 and "aliases expand to" in problems[0] and "remove the anchors" in problems[0]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("../secret.png", "leaves the content folder"),
        ("images/../../secret.png", "leaves the content folder"),
        ("/etc/passwd.png", "absolute path"),
        ("images/notes.txt", "is not an image file name"),
    ],
)
def test_image_paths_confined_to_content(tmp_path, image, expected):
    path = make_project(tmp_path, {"cases": [{"image": image}]})
    (problem,) = problems_of(path)
    assert problem.startswith("cases[0].image: ") and expected in problem


def test_symlink_pointing_outside_is_refused(tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not really")
    path = make_project(tmp_path, {"cases": [{"image": "images/link.png"}]})
    os.symlink(outside, path.parent / "images" / "link.png")
    (problem,) = problems_of(path)
    assert problem.startswith("cases[0].image: 'images/link.png' is a link that points outside the content folder")


def test_cli_bad_manifest_exits_2_without_traceback(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/missing.png"}], "bogus": 1})
    result = run_cli("build", "--manifest", path, "--no-site")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {path}: 2 problem(s):",
        "  cases[0].image: file not found: images/missing.png",
        "  bogus: unknown key (check its spelling; `python -m generator schema` lists every key)",
    ]
    assert "Traceback" not in result.stderr


def test_schema_command_prints_json_schema():
    result = run_cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"title", "models", "cases", "preprocess", "explainers", "top_k"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
