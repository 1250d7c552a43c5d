"""The package reads as the pipeline: sub-packages in the order data flows, none importing a later stage."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "generator"
# the order data flows in; the top-level modules (cli, build, check, compute) run the stages and come last
STAGES = ("utils", "manifest", "run", "explain", "measure", "cache", "render", "publish")
COMMANDS = len(STAGES)


def stage_of(module_path):
    """The stage index of a module, from its dotted path inside the package (e.g. "explain.lime")."""
    first = module_path.split(".")[0]
    return STAGES.index(first) if first in STAGES else COMMANDS


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE).with_suffix("").parts), path


def imported(tree):
    """Every generator module a module imports (at the top or inside a function), as paths inside the package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("generator."):
                    yield alias.name.removeprefix("generator.")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "generator":
                yield from (alias.name for alias in node.names if alias.name != "__version__")
            elif node.module.startswith("generator."):
                package = node.module.removeprefix("generator.")
                for alias in node.names:  # `from generator.utils import figures` imports utils.figures
                    submodule = PACKAGE.joinpath(*package.split("."), f"{alias.name}.py")
                    yield f"{package}.{alias.name}" if submodule.is_file() else package


def test_no_module_imports_a_later_stage():
    problems = []
    for name, path in modules():
        for target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            if stage_of(target) > stage_of(name):
                problems.append(f"generator.{name} (stage {stage_of(name)}) imports generator.{target}")
    assert not problems, "\n".join(problems)


def test_cache_imports_no_explainer_or_metric():
    for name, path in modules():
        if name.startswith("cache."):
            targets = list(imported(ast.parse(path.read_text(encoding="utf-8"))))
            assert not [t for t in targets if t.split(".")[0] in ("explain", "measure")], (name, targets)
            assert set(targets) <= {"cache.store", "run.results", "utils.atomic", "utils.digests", "utils.figures", "utils.plots", "utils.region_figure"}, (
                name,
                targets,
            )


def test_every_stage_is_a_package_that_says_what_it_owns():
    found = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert found == sorted(STAGES)
    for stage in STAGES:
        docstring = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and len(docstring.splitlines()[0]) <= 114, stage  # one line says it


def test_the_check_sees_a_violation(tmp_path):
    """The walk finds imports inside functions too: a later stage imported late is still caught."""
    tree = ast.parse("def f():\n    from generator.render.pages import PageRenderer\n")
    assert [stage_of(t) for t in imported(tree)] == [STAGES.index("render")]
    assert stage_of("explain.lime") < stage_of("render.pages")
