"""`xai-report new DIR` (generator/publish/scaffold.py): the files it writes and what they say, the manifest that
loads, the offline example copied byte for byte, and a folder it refuses or only fills in. Fast: no model runs."""

import subprocess

import pytest

from generator import __version__
from generator.manifest.loader import load_manifest
from generator.publish import scaffold
from generator.resources import IncompleteInstallation, resource
from tests.helpers import REPO, run_cli_in_process

SCAFFOLD = {
    "manifest.yaml",
    "images/chelsea.png",
    "images/ATTRIBUTION.md",
    "README.md",
    ".gitignore",
    ".github/workflows/pages.yml",
}
OFFLINE_PHOTOS = ("chelsea.png", "coffee.png", "grace_hopper.jpg")


def files_below(folder):
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def snapshot(folder):
    """`folder` and every path below it, folders too, with its bytes and modification time."""
    return {
        path.relative_to(folder).as_posix(): (path.is_file() and path.read_bytes(), path.stat().st_mtime_ns)
        for path in [folder, *sorted(folder.rglob("*"))]
    }


def credited_photos(attribution):
    """The photos the table rows of ATTRIBUTION.md credit (the rows after each table's header and separator)."""
    rows = [line for line in attribution.splitlines() if line.startswith("|")][2:]
    return [row.split("|")[1].strip() for row in rows]


@pytest.fixture
def report(tmp_path):
    folder = tmp_path / "report"
    done = run_cli_in_process("new", folder)
    assert done.returncode == 0, done.stderr
    return folder, done


def test_writes_the_scaffold_and_says_what_and_what_next(report):
    folder, done = report
    assert files_below(folder) == SCAFFOLD
    wrote = {line.removeprefix("  wrote ") for line in done.stdout.splitlines() if line.startswith("  wrote ")}
    assert wrote == SCAFFOLD
    assert f"  cd {folder} && xai-report build  # then open site/index.html" in done.stdout.splitlines()
    assert f'pip install "xai-report=={__version__}"' in done.stdout
    assert done.stderr == ""


def test_the_folder_and_its_parents_are_created(tmp_path):
    folder = tmp_path / "a" / "b" / "report"
    assert run_cli_in_process("new", folder).returncode == 0
    assert files_below(folder) == SCAFFOLD


def test_the_manifest_loads_with_two_imagenet_resnets_two_methods_and_the_sample_photo(report):
    folder, _ = report
    manifest = load_manifest(folder / "manifest.yaml")
    assert [(m.source, m.name, m.weights, m.display_name) for m in manifest.models] == [
        ("torchvision", "resnet18", "IMAGENET1K_V1", "ResNet18"),
        ("torchvision", "resnet50", "IMAGENET1K_V1", "ResNet50"),
    ]
    assert manifest.explainers.gradcam.enabled and manifest.explainers.lime.enabled
    assert [(case.id, case.image, case.label) for case in manifest.cases] == [
        ("chelsea", "images/chelsea.png", "tabby")
    ]
    assert manifest.title and manifest.intro and manifest.seed == 0


def test_every_key_the_manifest_sets_is_commented_and_the_docs_are_named(report):
    folder, _ = report
    text = (folder / "manifest.yaml").read_text(encoding="utf-8")
    keys = [line for line in text.splitlines() if line[:1].isalpha()]
    assert [line.split(":")[0] for line in keys] == ["title", "intro", "seed", "models", "explainers", "cases"]
    assert [line for line in keys if "#" not in line] == []
    assert "docs/manifest.md" in text and "xai-report schema" in text


