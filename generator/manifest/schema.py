"""The manifest schema: every key the author may write, with defaults equal to the reference recipe."""

from __future__ import annotations

import builtins
import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from generator.manifest.paths import confined
from generator.manifest.regions import CaseRegions
from generator.manifest.sections import FieldFamily, SectionFamily
from generator.manifest.selection_rules import COUNTED, Rule, RuleKind, parse_rules

CASE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug[:64] or "case"


Triple = tuple[float, float, float]
# the validation context's key for the `source:` names a manifest may use: generator.run.sources's registry,
# handed down by the command that loads the manifest (this stage cannot import the sources)
MODEL_SOURCES = "model_sources"


def unknown_source(value: str, known: Sequence[str]) -> str:
    """What is wrong with a `source:` that is not one of `known`, with the closest names."""
    close = difflib.get_close_matches(value, known, n=2)
    hint = f"; did you mean {' or '.join(repr(name) for name in close)}?" if close else ""
    return f"unknown model source {value!r}{hint} (sources: {', '.join(known)}; docs/models.md)"


class ModelSpec(Strict):
    source: str = Field(
        "torchvision",
        description="Where the model comes from: one of the model sources (the enum of `python -m generator "
        "schema`; docs/models.md).",
    )
    name: str = Field(
        description="The model within its source: a torchvision builder (resnet18, ...), a timm model name, a "
        "HuggingFace folder, an .onnx or TorchScript file, or package.module:function (python)."
    )
    weights: str | None = Field(
        None,
        description="torchvision: a weights enum name (default IMAGENET1K_V1), a .pth/.pt/.safetensors state dict "
        "(relative to the manifest; a head of any size), or 'random'. timm: 'random', a state dict file or "
        "'pretrained' (from the local Hugging Face cache). python: a state dict file or none.",
    )
    display_name: str | None = Field(None, description="Name shown on pages; defaults to the model's name.")
    target_layer: str | None = Field(
        None, description="Dotted module path for Grad-CAM; defaults per family, else found by rule (docs/models.md)."
    )
    classes: tuple[str, ...] | str | None = Field(
        None,
        description="The class names, one per output: a list, or a file (.txt one per line, .json a list or "
        "index -> name). Default: the source's names (ImageNet's for a 1000-way head).",
    )
    output: Literal["softmax", "sigmoid", "logits"] | None = Field(
        None,
        description="What the outputs are turned into: softmax (one class), sigmoid (multi-label: independent "
        "probabilities), or the raw logits. Default: softmax; sigmoid for a model with one output (binary).",
    )
    mean: Triple | None = Field(None, description="Per-channel input mean; default: the source's (or preprocess.mean).")
    std: Triple | None = Field(None, description="Per-channel input std; default: the source's (or preprocess.std).")

    @property
    def key(self) -> str:
        """A file-name-safe identifier unique within a manifest."""
        return slugify(self.display_name or self.name)

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get(MODEL_SOURCES)
        if known and value not in known:
            raise ValueError(unknown_source(value, known))
        return value

    @field_validator("std")
    @classmethod
    def _std_positive(cls, value: Triple | None) -> Triple | None:
        if value is not None and min(value) <= 0:
            raise ValueError("std values must be positive")
        return value


class PreprocessSpec(Strict):
    resize: tuple[int, int] = Field(
        (256, 256), description="Resize to (height, width) without keeping the aspect ratio."
    )
    crop: int = Field(224, ge=8, le=1024, description="Center crop size in pixels.")
    mean: Triple | None = Field(
        None, description="Per-channel mean for every model; default: each model's own (ImageNet's for torchvision)."
    )
    std: Triple | None = Field(
        None, description="Per-channel std for every model; default: each model's own (ImageNet's for torchvision)."
    )
    background: tuple[int, int, int] = Field(
        (255, 255, 255), description="RGB colour transparent images are composited on."
    )

    @field_validator("resize")
    @classmethod
    def _resize_positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 8:
            raise ValueError("resize sizes must be at least 8 pixels")
        return value

    @model_validator(mode="after")
    def _crop_fits(self) -> PreprocessSpec:
        if self.crop > min(self.resize):
            raise ValueError(f"crop {self.crop} is larger than the resized image {tuple(self.resize)}")
        return self


class ExplainersSpec(Strict):
    """One section per explanation method, each declared by the method's own module (generator/explain/)."""

    def section(self, name: str) -> Any:
        """The settings of the method `name` (its module's own model; typed there)."""
        return getattr(self, name)


EXPLAINER_SECTIONS = SectionFamily("explainers", ExplainersSpec, "generator.explain")


