"""The GitHub Pages workflow (.github/workflows/pages.yml): triggers, permissions, the documented
commands, the caches and the official Pages actions. Fast: reads YAML and Markdown only."""

import ast
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from generator.manifest.report_folder import ReportFolder, TagTolerantLoader  # reads mkdocs.yml's tagged values

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "pages.yml"
README = REPO_ROOT / "README.md"
INSTALL_COMMAND = "pip install -e ."
BUILD_COMMAND = "python -m generator build"


@pytest.fixture(scope="module")
def workflow():
    text = WORKFLOW.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    assert isinstance(document, dict), "the workflow is not a YAML mapping"
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    if "on" not in document and True in document:
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def build_job(workflow):
    return workflow["jobs"]["build"]


@pytest.fixture(scope="module")
def deploy_job(workflow):
    return workflow["jobs"]["deploy"]


def steps_using(job, action):
    """The steps of `job` that use `action` ("actions/checkout"), any version."""
    return [step for step in job["steps"] if str(step.get("uses", "")).split("@")[0] == action]


def one_step(job, action, version):
    steps = steps_using(job, action)
    assert len(steps) == 1, f"expected one {action} step, found {len(steps)}"
    assert steps[0]["uses"] == f"{action}@{version}"
    return steps[0]


def run_commands(job):
    """Every command line of the job's `run:` steps, in order, without blank lines and comments."""
    commands = []
    for index, step in enumerate(job["steps"]):
        for line in str(step.get("run", "")).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append((index, line))
    return commands


def step_index(job, action):
    return next(i for i, step in enumerate(job["steps"]) if str(step.get("uses", "")).split("@")[0] == action)


def test_workflow_is_valid_yaml_with_its_jobs(workflow):
    assert workflow.get("name")
    assert set(workflow["jobs"]) == {"plan", "shard", "build", "deploy"}
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert isinstance(job["steps"], list) and job["steps"]


def test_triggers_push_to_main_and_manual(workflow):
    triggers = workflow["on"]
    assert set(triggers) == {"push", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]


def test_permissions_and_concurrency(workflow):
    assert workflow["permissions"] == {"pages": "write", "id-token": "write", "contents": "read"}
    assert workflow["concurrency"]["group"] == "pages"
    assert workflow["concurrency"].get("cancel-in-progress") is not True  # never cut a deployment short


def test_build_job_sets_up_python_311_with_pip_cache(build_job):
    one_step(build_job, "actions/checkout", "v4")
    setup = one_step(build_job, "actions/setup-python", "v5")
    assert setup["with"]["python-version"] == "3.11" and isinstance(setup["with"]["python-version"], str)
    assert setup["with"]["cache"] == "pip"
    assert step_index(build_job, "actions/checkout") < step_index(build_job, "actions/setup-python")


def test_build_job_runs_exactly_the_documented_commands(build_job):
    commands = [line for _, line in run_commands(build_job)]
    assert commands == [INSTALL_COMMAND, BUILD_COMMAND]
    indexes = {line: index for index, line in run_commands(build_job)}
    assert step_index(build_job, "actions/setup-python") < indexes[INSTALL_COMMAND] < indexes[BUILD_COMMAND]
    assert indexes[BUILD_COMMAND] < step_index(build_job, "actions/configure-pages")
    assert indexes[BUILD_COMMAND] < step_index(build_job, "actions/upload-pages-artifact")


def readme_commands(text):
    """Commands the README shows: inline code spans, and the commands of fenced code blocks' lines
    (split at && and ;, without a leading "$ " prompt or a trailing comment)."""
    commands, fenced = set(), False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            line = re.sub(r"\s+#.*$", "", line.strip())
            for command in re.split(r"\s*(?:&&|;)\s*", line):  # `pip install -e . && python -m generator build`
                commands.add(re.sub(r"^\$\s+", "", command))
        else:
            commands.update(span.strip() for span in re.findall(r"`([^`\n]+)`", line))
    return commands


def test_readme_documents_the_same_commands():
    if not README.is_file():
        pytest.skip("README.md does not exist yet: cannot check that it documents the workflow's commands")
    documented = readme_commands(README.read_text(encoding="utf-8"))
    assert INSTALL_COMMAND in documented, f"README.md does not show `{INSTALL_COMMAND}` as a command"
    assert BUILD_COMMAND in documented, f"README.md does not show `{BUILD_COMMAND}` as a command"


