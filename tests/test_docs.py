"""The README documents every command, the exit codes the CLI uses, every manifest key and every family."""

from pathlib import Path

import yaml
from pydantic import BaseModel

from generator.cli import main
from generator.manifest.schema import CaseSpec, Manifest, ModelSpec
from generator.run.target_layers import FAMILY_LAYERS
from generator.utils import errors

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_command_is_documented():
    for name in main.commands:
        assert f"python -m generator {name}" in README, name


def test_exit_codes_are_documented():
    for code in (0, errors.EXIT_BUILD_FAILED, errors.EXIT_BAD_INPUT, errors.EXIT_INTERRUPTED):
        assert f"**{code}**" in README, code


def test_two_commands_of_the_front_door():
    assert "pip install -e . && python -m generator build" in README
    assert "pip install -e '.[test]' && pytest" in README


def manifest_reference():
    """The YAML block under the README's "Manifest reference" heading, parsed."""
    section = README.split("## Manifest reference", 1)[1]
    return yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])


def test_manifest_reference_shows_every_key_of_the_schema():
    reference = manifest_reference()

    def missing(model, shown, path):
        for name, info in model.model_fields.items():
            if name not in shown:
                yield f"{path}{name}"
                continue
            nested = info.annotation
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                yield from missing(nested, shown[name], f"{path}{name}.")

    problems = list(missing(Manifest, reference, ""))
    problems += [f"models[].{n}" for n in ModelSpec.model_fields if n not in reference["models"][0]]
    problems += [f"cases[].{n}" for n in CaseSpec.model_fields if n not in reference["cases"][0]]
    assert problems == []
    Manifest.model_validate({**reference, "cases": [{"image": "images/x.png"}]})  # and it is a valid manifest


def test_every_family_with_a_default_layer_is_in_the_architecture_table():
    table = README.split("### Models and the Grad-CAM layer", 1)[1].split("\n\n| Family |", 1)[1]
    for prefix in FAMILY_LAYERS:
        assert f"`{prefix}" in table, prefix
