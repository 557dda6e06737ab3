"""The recipe format of SPEC.md as pydantic models.

pydantic gives us key paths (``model.hidden[1]``) and "expected ..." wording for free; we
use ``extra="forbid"`` everywhere so that a misspelled key is an error, never silently
ignored. Paths stay as written here; ``load.py`` resolves them against the recipe's folder.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

# More classes than this is a typo or a regression target read as labels; refusing it here
# keeps `classes: 1000000000` from allocating a billion class names and count arrays.
MAX_CLASSES = 100_000
MAX_HIDDEN_LAYERS = 100
# The audit trains the recipe for a short run (several times, in several checks); a real
# training run's step count belongs to the user's own training, not here.
MAX_STEPS = 100_000
MAX_SEED = 2**32 - 1


def _not_bool(expected: str) -> BeforeValidator:
    """YAML reads `true`, `yes` and `on` as booleans and pydantic would take them as 1:
    `lr: true` would train at lr 1 and `target: true` would pick column 1."""

    def refuse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected {expected}, not true/false")
        return value

    return BeforeValidator(refuse)


# Numbers as the recipe may write them: ints where floats go, but no booleans, NaN or inf.
Float = Annotated[float, _not_bool("a number"), Field(allow_inf_nan=False)]
Int = Annotated[int, _not_bool("an integer")]
ClassName = Annotated[
    Union[str, int],
    _not_bool("a class name (YAML reads yes/no/true/false as booleans: quote them)"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class PairSource(_Strict):
    """Inputs and labels in two files: MNIST IDX (images + labels) or two .npy arrays."""

    images: str
    labels: str


class FractionSplit(_Strict):
    """A seeded, stratified share of the training file held out as test set."""

    fraction: Float = Field(0.2, gt=0.0, lt=1.0)


Source = Union[str, PairSource]
# Larger images than this per side are a typo (or belong to a model nncheck cannot audit
# in memory); a pair [height, width] or one number for square images.
MAX_IMAGE_SIDE = 4096
MAX_BLOCK_SIZE = 65_536
ImageSide = Annotated[Int, Field(ge=1, le=MAX_IMAGE_SIDE)]


class DataSection(_Strict):
    train: Source
    target: Union[str, Int, None] = None
    test: Union[FractionSplit, str, PairSource] = Field(default_factory=FractionSplit)
    task: Literal["classification", "regression", "language_model", None] = None
    normalize: Literal["none", "standardize", "minmax", "scale255"] = "standardize"
    second_annotation: Union[str, None] = None
    classes: Union[Int, list[ClassName], None] = None
    # Resize every image file to this (height, width); one number is a square.
    image_size: Union[
        ImageSide, Annotated[list[ImageSide], Field(min_length=2, max_length=2)], None
    ] = None

    # language_model: a .txt file is cut into blocks of this many characters (inputs) plus
    # one (the next-character targets); an npz of token ids keeps its own length.
    block_size: Union[Annotated[Int, Field(ge=1, le=MAX_BLOCK_SIZE)], None] = None
    # language_model: this token id is padding, excluded from the loss and the checks.
    pad_token: Union[Annotated[Int, Field(ge=0, le=MAX_CLASSES)], None] = None

    @property
    def image_hw(self) -> tuple[int, int] | None:
        if self.image_size is None:
            return None
        if isinstance(self.image_size, int):
            return (self.image_size, self.image_size)
        return (self.image_size[0], self.image_size[1])

    @field_validator("classes")
    @classmethod
    def _classes_sane(cls, v: Any) -> Any:
        count = len(v) if isinstance(v, list) else v
        if count is not None and count < 2:
            raise ValueError("a classification task needs at least 2 classes")
        if count is not None and count > MAX_CLASSES:
            raise ValueError(
                f"{count:,} classes is more than nncheck handles ({MAX_CLASSES:,}); is the"
                " target a regression value or an identifier?"
            )
        if isinstance(v, list) and len({str(c) for c in v}) != len(v):
            raise ValueError("class names must be unique")
        return v

    @model_validator(mode="after")
    def _second_annotation_is_not_the_target(self) -> DataSection:
        if self.second_annotation is not None and self.second_annotation == self.target:
            raise ValueError(
                f"second_annotation names the target itself ({self.second_annotation!r});"
                " it must be a second, independent labelling"
            )
        return self


class ModelSection(_Strict):
    engine: Literal["numpy", "torch"] = "numpy"
    hidden: list[Annotated[Int, Field(ge=1)]] = Field(
        default_factory=lambda: [64], max_length=MAX_HIDDEN_LAYERS
    )
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"
    init: Literal["xavier", "he", "normal"] = "xavier"
    init_std: Float = Field(0.01, gt=0.0)
    output_bias: Literal["prior", "zero"] = "prior"
    # None means "the natural loss for the task": cross_entropy / mse.
    loss: Literal["cross_entropy", "mse", None] = None
    factory: Union[str, None] = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @model_validator(mode="after")
    def _torch_needs_factory(self) -> ModelSection:
        if self.engine == "torch" and not self.factory:
            raise ValueError('engine: torch needs factory: "module:function"')
        return self


class TrainSection(_Strict):
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam"] = "adam"
    lr: Float = Field(1e-3, ge=0.0)
    batch_size: Int = Field(32, ge=1)
    steps: Int = Field(500, ge=1, le=MAX_STEPS)


class ReportSection(_Strict):
    dir: Union[str, None] = None


class Recipe(_Strict):
    name: Union[str, None] = None
    seed: Int = Field(0, ge=0, le=MAX_SEED)
    data: DataSection
    model: ModelSection = Field(default_factory=ModelSection)
    train: TrainSection = Field(default_factory=TrainSection)
    # Per-check thresholds plus `skip`/`only` lists; validated against the check registry
    # in load.py because the valid names live beside each check.
    checks: dict[str, Any] = Field(default_factory=dict)
    report: ReportSection = Field(default_factory=ReportSection)

    # The recipe file's folder (set by load.py): what resolves against it at run time,
    # such as the torch engine's factory module.
    _base_dir: Union[str, None] = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Union[str, None]:
        return self._base_dir
