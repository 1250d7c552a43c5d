"""cases_from: cases generated from folders of images and CSV tables, expanded when the manifest is loaded (ids,
labels, order, overrides), and every bad source reported with the folder, the file or the row it comes from."""

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml
from PIL import Image

from generator.manifest.cases_from import glob_regex
from generator.manifest.loader import load_manifest
from generator.utils.errors import ManifestError
from tests.helpers import CHELSEA, build, make_project, random_resnet_manifest, run_cli

CLASSES = ("tabby", "espresso", "Egyptian cat")
NAMES = ("tête de chat 1.png", "tête de chat 2.png", "Zoë (3).png", "a photo.jpg")


def tiny_image(path, size=32):
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(CHELSEA) as image:
        image.convert("RGB").resize((size, size)).save(path)


def project(tmp_path, manifest, files=()):
    """A manifest folder `content/` with a tiny image at each of `files` (paths relative to it)."""
    content = tmp_path / "content"
    for name in files:
        tiny_image(content / name)
    content.mkdir(parents=True, exist_ok=True)
    path = content / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def image_folder(classes=CLASSES, names=NAMES, root="images/val"):
    return [f"{root}/{label}/{name}" for label in classes for name in names]


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")


def problems_of(path):
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return caught.value.problems


def cases_of(path):
    return [case.model_dump(exclude_defaults=True) for case in load_manifest(path).cases]


def test_a_folder_of_three_classes_gives_twelve_cases_sorted_with_their_folder_labels(tmp_path):
    path = project(tmp_path, {"cases_from": [{"folder": "images/val", "label": "folder"}]}, image_folder())
    cases = load_manifest(path).cases
    assert [(case.image, case.label) for case in cases] == [
        (f"images/val/{label}/{name}", label)
        for label in ("Egyptian cat", "espresso", "tabby")  # sorted by path ("E" before "e")
        for name in ("Zoë (3).png", "a photo.jpg", "tête de chat 1.png", "tête de chat 2.png")
    ]
    assert [case.case_id for case in cases[:4]] == [
        "egyptian-cat-zoe-3",
        "egyptian-cat-a-photo",
        "egyptian-cat-tete-de-chat-1",
        "egyptian-cat-tete-de-chat-2",
    ]
    assert cases[0].title == "Egyptian cat/Zoë (3)" and cases[0].targets == ()
    assert [case.case_id for case in load_manifest(path).cases] == [case.case_id for case in cases]  # stable


def test_without_label_a_folder_gives_no_ground_truth(tmp_path):
    path = project(tmp_path, {"cases_from": [{"folder": "images/val/tabby"}]}, image_folder())
    assert cases_of(path) == [
        {"image": f"images/val/tabby/{name}", "id": case_id, "title": title}
        for name, case_id, title in (
            ("Zoë (3).png", "zoe-3", "Zoë (3)"),
            ("a photo.jpg", "a-photo", "a photo"),
            ("tête de chat 1.png", "tete-de-chat-1", "tête de chat 1"),
            ("tête de chat 2.png", "tete-de-chat-2", "tête de chat 2"),
        )
    ]


def test_label_folder_of_a_folder_without_class_folders_is_its_own_name(tmp_path):
    path = project(tmp_path, {"cases_from": [{"folder": "images/val/tabby", "label": "folder"}]}, image_folder())
    assert {case.label for case in load_manifest(path).cases} == {"tabby"}


def test_hidden_files_other_files_and_upper_case_suffixes(tmp_path):
    files = ["pics/a.PNG", "pics/.hidden.png", "pics/.thumbs/b.png", "pics/sub/c.webp"]
    path = project(tmp_path, {"cases_from": [{"folder": "pics"}]}, files)
    (path.parent / "pics" / "notes.txt").write_text("not an image")
    assert [case.image for case in load_manifest(path).cases] == ["pics/a.PNG", "pics/sub/c.webp"]


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("*.jpg", [f"images/val/{label}/a photo.jpg" for label in ("Egyptian cat", "espresso", "tabby")]),
        (
            "**/tête*.png",
            [f"images/val/{label}/tête de chat {n}.png" for label in ("espresso", "tabby") for n in (1, 2)],
        ),
        ("tabby/*", [f"images/val/tabby/{name}" for name in sorted(NAMES)]),
        ("espresso/t?te de chat [!2].png", ["images/val/espresso/tête de chat 1.png"]),
    ],
)
def test_glob_filters_the_paths_below_the_folder(tmp_path, glob, expected):
    files = image_folder(names=NAMES[2:]) + image_folder(classes=("tabby", "espresso"), names=NAMES[:2])
    path = project(tmp_path, {"cases_from": [{"folder": "images/val", "glob": glob}]}, sorted(set(files)))
    assert [case.image for case in load_manifest(path).cases] == expected


