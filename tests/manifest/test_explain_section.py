"""The manifest's `explain:` section: its rules read with key paths and did-you-mean, and which cases were written
by hand under `cases:` (always explained) beside those `cases_from` generates."""

import json

import pytest
import yaml

from generator.manifest.loader import load_manifest, manifest_json_schema
from generator.manifest.selection_rules import Rule, RuleKind
from generator.utils.errors import ManifestError
from tests.helpers import CHELSEA, COFFEE, make_project, random_resnet_manifest


def folder_project(tmp_path, **extra):
    path = make_project(tmp_path, random_resnet_manifest(**extra), images=(CHELSEA, COFFEE))
    for name in ("chelsea.png", "coffee.png"):  # a class folder of the two photos for cases_from
        target = path.parent / "images" / "val" / "tabby"
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes((path.parent / "images" / name).read_bytes())
    return path


def test_the_rules_and_max_are_read(tmp_path):
    path = make_project(tmp_path, random_resnet_manifest(explain={"select": ["wrong", {"random": 3}], "max": 4}))
    explain = load_manifest(path).explain
    assert explain.select == (Rule(RuleKind.WRONG), Rule(RuleKind.RANDOM, 3)) and explain.max == 4
    assert load_manifest(make_project(tmp_path / "plain", random_resnet_manifest())).explain is None


def test_bad_rules_name_their_key_and_what_is_allowed(tmp_path):
    path = make_project(tmp_path, random_resnet_manifest(explain={"select": ["wrong", {"wrongg": 2}], "max": 0}))
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    problems = raised.value.problems
    assert any(p.startswith("explain.select: rule[1]: unknown rule 'wrongg'; did you mean 'wrong'?") for p in problems)
    assert any(p.startswith("explain.max:") for p in problems) and raised.value.exit_code == 2


def test_cases_written_by_hand_beside_cases_from(tmp_path):
    path = folder_project(
        tmp_path,
        cases=[{"id": "extra", "image": "images/chelsea.png", "label": "tabby"}],
        cases_from=[{"folder": "images/val", "label": "folder"}],
        explain={"select": ["wrong"]},
    )
    manifest = load_manifest(path)
    by_hand = {case.case_id: manifest.listed_by_hand(case.case_id) for case in manifest.cases}
    assert by_hand == {"tabby-chelsea": False, "tabby-coffee": False, "extra": True}
    data = yaml.safe_load(path.read_text())
    data["cases"] = [{"id": "tabby-coffee", "title": "Overridden by hand"}]  # an override is written by hand too
    path.write_text(yaml.safe_dump(data))
    manifest = load_manifest(path)
    assert [manifest.listed_by_hand(case.case_id) for case in manifest.cases] == [False, True]


def test_without_cases_from_every_case_is_written_by_hand(tmp_path):
    manifest = load_manifest(make_project(tmp_path, random_resnet_manifest(explain={"select": ["wrong"]})))
    assert all(manifest.listed_by_hand(case.case_id) for case in manifest.cases)


def test_the_schema_gives_editors_the_yaml_form_of_the_rules():
    schema = json.loads(manifest_json_schema())
    explain = json.dumps(schema)
    assert '"enum": ["wrong", "disagree"]' in explain and '"least_confident"' in explain
