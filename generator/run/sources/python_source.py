"""`source: python`: the author's own code builds the network (`name: package.module:function`).

The module is imported with the manifest's folder first on `sys.path` (as MkDocs imports its hooks), and the
function is called with no arguments under `torch.manual_seed(seed)`; it must return an `nn.Module`.
`weights:` a state dict file loaded into it, or none ('random' too): the parameters as the function leaves them.
The Grad-CAM layer is found by rule (generator.run.target_layers.find_grid_layer) unless `target_layer` names one.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import torch
from torch import nn

from generator.run.model_source import (
    BuiltModel,
    ModelSource,
    ResolvedWeights,
    load_into,
    load_state_dict_file,
    local_file,
    register,
)
from generator.utils.digests import short_file_digest
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


@register
class PythonSource(ModelSource):
    name = "python"
    title = "your own code"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        module = import_entry_module(spec, manifest_dir)
        entry_function(spec, module)  # fails here, before any model is built, when the function is missing
        code = code_digest(module)
        if spec.weights is None or spec.weights == "random":
            kind = "random" if spec.weights == "random" else "package"
            return ResolvedWeights(
                kind,
                f"as `{spec.name}` builds them (seed {seed})",
                None,
                f"{kind}-{seed}-{code}",
                f"built by {spec.name}",
                path=manifest_dir,
            )
        resolved = load_state_dict_file(spec, local_file(spec, spec.weights, manifest_dir, "weights file"))
        return ResolvedWeights(**{**vars(resolved), "digest": f"{resolved.digest}-{code}", "path": manifest_dir})

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        assert weights.path is not None
        function = entry_function(spec, import_entry_module(spec, weights.path))
        torch.manual_seed(seed)
        try:
            module = function()
        except Exception as error:  # the author's code may raise anything
            raise WeightsError(f"model '{spec.label}': {spec.name}() raised {type(error).__name__}: {error}") from error
        if not isinstance(module, nn.Module):
            raise WeightsError(
                f"model '{spec.label}': {spec.name}() returned a {type(module).__name__}, not a torch.nn.Module"
            )
        load_into(spec, module, weights)
        return BuiltModel(module=module, provenance=f"your code: {spec.name} ({type(module).__name__})")


def import_entry_module(spec: ModelSpec, manifest_dir: Path) -> ModuleType:
    if not ENTRY_POINT.match(spec.name):
        raise WeightsError(
            f"model '{spec.label}': name {spec.name!r} is not package.module:function "
            "(e.g. name: mymodels.nets:build, found from the manifest's folder)"
        )
    module_name = spec.name.split(":")[0]
    with manifest_folder_first(manifest_dir):
        forget_shadowed(module_name, manifest_dir)
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            raise WeightsError(
                f"model '{spec.label}': cannot import {module_name} ({error}); put it in the manifest's folder "
                f"{manifest_dir} or install it"
            ) from None
        except Exception as error:  # importing the author's code may raise anything
            raise WeightsError(
                f"model '{spec.label}': importing {module_name} raised {type(error).__name__}: {error}"
            ) from error


def entry_function(spec: ModelSpec, module: ModuleType) -> Callable[[], object]:
    function_name = spec.name.split(":")[1]
    function = getattr(module, function_name, None)
    if not callable(function):
        raise WeightsError(
            f"model '{spec.label}': {module.__name__} has no function {function_name!r} (name: {spec.name})"
        )
    return function


@contextmanager
def manifest_folder_first(folder: Path) -> Iterator[None]:
    saved = list(sys.path)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path[:] = saved


def forget_shadowed(module_name: str, manifest_dir: Path) -> None:
    """Drop an earlier import of the same top-level package from another folder: the manifest's folder wins.

    A process that builds two projects (tests, a notebook) would otherwise get the first project's module.
    """
    top = module_name.split(".")[0]
    local = manifest_dir / top
    loaded = sys.modules.get(top)
    if loaded is None or not (local.is_dir() or local.with_suffix(".py").is_file()):
        return
    origin = getattr(loaded, "__file__", None)
    if origin is not None and Path(origin).resolve().is_relative_to(manifest_dir.resolve()):
        return
    for name in [name for name in sys.modules if name == top or name.startswith(f"{top}.")]:
        del sys.modules[name]


def code_digest(module: ModuleType) -> str:
    """The module file's digest: results cached for one version of the code are not reused for another."""
    origin = getattr(module, "__file__", None)
    return short_file_digest(origin) if origin else "builtin"