def test_upload_path_is_the_site_dir(build_job):
    from generator.cli import build

    configure = one_step(build_job, "actions/configure-pages", "v5")
    upload = one_step(build_job, "actions/upload-pages-artifact", "v3")
    assert step_index(build_job, "actions/configure-pages") < step_index(build_job, "actions/upload-pages-artifact")
    assert configure.get("with") is None or "path" not in configure["with"]
    assert upload["with"]["path"] == "site"
    # ...which is where `python -m generator build` writes the site without options, at the repository's root
    defaults = {param.name: param.default for param in build.params}
    assert defaults["site_dir"] is None  # the report folder's
    assert ReportFolder.here(REPO_ROOT).site_dir.resolve() == (REPO_ROOT / "site").resolve()
    mkdocs = yaml.load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=TagTolerantLoader)
    assert "site_dir" not in mkdocs


def test_deploy_job_uses_deploy_pages(deploy_job):
    assert deploy_job["needs"] in ("build", ["build"])
    deploy = one_step(deploy_job, "actions/deploy-pages", "v4")
    assert deploy["id"] == "deployment"
    assert deploy_job["environment"]["name"] == "github-pages"
    assert deploy_job["environment"]["url"].replace(" ", "") == "${{steps.deployment.outputs.page_url}}"


def cache_step(build_job):
    return one_step(build_job, "actions/cache", "v4")


def cached_paths(build_job):
    return [line.strip() for line in cache_step(build_job)["with"]["path"].splitlines() if line.strip()]


def test_caches_cover_torch_hub_and_result_cache(build_job):
    paths = cached_paths(build_job)
    assert "~/.cache/torch" in paths
    assert ".cache" in paths
    # torch.hub reads TORCH_HOME (and expands ~), so the weights land in the cached folder.
    env = {
        **build_job.get("env", {}),
        **next(s for s in build_job["steps"] if s.get("run") == BUILD_COMMAND).get("env", {}),
    }
    assert env.get("TORCH_HOME") == "~/.cache/torch"
    # The cache is restored before the build runs.
    steps = build_job["steps"]
    build_index = next(i for i, step in enumerate(steps) if step.get("run") == BUILD_COMMAND)
    assert step_index(build_job, "actions/cache") < build_index


def test_cache_key_hashes_the_manifest_and_images(build_job):
    from generator.cli import build

    key = cache_step(build_job)["with"]["key"]
    hashed = re.search(r"hashFiles\(([^)]*)\)", key)
    assert hashed, f"the cache key does not hash files: {key}"
    patterns = [p.strip().strip("'\"") for p in hashed.group(1).split(",")]
    assert dict((p.name, p.default) for p in build.params)["manifest"] is None  # the report folder's
    manifest = PurePosixPath(ReportFolder.here(REPO_ROOT).manifest.relative_to(REPO_ROOT))
    assert str(manifest) in patterns, "the cache key does not hash the default manifest"
    assert any(p.startswith(f"{manifest.parent}/images/") for p in patterns), "the cache key does not hash the images"


def test_result_cache_lives_under_dot_cache():
    """generator/cache/store.py's DEFAULT_ROOT is inside the cached `.cache` folder (read without importing torch)."""
    source = REPO_ROOT / "generator" / "cache" / "store.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DEFAULT_ROOT" for t in node.targets):
            call = node.value
            assert isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
            assert PurePosixPath(call.args[0].value).parts[0] == ".cache"
            return
    pytest.fail("generator/cache/store.py has no DEFAULT_ROOT")


def test_large_manifests_are_computed_in_shards_and_merged_by_copying(workflow, build_job):
    plan, shard = workflow["jobs"]["plan"], workflow["jobs"]["shard"]
    assert plan["outputs"]["shards"].replace(" ", "") == "${{steps.plan.outputs.shards}}"
    assert shard["needs"] == "plan" and "fromJSON(needs.plan.outputs.shards)" in shard["strategy"]["matrix"]["shard"]
    commands = [line for _, line in run_commands(shard)]
    assert INSTALL_COMMAND in commands
    (computed,) = [c for c in commands if c.startswith(BUILD_COMMAND)]
    assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in computed and "--cache-dir shard-cache" in computed
    upload = one_step(shard, "actions/upload-artifact", "v4")
    assert upload["with"]["path"] == "shard-cache" and "${{ matrix.shard }}" in upload["with"]["name"]
    # the build job waits for the shards (or their absence), merges every shard's cache into the result cache
    assert set(build_job["needs"]) == {"plan", "shard"} and "needs.shard.result != 'failure'" in build_job["if"]
    merge = one_step(build_job, "actions/download-artifact", "v4")
    assert merge["with"]["merge-multiple"] is True and merge["with"]["pattern"] == "results-shard-*"
    assert PurePosixPath(merge["with"]["path"]) == PurePosixPath(".cache/results")
    build_index = next(i for i, step in enumerate(build_job["steps"]) if step.get("run") == BUILD_COMMAND)
    assert step_index(build_job, "actions/cache") < step_index(build_job, "actions/download-artifact") < build_index


