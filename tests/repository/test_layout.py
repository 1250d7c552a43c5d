"""The package reads as the pipeline: stages in the order data flows, none importing a later one, and no cycle.

The import graph is read with `ast` from every module of `generator/`: imports at the top, inside functions and
under `TYPE_CHECKING` alike, absolute and relative. Each edge is a module the importing module needs, whether at
run time or for the type checker, so a type living in the wrong module shows as a cycle here.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "generator"
# the order data flows in; the top-level modules run the stages and come after them, in their own order
STAGES = ("utils", "resources", "manifest", "run", "evaluate", "explain", "measure", "cache", "render", "publish")
TOP_LEVEL = ("compute", "session", "tiers", ("check", "ray_executor"), "build", "api", "cli", "__main__")
# at the very bottom: the types every stage names, importing nothing of the package
LEAVES = ("utils.options", "utils.records", "utils.errors")


def top_level_rank(name):
    for rank, entry in enumerate(TOP_LEVEL):
        if name in (entry if isinstance(entry, tuple) else (entry,)):
            return rank
    return None


def stage_of(module):
    """The rank of a module in the pipeline: its stage, or after every stage in TOP_LEVEL's order."""
    first = module.split(".")[0]
    if first in STAGES:
        return STAGES.index(first)
    if module in ("", "__init__"):  # the package itself: the library's face, above everything it re-exports
        return len(STAGES) + len(TOP_LEVEL)
    rank = top_level_rank(first)
    assert rank is not None, f"generator.{module} is neither in a stage nor in TOP_LEVEL: place it"
    return len(STAGES) + rank


def module_names(package=PACKAGE):
    """{dotted name inside the package: path}; a sub-package is named by its folder ("explain")."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def resolve(name, known):
    """The module `name` refers to: itself, or the longest known prefix (a name imported from a module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def imported(tree, module, known, is_package=False):
    """Every module of the package that `module` imports, anywhere in its source, TYPE_CHECKING blocks included."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("generator."):
                    yield resolve(alias.name.removeprefix("generator."), known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            elif node.module == "generator" or (node.module or "").startswith("generator."):
                source = node.module.removeprefix("generator").lstrip(".")
            else:
                continue
            for alias in node.names:  # `from generator.utils import figures` imports utils.figures
                full = f"{source}.{alias.name}" if source else alias.name
                yield full if full in known else resolve(source, known)


def import_graph(package=PACKAGE):
    """{module: the set of package modules it imports}, self-imports and the package root left out."""
    known = module_names(package)
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set(imported(tree, name, known, path.name == "__init__.py")) - {name, ""}
        graph[name] = targets
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_module_imports_a_later_stage():
    problems = [
        f"generator.{name} (rank {stage_of(name)}) imports generator.{target} (rank {stage_of(target)})"
        for name, targets in import_graph().items()
        for target in sorted(targets)
        if stage_of(target) > stage_of(name)
    ]
    assert not problems, "\n".join(problems)


def test_the_shared_types_import_nothing_of_the_package():
    graph = import_graph()
    assert {leaf: graph[leaf] for leaf in LEAVES} == {leaf: set() for leaf in LEAVES}


def test_cache_imports_no_explainer_or_metric():
    for name, targets in import_graph().items():
        if name.startswith("cache."):
            assert not [t for t in targets if t.split(".")[0] in ("explain", "measure")], (name, targets)
            allowed = {"cache.store", "run.results", "utils.atomic", "utils.digests", "utils.figures", "utils.plots"}
            assert targets <= allowed | {"utils.records", "utils.region_figure"}, (name, targets)


def test_every_stage_is_a_package_that_says_what_it_owns():
    found = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert found == sorted(STAGES)
    for stage in STAGES:
        docstring = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and len(docstring.splitlines()[0]) <= 114, stage  # one line says it


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """Imports inside functions, under TYPE_CHECKING and relative ones are edges; a cycle through them is found."""
    package = tmp_path / "generator"
    (package / "run").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "run" / "__init__.py").write_text("")
    (package / "run" / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n")
    (package / "run" / "b.py").write_text("def f():\n    from generator.run.c import C\n")
    (package / "run" / "c.py").write_text("import generator.run.a\n")
    (package / "build.py").write_text("from generator.run import a\n")
    graph = import_graph(package)
    assert graph["run.a"] == {"run.b"} and graph["run.b"] == {"run.c"} and graph["run.c"] == {"run.a"}
    assert graph["build"] == {"run.a"}
    assert cycles(graph) == [["run.a", "run.b", "run.c"]]


def test_the_top_level_order_is_checked():
    assert stage_of("cli") > stage_of("build") > stage_of("check") == stage_of("ray_executor") > stage_of("session")
    assert stage_of("session") > stage_of("compute") > stage_of("publish.pdf") > stage_of("utils.options")
