"""The README documents every command and the exit codes the CLI uses."""

from pathlib import Path

from generator import errors
from generator.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_command_is_documented():
    for name in main.commands:
        assert f"python -m generator {name}" in README, name


def test_exit_codes_are_documented():
    for code in (errors.EXIT_OK, errors.EXIT_BUILD_FAILED, errors.EXIT_BAD_INPUT, errors.EXIT_INTERRUPTED):
        assert f"**{code}**" in README, code


def test_two_commands_of_the_front_door():
    assert "pip install -e . && python -m generator build" in README
    assert "pip install -e '.[test]' && pytest" in README
