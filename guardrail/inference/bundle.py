"""Read, validate and verify a classifier bundle (see classifiers/BUNDLE.md).

`resolve_bundle` turns a name or a path into a folder, `read_manifest` validates bundle.yaml
(cheap: no hashing, used by policy validation), `load_bundle` also checks the sha256 of every
listed file. Every problem is a `BundleError` that names the bundle and the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from guardrail.errors import BundleError
from guardrail.settings import Settings, get_settings
from guardrail.types import Stage

MANIFEST = "bundle.yaml"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# A checkout keeps bundles in classifiers/ at the top (training writes there); a wheel
# carries the shipped ones as package data in guardrail/bundles/ (setup.py copies them).
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
REPO_BUNDLES_DIR = _SOURCE_ROOT / "classifiers"
PACKAGED_BUNDLES_DIR = Path(__file__).resolve().parents[1] / "bundles"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WORD = re.compile(r"\S+")
STAGES = tuple(stage.value for stage in Stage)
_CHUNK = 1 << 20
# Token heads: words dropped from the edges of an entity (BUNDLE.md, "Token heads", step 6).
# Not `)`, `.` or `'`: in the training data they end addresses, companies ("Co.") and names.
EDGE_SEPARATORS = ("-", ",", ";", ":", "(", "|", "/")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class HeadSpec(_Strict):
    """One output head of the graph."""

    type: Literal["softmax", "sigmoid", "token"]
    output: str
    labels: list[str] = Field(min_length=1)
    negative: list[str] = Field(default_factory=list)
    thresholds: dict[str, float] = Field(default_factory=dict)
    thresholds_strict: dict[str, float] | None = None
    # Calibrated per channel: stage -> label -> threshold, on that stage's own negatives
    # (prompts for input, documents for retrieved/tool, answers for output). A rule on a
    # classifier guard that sets no thresholds of its own uses these for its stages.
    thresholds_by_stage: dict[str, dict[str, float]] = Field(default_factory=dict)
    # token heads (others ignore it): a word that is one of these tokens is trimmed from the
    # edges of an entity
    separators: list[str] = Field(default_factory=lambda: list(EDGE_SEPARATORS))

    @model_validator(mode="after")
    def _separators_valid(self) -> HeadSpec:
        if len(set(self.separators)) != len(self.separators):
            raise ValueError(f"separators repeat: {self.separators}")
        if not all(_WORD.fullmatch(s) for s in self.separators):
            raise ValueError(f"separators must be non-empty and without spaces: {self.separators}")
        return self

    @model_validator(mode="after")
    def _labels_known(self) -> HeadSpec:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels repeat: {self.labels}")
        unknown = [n for n in self.negative if n not in self.labels]
        if unknown:
            raise ValueError(f"negative names unknown labels {unknown}; labels: {self.labels}")
        # Token heads set thresholds per entity type (`PERSON`), other heads per label.
        known = self.entity_types if self.type == "token" else self.labels
        staged = [
            (f"thresholds_by_stage.{stage}", th) for stage, th in self.thresholds_by_stage.items()
        ]
        for field, names in (
            ("thresholds", list(self.thresholds)),
            ("thresholds_strict", list(self.thresholds_strict or {})),
            *((name, list(th)) for name, th in staged),
        ):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(f"{field} names unknown labels {unknown}; labels: {known}")
        bad_stages = [s for s in self.thresholds_by_stage if s not in STAGES]
        if bad_stages:
            raise ValueError(
                f"thresholds_by_stage names unknown stages {bad_stages}; stages: {STAGES}"
            )
        values = [*self.thresholds.values(), *(self.thresholds_strict or {}).values()]
        for value in [*values, *(v for _, th in staged for v in th.values())]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {value} is outside [0, 1]")
        return self

    @property
    def positive(self) -> list[str]:
        """Labels that are findings (every label not listed in `negative`)."""
        return [label for label in self.labels if label not in self.negative]

    @property
    def entity_types(self) -> list[str]:
        """Token heads: the entity types of the positive labels (`B-PERSON` -> `PERSON`)."""
        return list(dict.fromkeys(entity_type(label) for label in self.positive))


def entity_type(label: str) -> str:
    """The entity type of a BIO label: `B-PERSON` and `I-PERSON` -> `PERSON`."""
    return label[2:] if label[:2] in ("B-", "I-") and len(label) > 2 else label


class EmbeddingSpec(_Strict):
    """The graph output that is the encoder's pooled sentence embedding (optional): the
    runtime L2-normalises it and hands it to guards that compare texts (`topics`)."""

    output: str
    dim: int = Field(ge=1)
    pooling: Literal["mean"] = "mean"  # masked mean over the last layer's tokens


class FocusSpec(_Strict):
    """A closer look at suspicious windows (optional, `focus:` in bundle.yaml).

    A long window dilutes a short paragraph: an instruction hidden in 500 tokens of benign
    text scores lower than the same instruction alone. A window whose `head` gives its
    `labels` `above` or more is scored again as sub-windows of `max_length` tokens every
    `stride`; a sub-window's `labels` count towards the text's score when they reach
    `min_score` (a short excerpt is judged more strictly than a whole window). Only
    suspicious windows pay for it; both levels are chosen per model on benign long documents.
    """

    head: str
    labels: list[str] = Field(min_length=1)
    above: float = Field(gt=0.0, lt=1.0)
    min_score: float = Field(default=0.0, ge=0.0, lt=1.0)
    max_length: int = Field(ge=8)
    stride: int = Field(ge=1)


class Manifest(_Strict):
    """bundle.yaml, format 1."""

    format: Literal[1]
    name: str = Field(pattern=_NAME.pattern)
    description: str = ""
    base_model: str = ""
    max_length: int = Field(ge=8, le=8192)
    window_stride: int = Field(ge=1)
    # `token_heads`: a boolean switch; false skips the graph's token heads (a pass whose
    # entities nobody decodes; classifiers/train/gate_tokens.py)
    inputs: list[Literal["input_ids", "attention_mask", "token_type_ids", "token_heads"]]
    heads: dict[str, HeadSpec] = Field(min_length=1)
    files: dict[str, str]
    training: dict[str, Any] = Field(default_factory=dict)
    embedding: EmbeddingSpec | None = None
    focus: FocusSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if "input_ids" not in self.inputs:
            raise ValueError("inputs must include input_ids")
        if "token_heads" in self.inputs and all(h.type != "token" for h in self.heads.values()):
            raise ValueError("inputs: token_heads switches token heads, and there is none")
        if self.window_stride > self.max_length:
            raise ValueError("window_stride must not exceed max_length")
        for required in (MODEL_FILE, TOKENIZER_FILE):
            if required not in self.files:
                raise ValueError(f"files must list {required}")
        for file, digest in self.files.items():
            if file == MANIFEST or not _NAME.match(file):
                raise ValueError(f"files: {file!r} is not a plain file name in the bundle")
            if not _SHA256.match(digest):
                raise ValueError(f"files: {file}: {digest!r} is not a lower-case sha256 hex")
        outputs = [h.output for h in self.heads.values()]
        if len(set(outputs)) != len(outputs):
            raise ValueError("two heads read the same graph output")
        if self.embedding is not None and self.embedding.output in outputs:
            raise ValueError("embedding.output is also a head's output")
        if self.focus is not None:
            self._focus_consistent(self.focus)
        return self

    def _focus_consistent(self, focus: FocusSpec) -> None:
        head = self.heads.get(focus.head)
        if head is None or head.type == "token":
            raise ValueError(f"focus.head {focus.head!r} is not a softmax or sigmoid head")
        unknown = [n for n in focus.labels if n not in head.labels]
        if unknown:
            raise ValueError(f"focus.labels {unknown} are not labels of head {focus.head!r}")
        if not focus.stride <= focus.max_length < self.max_length:
            raise ValueError("focus needs stride <= max_length < the bundle's max_length")


@dataclass(frozen=True)
class Bundle:
    """A bundle folder whose manifest is valid (and whose files were verified by load)."""

    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        """The bundle's name from its manifest."""
        return self.manifest.name

    @property
    def model_path(self) -> Path:
        """The ONNX graph."""
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        """The `tokenizers` JSON file."""
        return self.path / TOKENIZER_FILE


