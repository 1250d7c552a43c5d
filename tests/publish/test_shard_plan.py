"""The Pages workflow's shard plan (generator/publish/shard_plan.py): the cases counted, the environment read."""

import pytest
import yaml

from generator.publish.shard_plan import github_output, listed_case_count, shard_plan


@pytest.mark.parametrize(
    ("cases", "above", "parts", "expected"),
    [(0, 40, 4, []), (40, 40, 4, []), (41, 40, 4, [1, 2, 3, 4]), (3, 2, 3, [1, 2, 3]), (100, 40, 1, [])],
)
def test_shards_only_above_the_threshold_and_in_more_than_one_part(cases, above, parts, expected):
    assert shard_plan(cases, above, parts) == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("title: t\n", 0), ("cases: []\n", 0), ("cases: {a: 1}\n", 0), ("[1, 2]\n", 0)],
)
def test_a_manifest_without_a_list_of_cases_has_none(tmp_path, text, count):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(text)
    assert listed_case_count(manifest) == count


def test_the_output_line_reads_the_thresholds_from_the_environment(tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"cases": [{"image": f"{i}.png"} for i in range(5)]}))
    assert github_output(manifest, {}) == "shards=[]"
    assert github_output(manifest, {"SHARD_ABOVE": "4", "SHARDS": "2"}) == "shards=[1, 2]"
