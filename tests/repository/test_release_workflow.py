"""The release workflow (.github/workflows/release.yml): a pushed tag v* builds the sdist and the wheel, checks them
and that the tag names generator.__version__, and hands exactly those files to PyPI's official publishing action
with trusted publishing. Fast: reads YAML and runs the tag check's shell script."""

import os
import subprocess

import pytest
import yaml

import generator
from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
PUBLISH_ACTION = "pypa/gh-action-pypi-publish"
TAG_CHECK = "Check that the tag names the package's version"


@pytest.fixture(scope="module")
def workflow():
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "the workflow is not a YAML mapping"
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    if "on" not in document and True in document:
        document["on"] = document.pop(True)
    return document


def uses(step):
    return str(step.get("uses", "")).split("@")[0]


def one_step(job, action, version):
    steps = [step for step in job["steps"] if uses(step) == action]
    assert len(steps) == 1, f"expected one {action} step, found {len(steps)}"
    assert steps[0]["uses"] == f"{action}@{version}"
    return steps[0]


def commands(job):
    return [line.strip() for step in job["steps"] for line in str(step.get("run", "")).splitlines() if line.strip()]


def test_triggers_on_pushed_v_tags_only(workflow):
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}  # only the publish job may ask for more


def test_two_jobs_build_then_publish(workflow):
    assert set(workflow["jobs"]) == {"build", "publish"}
    assert workflow["jobs"]["publish"]["needs"] in ("build", ["build"])
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"


def test_build_job_checks_the_tag_then_builds_and_checks_both_artifacts(workflow):
    build = workflow["jobs"]["build"]
    one_step(build, "actions/checkout", "v4")
    assert one_step(build, "actions/setup-python", "v5")["with"]["python-version"] == "3.11"
    lines = commands(build)
    order = [lines.index(line) for line in ("python -m build", "python -m twine check --strict dist/*")]
    assert order == sorted(order)
    tag_check = next(i for i, step in enumerate(build["steps"]) if step.get("name") == TAG_CHECK)
    building = next(i for i, step in enumerate(build["steps"]) if step.get("run") == "python -m build")
    assert tag_check < building
    upload = one_step(build, "actions/upload-artifact", "v4")
    assert upload["with"]["name"] == "dist" and upload["with"]["path"].rstrip("/") == "dist"
    assert build["steps"].index(upload) == len(build["steps"]) - 1


@pytest.mark.parametrize(
    ("tag", "passes"), [(f"v{generator.__version__}", True), (f"v{generator.__version__}.1", False), ("v0", False)]
)
def test_tag_check_passes_only_the_packages_version(workflow, tag, passes):
    (step,) = [step for step in workflow["jobs"]["build"]["steps"] if step.get("name") == TAG_CHECK]
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_REF_NAME": tag},
    )
    assert (done.returncode == 0) is passes
    if not passes:
        assert f"does not match generator.__version__ {generator.__version__}" in done.stdout


def test_publish_job_uploads_the_built_files_with_trusted_publishing(workflow):
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["environment"]["url"] == "https://pypi.org/p/xai-report"
    download = one_step(publish, "actions/download-artifact", "v4")
    assert download["with"]["name"] == "dist" and download["with"]["path"].rstrip("/") == "dist"
    publishing = one_step(publish, PUBLISH_ACTION, "release/v1")
    assert "password" not in publishing.get("with", {})  # no API token: PyPI trusts the job's OIDC token
    assert publish["steps"].index(download) < publish["steps"].index(publishing)
    assert commands(publish) == []  # nothing rebuilt or changed between the check and the upload