def is_path_ref(ref: str) -> bool:
    """True when a bundle reference is a path (has a slash, or starts with `.` or `~`)."""
    return "/" in ref or "\\" in ref or ref.startswith(".") or ref.startswith("~")


def search_dirs(settings: Settings | None = None) -> list[Path]:
    """Folders searched for bundles by name, in order: `GUARDRAIL_BUNDLES_DIR`, the
    checkout's `classifiers/` (only in a source tree), the bundles installed with the package."""
    settings = settings or get_settings()
    dirs = [settings.bundles_dir] if settings.bundles_dir else []
    # Only a source tree: in site-packages, parents[2]/classifiers could be anything.
    if (_SOURCE_ROOT / "pyproject.toml").is_file():
        dirs.append(REPO_BUNDLES_DIR)
    return [*dirs, PACKAGED_BUNDLES_DIR]


def resolve_bundle(
    ref: str | Path, base_dir: Path | None = None, settings: Settings | None = None
) -> Path:
    """The folder for `ref`: a path (relative to `base_dir`) or a bundle name.

    A string is a path when it contains a slash or starts with `.` or `~`; otherwise it is a
    name, looked up in the folders of `search_dirs` (`GUARDRAIL_BUNDLES_DIR` first).
    """
    if isinstance(ref, Path) or is_path_ref(ref):
        path = Path(ref).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        if not (path / MANIFEST).is_file():
            raise BundleError(f"no bundle at {path} (no {MANIFEST})")
        return path.resolve()
    if not _NAME.match(ref):
        raise BundleError(f"{ref!r} is not a bundle name")
    dirs = search_dirs(settings)
    for folder in dirs:
        if (folder / ref / MANIFEST).is_file():
            return (folder / ref).resolve()
    looked = ", ".join(str(d) for d in dirs)
    raise BundleError(f"no bundle named {ref!r} (looked in {looked})")