def test_the_sample_photo_is_the_offline_examples_with_its_credit_alone(report):
    folder, _ = report
    images = resource("examples/offline/images")
    assert (folder / "images" / "chelsea.png").read_bytes() == images.joinpath("chelsea.png").read_bytes()
    attribution = (folder / "images" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert credited_photos(attribution) == ["chelsea.png"]
    example_rows = images.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8").splitlines()
    (row,) = [line for line in attribution.splitlines() if line.startswith("| chelsea.png |")]
    assert row in example_rows and "CC0" in row


def git_ignores(folder, paths):
    """The paths of `paths` that git, in a repository at `folder`, ignores."""
    subprocess.run(["git", "init", "-q", folder], check=True)
    done = subprocess.run(["git", "-C", folder, "check-ignore", *paths], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return set(done.stdout.split())


def test_git_ignores_what_the_build_writes_and_keeps_what_the_author_writes(report):
    folder, _ = report
    generated = ["site/index.html", ".site.abc123/x.html", ".cache/results/x.npz", "index.md", "methods.md"]
    generated += ["comparison.md", "cases/chelsea.md", "figures/chelsea/a.png", "nav.yml", ".xai-report.lock"]
    authored = ["manifest.yaml", "images/chelsea.png", "images/ATTRIBUTION.md", "README.md", ".gitignore"]
    authored += [".github/workflows/pages.yml", "discussion/chelsea.md", "discussion/report/introduction.md"]
    assert git_ignores(folder, generated + authored) == set(generated)


def test_the_gitignore_mirrors_the_repositorys_entries_for_the_offline_example(report):
    """Each generated path the repository ignores in examples/offline/ is ignored here, discussion/ excepted: in
    the repository the example's discussions are the build's stubs, in a report folder they are the author's."""
    folder, _ = report
    repository = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    example = {line.removeprefix("/examples/offline") for line in repository if line.startswith("/examples/offline/")}
    ours = {line for line in (folder / ".gitignore").read_text(encoding="utf-8").splitlines() if line[:1] == "/"}
    assert ours == example - {"/discussion/"} | {"/site/", "/.site.*/", "/.cache/"}


def test_the_readme_says_how_to_build_preview_print_and_publish(report):
    folder, _ = report
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for said in (
        f'pip install "xai-report=={__version__}"',
        "xai-report build\n",
        "xai-report serve\n",
        "xai-report build --pdf\n",
        "site/report.pdf",
        "*Settings → Pages →\nBuild and deployment → Source: GitHub Actions*",
        ".github/workflows/pages.yml",
        "written to `site/`",
    ):
        assert said in readme, said


def test_no_placeholder_is_left_and_the_version_is_pinned(report):
    folder, _ = report
    for name in SCAFFOLD - {"images/chelsea.png"}:
        assert scaffold.REQUIREMENT_PLACEHOLDER not in (folder / name).read_text(encoding="utf-8"), name
    workflow = (folder / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    assert workflow.count(f'"xai-report=={__version__}"') == 3  # the plan, the shard and the build job


def test_the_offline_example_is_copied_byte_for_byte(tmp_path):
    folder = tmp_path / "offline"
    done = run_cli_in_process("new", folder, "--example", "offline")
    assert done.returncode == 0, done.stderr
    example = resource("examples/offline")
    photos = {f"images/{name}" for name in OFFLINE_PHOTOS}
    assert files_below(folder) == SCAFFOLD - {"images/chelsea.png"} | photos
    assert (folder / "manifest.yaml").read_bytes() == example.joinpath("manifest.yaml").read_bytes()
    for photo in photos:
        assert (folder / photo).read_bytes() == example.joinpath(photo).read_bytes(), photo
    assert credited_photos((folder / "images" / "ATTRIBUTION.md").read_text(encoding="utf-8")) == list(OFFLINE_PHOTOS)
    load_manifest(folder / "manifest.yaml")
    requirement = f"xai-report[offline]=={__version__}"
    assert f'pip install "{requirement}"' in (folder / "README.md").read_text(encoding="utf-8")
    assert f'pip install "{requirement}"' in (folder / ".github" / "workflows" / "pages.yml").read_text("utf-8")
    assert f'pip install "{requirement}"' in done.stdout


def test_a_non_empty_folder_is_refused_and_left_exactly_as_it_was(tmp_path):
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "images" / "cat.png").write_bytes(b"not really a png")
    before = snapshot(folder)
    done = run_cli_in_process("new", folder)
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {folder} is not empty: choose a new or empty folder, or pass --force to add the missing files "
        "to it (no existing file is overwritten)\n"
    )
    assert done.stdout == ""
    assert snapshot(folder) == before


def test_a_file_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "report"
    path.write_text("a file\n")
    done = run_cli_in_process("new", path, "--force")
    assert (done.returncode, done.stderr) == (
        2,
        f"Error: {path} is a file, not a folder: choose another folder for the report\n",
    )
    assert path.read_text() == "a file\n"


def test_force_fills_in_the_missing_files_and_keeps_the_authors(tmp_path):
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    (folder / "manifest.yaml").write_text("title: my own\n")
    (folder / "images" / "ATTRIBUTION.md").write_text("my credits\n")
    kept = {"manifest.yaml", "images/ATTRIBUTION.md"}
    before = snapshot(folder)
    done = run_cli_in_process("new", folder, "--force")
    assert done.returncode == 0, done.stderr
    after = snapshot(folder)
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    assert files_below(folder) == SCAFFOLD
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("  kept ")] == [
        "  kept manifest.yaml (it exists; not overwritten)",
        "  kept images/ATTRIBUTION.md (it exists; not overwritten)",
    ]
    assert {line.removeprefix("  wrote ") for line in lines if line.startswith("  wrote ")} == SCAFFOLD - kept


def test_an_unknown_example_is_a_usage_error_and_writes_nothing(tmp_path):
    folder = tmp_path / "report"
    done = run_cli_in_process("new", folder, "--example", "online")
    assert (done.returncode, done.stderr) == (2, "Error: --example 'online': no such example; choose one of: offline\n")
    assert not folder.exists()


def test_nothing_is_written_when_a_shipped_file_is_missing(tmp_path, monkeypatch):
    """Every file is read before the first is written: a broken installation leaves no half-written folder."""
    shipped = scaffold.resource

    def without_the_workflow(name):
        if name == "scaffold/pages.yml":  # the last file of the folder
            raise IncompleteInstallation(f"the folder or file {name!r}", "nowhere")
        return shipped(name)

    monkeypatch.setattr(scaffold, "resource", without_the_workflow)
    folder = tmp_path / "report"
    done = run_cli_in_process("new", folder)
    assert done.returncode == 1 and "installation is incomplete" in done.stderr
    assert not folder.exists()


def test_a_photo_without_a_credit_is_an_incomplete_installation():
    attribution = "# Credits\n\n| File | Licence |\n|---|---|\n| a.png | CC0 |\n| b.png | CC0 |\n"
    assert (
        scaffold.attribution_for(attribution, ["b.png"])
        == "# Credits\n\n| File | Licence |\n|---|---|\n| b.png | CC0 |\n"
    )
    with pytest.raises(IncompleteInstallation, match="the credit of c.png"):
        scaffold.attribution_for(attribution, ["b.png", "c.png"])