def plan_command(plan_job):
    """The plan job's command that prints the shard plan (the line after its install)."""
    (command,) = [line for _, line in run_commands(plan_job) if not line.startswith("pip ")]
    return command


@pytest.mark.parametrize(("cases", "expected"), [(0, "[]"), (40, "[]"), (41, "[1, 2, 3, 4]")])
def test_shard_plan_follows_the_manifest_size(workflow, tmp_path, cases, expected):
    """The plan job's own command, run as the job runs it (from the checkout), on a manifest of `cases` cases."""
    import shlex
    import subprocess
    import sys

    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"cases": [{"id": f"c{i}", "image": "x.png"} for i in range(cases)]}))
    command = plan_command(workflow["jobs"]["plan"]).replace("content/manifest.yaml", str(manifest))
    python, *arguments = shlex.split(command.split(">>")[0])
    assert python == "python"
    done = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"shards={expected}"


def test_shard_plan_needs_nothing_but_pyyaml():
    """The plan job installs PyYAML alone (and a scaffold's, the tool with --no-deps): the module imports no more."""
    import subprocess
    import sys

    heavy = ("torch", "numpy", "click", "pydantic", "mkdocs", "jinja2")
    probe = f"import sys, generator.publish.shard_plan; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# The workflow `xai-report new` writes into a report folder (generator/resources/scaffold/pages.yml): the same
# jobs and steps as the repository's, with the installed tool in place of the checkout, in a repository whose
# root is the report folder.
SCAFFOLD_WORKFLOW = ".github/workflows/pages.yml"


def scaffold_workflow_text(example):
    from generator.publish.scaffold import scaffold_files

    (text,) = [f.data.decode("utf-8") for f in scaffold_files(example) if str(f.path) == SCAFFOLD_WORKFLOW]
    return text


def as_mapping(text):
    document = yaml.safe_load(text)
    document["on"] = document.pop(True, document.get("on"))
    return document


@pytest.mark.parametrize("example", [None, "offline"])
def test_the_scaffold_workflow_is_the_repositorys_with_the_installed_tool(example):
    """Every difference is listed here: the install, the command, the paths of a folder that is the manifest's."""
    from generator.publish.scaffold import requirement

    text = scaffold_workflow_text(example)
    pinned = requirement(example)
    differences = {
        f'pip install --no-deps "{pinned}" pyyaml': "pip install pyyaml",
        f'pip install "{pinned}"': INSTALL_COMMAND,
        "xai-report build": BUILD_COMMAND,
        "generator.publish.shard_plan manifest.yaml": "generator.publish.shard_plan content/manifest.yaml",
        "cache-dependency-path: .github/workflows/pages.yml": "cache-dependency-path: pyproject.toml",
        "hashFiles('manifest.yaml')": "hashFiles('content/manifest.yaml')",
        "hashFiles('manifest.yaml', 'images/**')": "hashFiles('content/manifest.yaml', 'content/images/**')",
    }
    for scaffolded, repository in differences.items():
        assert scaffolded in text, scaffolded
        text = text.replace(scaffolded, repository)
    assert as_mapping(text) == as_mapping(WORKFLOW.read_text(encoding="utf-8"))


@pytest.mark.parametrize("example", [None, "offline"])
def test_the_scaffold_workflow_builds_in_the_report_folder(example):
    """No step moves out of the repository's root, which is the report folder: `xai-report build` finds the
    manifest there, and writes site/ and .cache/ where the later steps read them."""
    document = as_mapping(scaffold_workflow_text(example))
    assert "defaults" not in document
    for name, job in document["jobs"].items():
        assert "defaults" not in job, name
        assert [step for step in job["steps"] if "working-directory" in step] == [], name
    commands = [line for _, line in run_commands(document["jobs"]["build"])]
    assert "xai-report build" in commands and not [c for c in commands if "--manifest" in c]


def test_the_scaffold_plan_runs_in_the_report_folder(tmp_path):
    """The scaffold's plan command, run where the job runs it: in a report folder, with the tool importable."""
    import os
    import shlex
    import subprocess
    import sys

    from generator.publish.scaffold import create_report_folder

    folder = tmp_path / "report"
    create_report_folder(folder)
    command = plan_command(as_mapping(scaffold_workflow_text(None))["jobs"]["plan"])
    python, *arguments = shlex.split(command.split(">>")[0])
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SHARD_ABOVE="0")  # the installed tool
    done = subprocess.run(
        [sys.executable, *arguments], cwd=folder, env=environment, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "shards=[1, 2, 3, 4]"  # the sample manifest's one case, above 0