def list_bundles(settings: Settings | None = None) -> list[Path]:
    """Every bundle folder found in the search folders (first one wins per name)."""
    found: dict[str, Path] = {}
    for folder in search_dirs(settings):
        if folder.is_dir():
            for manifest in sorted(folder.glob(f"*/{MANIFEST}")):
                found.setdefault(manifest.parent.name, manifest.parent.resolve())
    return list(found.values())


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return YAML(typ="safe", pure=True).load(stream)
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise BundleError(f"{path}: cannot read {MANIFEST}: {exc}") from exc


def read_manifest(path: Path) -> Manifest:
    """The validated manifest of the bundle folder `path` (files are not hashed)."""
    data = _read_yaml(path / MANIFEST)
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise BundleError(f"{path / MANIFEST}: invalid: {problems}") from exc


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(path: Path, manifest: Manifest) -> None:
    """Check that every listed file exists and has its sha256; BundleError names the file."""
    for file, expected in manifest.files.items():
        target = path / file
        if not target.is_file():
            raise BundleError(f"bundle {manifest.name}: {file} is missing ({target})")
        actual = sha256_file(target)
        if actual != expected:
            raise BundleError(
                f"bundle {manifest.name}: {file} fails its hash check "
                f"(sha256 {actual}, bundle.yaml says {expected})"
            )


def unlisted_files(path: Path, manifest: Manifest) -> list[str]:
    """Files in the folder that bundle.yaml does not list (hidden files ignored)."""
    return sorted(
        p.name
        for p in path.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.name != MANIFEST
        and p.name not in manifest.files
    )


def load_bundle(
    ref: str | Path,
    base_dir: Path | None = None,
    settings: Settings | None = None,
    verify: bool = True,
) -> Bundle:
    """Resolve, validate and (by default) hash-check a bundle."""
    path = resolve_bundle(ref, base_dir, settings)
    manifest = read_manifest(path)
    if verify:
        verify_files(path, manifest)
    return Bundle(path=path, manifest=manifest)