def test_glob_patterns():
    assert glob_regex("*.jpg").fullmatch("a/b/c.jpg") and not glob_regex("*.jpg").fullmatch("c.jpg.png")
    assert glob_regex("a/*.png").fullmatch("a/x.png") and not glob_regex("a/*.png").fullmatch("a/b/x.png")
    assert glob_regex("a/**/x.png").fullmatch("a/x.png") and glob_regex("a/**/x.png").fullmatch("a/b/c/x.png")
    assert glob_regex("a/**").fullmatch("a/b/c.png") and not glob_regex("a/**").fullmatch("b/c.png")
    assert glob_regex("[ab]+.png").fullmatch("a+.png") and not glob_regex("[ab]+.png").fullmatch("c+.png")


def test_a_csv_source_with_every_optional_column(tmp_path):
    files = ["images/chelsea.png", "images/coffee cup.png", "images/crème.png", "images/plain.png"]
    path = project(tmp_path, {"cases_from": [{"csv": "cases.csv"}]}, files)
    write_csv(
        path.parent / "cases.csv",
        "\ufeffImage, label ,title,id,targets\n"  # a spreadsheet's byte order mark; names trimmed, any case
        "images/chelsea.png,tabby,Chelsea the cat,chelsea,tiger cat; 285\n"
        'images/coffee cup.png,967,"A cup, of coffee",,\n'
        "\n"
        ",,,,\n"
        "images/crème.png,,,,espresso\n"
        "images/plain.png\n",
    )
    assert cases_of(path) == [
        {"image": "images/chelsea.png", "id": "chelsea", "title": "Chelsea the cat", "label": "tabby",
         "targets": ("tiger cat", 285)},
        {"image": "images/coffee cup.png", "id": "images-coffee-cup", "title": "A cup, of coffee", "label": 967},
        {"image": "images/crème.png", "id": "images-creme", "targets": ("espresso",)},
        {"image": "images/plain.png", "id": "images-plain"},
    ]  # fmt: skip


def test_cases_override_generated_ones_by_id_and_add_others(tmp_path):
    manifest = {
        "cases_from": [{"folder": "images/val", "label": "folder"}],
        "cases": [
            {"image": "images/extra.png", "title": "Added first"},
            {"id": "tabby-a-photo", "title": "The best tabby", "targets": ["tiger cat"]},
            {"id": "espresso-zoe-3", "label": None},
            {"image": "images/val/tabby/a photo.jpg", "id": "again"},
        ],
    }
    path = project(
        tmp_path, manifest, image_folder(classes=("tabby", "espresso"), names=NAMES[2:]) + ["images/extra.png"]
    )
    assert cases_of(path) == [
        {"image": "images/val/espresso/Zoë (3).png", "id": "espresso-zoe-3", "title": "espresso/Zoë (3)"},
        {"image": "images/val/espresso/a photo.jpg", "id": "espresso-a-photo", "title": "espresso/a photo",
         "label": "espresso"},
        {"image": "images/val/tabby/Zoë (3).png", "id": "tabby-zoe-3", "title": "tabby/Zoë (3)", "label": "tabby"},
        {"image": "images/val/tabby/a photo.jpg", "id": "tabby-a-photo", "title": "The best tabby", "label": "tabby",
         "targets": ("tiger cat",)},
        {"image": "images/extra.png", "title": "Added first"},
        {"image": "images/val/tabby/a photo.jpg", "id": "again"},
    ]  # fmt: skip


def test_a_second_entry_with_the_same_id_adds_a_case_and_needs_its_image(tmp_path):
    manifest = {"cases_from": [{"folder": "images"}], "cases": [{"id": "a", "title": "x"}, {"id": "a", "title": "y"}]}
    path = project(tmp_path, manifest, ["images/a.png"])
    assert problems_of(path) == ["cases[1].image: required key is missing"]  # not an override: an added case


def test_clashing_ids_get_a_short_stable_suffix_from_the_path(tmp_path):
    files = ["images/cat 1.png", "images/cat-1.png", "images/Cat_1.jpg", "other/cat 1.png"]
    manifest = {"cases_from": [{"folder": "images"}, {"folder": "other"}, {"csv": "cases.csv"}]}
    path = project(tmp_path, manifest, files)
    write_csv(path.parent / "cases.csv", "image,id\nimages/cat-1.png,cat-1\nother/cat 1.png,\n")

    def suffix(image):
        return hashlib.sha256(image.encode()).hexdigest()[:6]

    ids = [case.case_id for case in load_manifest(path).cases]
    assert ids == [
        "cat_1",  # images/Cat_1.jpg, sorted first ("C" < "c"): "_" is kept, so no clash
        f"cat-1-{suffix('images/cat 1.png')}",  # "cat-1" is the table's given id: taken
        f"cat-1-{suffix('images/cat-1.png')}",
        f"cat-1-{suffix('other/cat 1.png')}",
        "cat-1",
        "other-cat-1",
    ]
    assert len(set(ids)) == len(ids)