class MetricsSpec(Strict):
    top_k: int = Field(
        5,
        ge=1,
        le=100,
        description="The k of every top-k overlap between two maps (methods against each other, models against "
        "each other): the share of their k highest-ranked superpixels, or pixels without superpixels, in common.",
    )
    batch_size: Union[Literal["auto"], Annotated[int, Field(ge=1, le=4096)]] = Field(
        "auto",
        description="Images per forward pass of the measures' own model runs, curves and re-runs (auto: as LIME's "
        "`batch_size`).",
    )


# the measures' own keys join these, each at its place (top_k and batch_size stand between them in the reference)
METRIC_FIELDS = FieldFamily("metrics", MetricsSpec, "generator.measure", places={"top_k": 80, "batch_size": 90})


ClassRef = Union[int, str]


class CaseSpec(CaseRegions):
    """One case: a photo, its ground truth, extra targets and the regions the author marks (CaseRegions)."""

    image: str = Field(description="Path of the photo, relative to the manifest's folder (content/).")
    id: str | None = Field(None, description="URL slug; derived from the file name when absent.")
    title: str | None = None
    label: ClassRef | None = Field(
        None,
        description="Ground truth: a class name (case-insensitive) or index, resolved against each model's classes "
        "(a model without it shows no correct/wrong mark for this case, with a note).",
    )
    targets: tuple[ClassRef, ...] = Field(
        (), description="Extra classes to explain, for every model that has them (names or indices)."
    )

    @field_validator("image")
    @classmethod
    def _image_inside_content(cls, value: str, info: ValidationInfo) -> str:
        return check_image_path(value, (info.context or {}).get("content_dir"))

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str | None) -> str | None:
        if value is not None and not CASE_ID_PATTERN.match(value):
            raise ValueError(
                f"invalid case id {value!r}: use 1-64 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("label", mode="before")
    @classmethod
    def _label_not_bool(cls, value: builtins.object) -> builtins.object:
        return check_class_ref(value) if value is not None else None

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_not_bool(cls, value: builtins.object) -> builtins.object:
        return [check_class_ref(item) for item in value] if isinstance(value, (list, tuple)) else value

    @property
    def case_id(self) -> str:
        return self.id or slugify(PurePosixPath(self.image).stem)


class FolderCases(Strict):
    folder: str = Field(
        description="A folder relative to the manifest's folder: every image below it (sub-folders included, hidden "
        "files skipped) is a case, in the order of their paths."
    )
    label: Literal["folder"] | None = Field(
        None,
        description="folder: each image's ground truth is the name of the folder it is in (the ImageFolder layout: "
        "val/tabby/1.jpg is a tabby); absent: no ground truth.",
    )
    glob: str | None = Field(
        None,
        description="Only the images whose path below the folder matches this pattern: '*' and '?' within a name, "
        "'**/' any sub-folders; a pattern without '/' matches the file name at any depth ('*.jpg', '**/cat*.png').",
    )


class CsvCases(Strict):
    csv: str = Field(
        description="A UTF-8 CSV file relative to the manifest's folder, with a header row: column image (required, "
        "relative to the manifest's folder), and optionally label, title, id and targets (classes separated by ';')."
    )


def case_source_kind(value: object) -> str | None:
    """The tag of a source: by its key (a mapping from YAML) or by its class (a model built in Python)."""
    if isinstance(value, dict):
        return "folder source" if "folder" in value else "csv source" if "csv" in value else None
    return "folder source" if isinstance(value, FolderCases) else "csv source" if isinstance(value, CsvCases) else None


CASE_SOURCE_TAGS = ("folder source", "csv source")  # the union's tags, which error paths leave out
CaseSource = Annotated[
    Union[Annotated[FolderCases, Tag("folder source")], Annotated[CsvCases, Tag("csv source")]],
    Discriminator(
        case_source_kind,
        custom_error_type="case_source",
        custom_error_message="a source of cases needs a 'folder' key or a 'csv' key",
    ),
]


COUNTED_RULE_NAMES = sorted(kind.value for kind in COUNTED)
# the YAML form of `explain.select`, for editors (`xai-report schema`); parse_rules reads it
SELECT_SCHEMA = {
    "type": "array",
    "items": {
        "anyOf": [
            {"enum": [kind.value for kind in RuleKind if kind not in COUNTED]},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": COUNTED_RULE_NAMES},
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
        ]
    },
}


class ExplainSpec(Strict):
    """Which cases are explained: every case is predicted by every model, the ones these rules choose get
    explanations, measurements and a page (generator/evaluate/selection.py)."""

    select: Annotated[tuple[Rule, ...], WithJsonSchema(SELECT_SCHEMA)] = Field(
        (),
        description="Rules, in order, whose union is explained until `max`: wrong, disagree, "
        "{most_confident_wrong: k}, {least_confident: k}, {per_class: k}, {random: k}. Cases listed under `cases:` "
        "are always explained.",
    )
    max: int | None = Field(None, ge=1, description="At most this many cases chosen by the rules (none: no cap).")

    @field_validator("select", mode="before")
    @classmethod
    def _rules(cls, value: object) -> tuple[Rule, ...]:
        return parse_rules(value, key="rule")


class Manifest(Strict):
    title: str = "What do the classifiers look at?"
    intro: str = ""
    seed: int = Field(0, ge=0, description="Seed for random weights, segmentation and LIME's perturbations.")
    models: tuple[ModelSpec, ...] = Field(
        (
            ModelSpec(name="resnet18", display_name="ResNet18", weights="IMAGENET1K_V1"),
            ModelSpec(name="resnet50", display_name="ResNet50", weights="IMAGENET1K_V1"),
        ),
        min_length=1,
    )
    preprocess: PreprocessSpec = PreprocessSpec()
    top_k: int = Field(5, ge=1, le=20)
    explainers: ExplainersSpec = Field(default_factory=ExplainersSpec)
    metrics: MetricsSpec = MetricsSpec()
    cases_from: tuple[CaseSource, ...] = Field(
        (),
        description="Cases generated from folders of images and CSV tables; load_manifest expands them into cases "
        "(docs/manifest.md, 'Cases from folders and tables').",
    )
    cases: tuple[CaseSpec, ...] = Field(
        (),
        description="The cases, one by one; beside cases_from, an entry whose id is a generated case's overrides its "
        "keys, any other entry adds a case. A manifest needs cases or cases_from.",
    )
    explain: ExplainSpec | None = Field(
        None,
        description="Explain only some cases, chosen by rules; every case is still predicted and counted on the set "
        "page. Without it, every case is explained.",
    )
    # the ids of the cases written under `cases:` by hand (load_manifest sets it beside cases_from); None: all of them
    _by_hand: frozenset[str] | None = PrivateAttr(None)

    def listed_by_hand(self, case_id: str) -> bool:
        """Whether the case is an entry of `cases:` (always explained), not only generated by `cases_from`."""
        return self._by_hand is None or case_id in self._by_hand

    def with_by_hand(self, case_ids: frozenset[str]) -> Manifest:
        manifest = self.model_copy()
        manifest._by_hand = case_ids
        return manifest

    @model_validator(mode="after")
    def _has_cases(self) -> Manifest:
        if self.cases or self.cases_from:
            return self
        if "cases" in self.model_fields_set:
            error = InitErrorDetails(
                type="too_short",
                loc=("cases",),
                input=[],
                ctx={"field_type": "Tuple", "min_length": 1, "actual_length": 0},
            )
        else:
            error = InitErrorDetails(type="missing", loc=("cases",), input=None)
        raise ValidationError.from_exception_data(type(self).__name__, [error])  # at the key, as a field error is

    @model_validator(mode="after")
    def _unique_ids(self) -> Manifest:
        problems: list[str] = []
        for kind, keys in (("case id", [c.case_id for c in self.cases]), ("model key", [m.key for m in self.models])):
            seen: set[str] = set()
            for key in keys:
                if key in seen:
                    problems.append(f"duplicate {kind} {key!r}")
                seen.add(key)
        if problems:
            raise ValueError("; ".join(problems) + " (set a distinct id / display_name)")
        return self


def check_class_ref(value: builtins.object) -> builtins.object:
    """A class given by name or by index (YAML's true/false would pass as 1/0: refused)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a class name or index, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"class index {value} is negative")
    return value


def check_image_path(value: str, content_dir: str | os.PathLike[str] | None) -> str:
    """Refuse paths that leave the content folder; check the file exists when the folder is known."""
    path = confined(value, None, "copy the image under it and refer to it from there")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{value!r} is not an image file name (expected one of {', '.join(sorted(IMAGE_SUFFIXES))})")
    if content_dir is None:
        return value
    confined(value, Path(content_dir), "copy the file in instead")
    full = Path(content_dir).resolve() / path
    if not full.is_file():
        raise ValueError(f"file not found: {value}")
    return value


EXPLAINER_SECTIONS.holders.append(Manifest)  # a method's section joins the manifest's schema too
METRIC_FIELDS.holders.append(Manifest)  # and a measure's keys, the `metrics` default with them
