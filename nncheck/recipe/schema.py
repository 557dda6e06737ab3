"""The recipe format of SPEC.md as pydantic models.

pydantic gives us key paths (``model.hidden[1]``) and "expected ..." wording for free; we
use ``extra="forbid"`` everywhere so that a misspelled key is an error, never silently
ignored. Paths stay as written here; ``load.py`` resolves them against the recipe's folder.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class PairSource(_Strict):
    """Inputs and labels in two files: MNIST IDX (images + labels) or two .npy arrays."""

    images: str
    labels: str


class FractionSplit(_Strict):
    """A seeded, stratified share of the training file held out as test set."""

    fraction: float = Field(0.2, gt=0.0, lt=1.0)


Source = Union[str, PairSource]
Cell = Union[str, int, float]


class CsvOptions(_Strict):
    """CSV dialect settings; each one left out is sniffed from the file and said in the
    run's notes (a wrong guess is fixed here, not by editing the file)."""

    delimiter: Literal[",", ";", "\t", "|", None] = None
    header: Union[bool, None] = None  # false: the first line is data; columns col_1..col_N
    encoding: Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", None] = None
    decimal: Literal[".", ",", None] = None


class OneHotOptions(_Strict):
    """How categorical columns become one-hot features (fitted on train rows only)."""

    # Values seen fewer than min_count times in train, and all but the max_levels most
    # frequent ones, share one `column=<rare>` feature: the width stays bounded and a
    # value seen once cannot become a feature of its own that only memorizes one row.
    max_levels: int = Field(20, ge=1)
    min_count: int = Field(5, ge=1)


class DataSection(_Strict):
    train: Source
    target: Union[str, int, None] = None
    test: Union[FractionSplit, str, PairSource] = Field(default_factory=FractionSplit)
    task: Literal["classification", "regression", None] = None
    normalize: Literal["none", "standardize", "minmax", "scale255"] = "standardize"
    second_annotation: Union[str, None] = None
    classes: Union[int, list[Union[str, int]], None] = None
    # ---- tables (csv / parquet); see README "Tables as they come"
    categorical: list[str] = Field(default_factory=list)  # numeric columns to one-hot too
    ordinal: dict[str, list[Cell]] = Field(default_factory=dict)  # column: [low, ..., high]
    drop: list[str] = Field(default_factory=list)
    features: Union[list[str], None] = None  # exactly these columns (identifiers included)
    identifiers: Literal["drop", "keep"] = "drop"
    missing: Literal["error", "drop", "impute"] = "error"
    na_values: Union[list[Cell], dict[str, list[Cell]]] = Field(default_factory=list)
    groups: Union[str, None] = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    one_hot: OneHotOptions = Field(default_factory=OneHotOptions)

    @model_validator(mode="after")
    def _columns_sane(self) -> DataSection:
        if self.features is not None and self.drop:
            raise ValueError("give data.features (the columns to use) or data.drop, not both")
        if self.features is not None and not self.features:
            raise ValueError("data.features lists no column")
        both = sorted(set(self.categorical) & set(self.ordinal))
        if both:
            raise ValueError(f"column {both[0]!r} is in both data.categorical and data.ordinal")
        for column, order in self.ordinal.items():
            if len({str(v) for v in order}) != len(order):
                raise ValueError(f"data.ordinal.{column}: the values must be unique")
            if not order:
                raise ValueError(f"data.ordinal.{column}: list the values, lowest first")
        return self

    @field_validator("classes")
    @classmethod
    def _classes_sane(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 2:
            raise ValueError("a classification task needs at least 2 classes")
        if isinstance(v, list):
            if len(v) < 2:
                raise ValueError("a classification task needs at least 2 classes")
            if len({str(c) for c in v}) != len(v):
                raise ValueError("class names must be unique")
        return v


class ModelSection(_Strict):
    engine: Literal["numpy", "torch"] = "numpy"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [64])
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"
    init: Literal["xavier", "he", "normal"] = "xavier"
    init_std: float = Field(0.01, gt=0.0)
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
    lr: float = Field(1e-3, ge=0.0)
    batch_size: int = Field(32, ge=1)
    steps: int = Field(500, ge=1)


class ReportSection(_Strict):
    dir: Union[str, None] = None


class Recipe(_Strict):
    name: Union[str, None] = None
    seed: int = 0
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