def test_the_same_image_twice_gets_two_ids(tmp_path):
    path = project(tmp_path, {"cases_from": [{"folder": "images"}, {"folder": "images"}]}, ["images/x.png"])
    first, second = load_manifest(path).cases
    assert (first.case_id, second.case_id) == ("x", f"x-{hashlib.sha256(b'images/x.png').hexdigest()[:6]}")


def test_a_long_non_ascii_name_gives_a_valid_id(tmp_path):
    long_name = "é" * 5 + "x" * 80
    files = [f"images/{long_name}.png", f"images/{long_name}y.png", "images/猫.png", "images/犬.png"]
    path = project(tmp_path, {"cases_from": [{"folder": "images"}]}, files)
    ids = [case.case_id for case in load_manifest(path).cases]
    assert ids[0] == "eeeee" + "x" * 59 and len(ids[1]) == 64 and ids[1].startswith("eeeeex")
    assert ids[2] == "case" and ids[3].startswith("case-") and len(set(ids)) == 4


@pytest.mark.parametrize(
    ("source", "files", "table", "expected"),
    [
        ({"folder": "empty"}, ["other/x.png"], None, "cases_from[0] (empty): folder not found: empty"),
        (
            {"folder": "other"},
            ["other/x.png"],
            None,
            None,
        ),
        ({"folder": "pics"}, ["other/x.png", "pics/notes/"], None, "cases_from[0] (pics): no image below the folder"),
        (
            {"folder": "other", "glob": "*.jpg"},
            ["other/x.png"],
            None,
            "cases_from[0] (other): no image below the folder matches glob '*.jpg'",
        ),
        ({"folder": "cases.csv"}, [], "image\n", "cases_from[0] (cases.csv): folder not found: cases.csv (a table"),
        ({"folder": "../outside"}, [], None, "cases_from[0] (../outside): path '../outside' leaves the content folder"),
        ({"folder": "/tmp"}, [], None, "cases_from[0] (/tmp): absolute path '/tmp' not allowed"),
        ({"csv": "missing.csv"}, [], None, "cases_from[0] (missing.csv): file not found: missing.csv"),
        ({"csv": "../cases.csv"}, [], None, "cases_from[0] (../cases.csv): path '../cases.csv' leaves the content"),
        ({"csv": "cases.csv"}, [], "", "cases_from[0] (cases.csv): the table is empty: it needs a header row"),
        ({"csv": "cases.csv"}, [], "image,label\n", "cases_from[0] (cases.csv): no rows below the header"),
        (
            {"csv": "cases.csv"},
            [],
            "file,label\nx.png,tabby\n",
            "cases_from[0] (cases.csv): unknown column 'file' (the columns are: image, label, title, id, targets)",
        ),
        (
            {"csv": "cases.csv"},
            [],
            "label,title\ntabby,x\n",
            "cases_from[0] (cases.csv): no 'image' column (the header has: label, title)",
        ),
        ({"csv": "cases.csv"}, [], "image,image\nx.png,x.png\n", "cases_from[0] (cases.csv): column 'image' appears"),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image,label\nimages/a.png,tabby\nx.png,tabby\n",
            "cases_from[0] (cases.csv, row 3): image: file not found: x.png",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image,label\nimages/a.png,tabby\n,tabby\n",
            "cases_from[0] (cases.csv, row 3): the image cell is empty",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image,label\nimages/a.png,tabby,extra\n",
            "cases_from[0] (cases.csv, row 2): 3 cells, but the header has 2 columns",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            'image,label\n"images/a.png\n',
            "cases_from[0] (cases.csv): not a CSV table (line 2): unexpected end of data",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image\n../images/a.png\n",
            "cases_from[0] (cases.csv, row 2): image: path '../images/a.png' leaves the content folder",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image\nimages/a.txt\n",
            "cases_from[0] (cases.csv, row 2): image: 'images/a.txt' is not an image file name",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png", "images/b.png"],
            "image,id\nimages/a.png,same\nimages/b.png,same\n",
            "cases_from[0] (cases.csv, row 3): id 'same' is already row 2's",
        ),
        (
            {"csv": "cases.csv"},
            ["images/a.png"],
            "image,id\nimages/a.png,Not A Slug\n",
            "cases_from[0] (cases.csv, row 2): id: invalid case id 'Not A Slug'",
        ),
        ({}, [], None, "cases_from[0]: a source of cases needs a 'folder' key or a 'csv' key"),
        ({"csv": "cases.csv", "glob": "*.png"}, [], "image\n", "cases_from[0].glob: unknown key"),
        ({"folder": "x", "label": "name"}, [], None, "cases_from[0].label: Input should be 'folder'"),
    ],
)
def test_each_bad_source_has_its_own_message(tmp_path, source, files, table, expected):
    path = project(tmp_path, {"cases_from": [source]}, [name for name in files if not name.endswith("/")])
    for name in files:
        if name.endswith("/"):
            (path.parent / name).mkdir(parents=True)
    if table is not None:
        write_csv(path.parent / "cases.csv", table)
    if expected is None:  # the control: the same layout with a good source loads
        assert len(load_manifest(path).cases) == 1
        return
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(expected.rstrip("\n")), problems


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    tiny_image(outside / "x.png")
    path = project(tmp_path, {"cases_from": [{"folder": "pics"}, {"folder": "linked"}]}, ["pics/a.png"])
    os.symlink(outside / "x.png", path.parent / "pics" / "link.png")
    os.symlink(outside, path.parent / "linked")
    problems = problems_of(path)
    assert problems[0].startswith("cases_from[0] (pics/link.png): 'pics/link.png' is a link that points outside")
    assert problems[1].startswith("cases_from[1] (linked): 'linked' is a link that points outside the content folder")


def test_every_problem_at_once_with_the_others_of_the_manifest(tmp_path):
    manifest = {
        "cases_from": [{"folder": "images"}, {"folder": "nowhere"}, {"csv": "cases.csv"}],
        "cases": [{"image": "images/missing.png"}],
        "top_k": 0,
    }
    path = project(tmp_path, manifest, ["images/a.png"])
    write_csv(path.parent / "cases.csv", "image\nimages/b.png\n")
    assert problems_of(path) == [
        "cases_from[1] (nowhere): folder not found: nowhere",
        "cases_from[2] (cases.csv, row 2): image: file not found: images/b.png",
        "top_k: Input should be greater than or equal to 1",
        "cases[0].image: file not found: images/missing.png",
    ]


def test_a_manifest_needs_cases_or_cases_from(tmp_path):
    path = project(tmp_path, {"title": "x"})
    assert problems_of(path) == ["cases: required key is missing"]
    path = project(tmp_path, {"title": "x", "cases_from": []})
    assert problems_of(path) == ["cases: must list at least 1 item(s)"]
    path = project(tmp_path, {"cases_from": [{"folder": "images"}]}, ["images/a.png"])
    assert [case.case_id for case in load_manifest(path).cases] == ["a"]


def test_the_schema_command_shows_the_new_keys():
    result = run_cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"cases", "cases_from"} <= set(schema["properties"])
    definitions = schema["$defs"]
    assert set(definitions["FolderCases"]["properties"]) == {"folder", "label", "glob"}
    assert set(definitions["CsvCases"]["properties"]) == {"csv"}
    assert all(
        item.get("description")
        for name in ("FolderCases", "CsvCases")
        for item in definitions[name]["properties"].values()
    )


def test_a_bad_source_exits_2_without_traceback(tmp_path):
    path = project(tmp_path, {"cases_from": [{"folder": "nowhere"}]})
    result = run_cli("check", "--manifest", path)
    assert result.returncode == 2
    assert "cases_from[0] (nowhere): folder not found: nowhere" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_folder_and_a_table_build_their_case_pages_with_their_ground_truth(tmp_path):
    manifest = random_resnet_manifest()
    del manifest["cases"]
    manifest["cases_from"] = [{"folder": "images/val", "label": "folder"}, {"csv": "extra.csv"}]
    path = make_project(tmp_path, manifest, images=())
    for name in image_folder(names=NAMES[:3] + ("a photo.png",)):
        tiny_image(path.parent / name, size=48)
    for name in ("one.png", "dos ñ.png"):
        tiny_image(path.parent / "images" / "extra" / name, size=48)
    write_csv(
        path.parent / "extra.csv",
        "image,label,title\nimages/extra/one.png,espresso,First\nimages/extra/dos ñ.png,tabby,Second\n",
    )
    result = build(path, site=False)
    assert result.returncode == 0, result.stderr
    pages = sorted(Path(path.parent, "cases").glob("*.md"))
    assert len(pages) == 14  # 3 classes x 4 images from the folder, 2 rows of the table
    csv_page = (path.parent / "cases" / "images-extra-dos-n.md").read_text(encoding="utf-8")
    assert "**Ground truth:** tabby" in csv_page and "# Second" in csv_page
    assert (path.parent / "cases" / "egyptian-cat-tete-de-chat-1.md").read_text(encoding="utf-8").count("Egyptian cat")
