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
    StrictBool,
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
# A cell value in a recipe (an ordinal level, a missing-value code): yes/no read as
# booleans by YAML would silently never match the text "yes" in the file.
Cell = Annotated[
    Union[str, Int, Float],
    _not_bool("a cell value (YAML reads yes/no/true/false as booleans: quote them)"),
]


class CsvOptions(_Strict):
    """CSV dialect settings; each one left out is sniffed from the file and said in the
    run's notes (a wrong guess is fixed here, not by editing the file)."""

    delimiter: Literal[",", ";", "\t", "|", " ", None] = None  # " ": runs of whitespace
    header: Union[StrictBool, None] = None  # false: the first line is data; columns col_1..col_N
    encoding: Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", None] = None
    decimal: Literal[".", ",", None] = None


class OneHotOptions(_Strict):
    """How categorical columns become one-hot features (fitted on train rows only)."""

    # Values seen fewer than min_count times in train, and all but the max_levels most
    # frequent ones, share one `column=<rare>` feature: the width stays bounded and a
    # value seen once cannot become a feature of its own that only memorizes one row.
    max_levels: Int = Field(20, ge=1, le=10_000)
    min_count: Int = Field(5, ge=1)


# Larger images than this per side are a typo (or belong to a model nncheck cannot audit
# in memory); a pair [height, width] or one number for square images.
MAX_IMAGE_SIDE = 4096
MAX_BLOCK_SIZE = 65_536
ImageSide = Annotated[Int, Field(ge=1, le=MAX_IMAGE_SIDE)]


class DataSection(_Strict):
    # A data file, or `factory: "module:function"` returning (train, test) as Python
    # objects (numpy (x, y), a pandas DataFrame, a torch Dataset or DataLoader).
    train: Union[Source, None] = None
    factory: Union[str, None] = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    # A column (csv/parquet, DataFrame), an array key (npz), a column index (npy), or the
    # target key of dict batches; task multilabel: a list of 0/1 columns (one per label),
    # or an npz key holding an (N, L) 0/1 matrix.
    target: Union[str, Int, Annotated[list[str], Field(min_length=2)], None] = None
    # The input key of dict batches (a Dataset whose items are {"image": ..., "label": ...}).
    input_key: Union[str, None] = None
    test: Union[FractionSplit, str, PairSource] = Field(default_factory=FractionSplit)
    task: Literal[
        "classification",
        "regression",
        "language_model",
        "sequence_classification",
        "multilabel",
        None,
    ] = None
    # None: standardize a data file; leave the user's own pipeline's output as it is.
    normalize: Literal["none", "standardize", "minmax", "scale255", None] = None
    second_annotation: Union[str, None] = None
    classes: Union[Int, list[ClassName], None] = None
    # Items of a Python data source the data checks read at most (a seeded sample, said in
    # the report); the default keeps MNIST-sized data whole.
    max_samples: Int = Field(60_000, ge=1)
    # Where the data stage's duplicate, leak and near-pair findings run: on the splits in
    # memory (default); streamed in chunks over files that need not fit in memory (npy
    # memory maps, shard folders, parquet: `{images: ..., labels: labels.npy}` for both
    # splits), the other checks and the model stages reading a seeded sample of
    # max_samples rows; or the same streaming as tasks on a Dask cluster.
    engine: Literal["memory", "stream", "dask"] = "memory"
    # engine dask: a running scheduler (tcp://host:8786); none: $NNCHECK_DASK_SCHEDULER,
    # else a LocalCluster of 2 single-threaded workers.
    scheduler: Union[str, None] = None

    # Resize every image file to this (height, width); one number is a square.
    image_size: Union[
        ImageSide, Annotated[list[ImageSide], Field(min_length=2, max_length=2)], None
    ] = None

    # language_model: a .txt file is cut into blocks of this many characters (inputs) plus
    # one (the next-character targets); an npz of token ids keeps its own length.
    block_size: Union[Annotated[Int, Field(ge=1, le=MAX_BLOCK_SIZE)], None] = None
    # language_model: this token id is padding, excluded from the loss and the checks.
    pad_token: Union[Annotated[Int, Field(ge=0, le=MAX_CLASSES)], None] = None

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
    def _one_source(self, info: Any) -> DataSection:
        if self.train is None and self.factory is None:
            raise ValueError(
                'needs train (a data file) or factory ("module:function" returning (train, test))'
            )
        if self.train is not None and self.factory is not None:
            raise ValueError("takes train (a file) or factory, not both")
        if self.factory is not None and not isinstance(self.test, FractionSplit):
            raise ValueError("data.test: with data.factory the factory returns the test split")
        if self.factory is None and (self.kwargs or self.input_key) and not _from_python(info):
            extra = "kwargs" if self.kwargs else "input_key"
            raise ValueError(f"data.{extra} is for data.factory; this recipe reads a file")
        if self.engine != "memory" and (self.factory is not None or _from_python(info)):
            raise ValueError(
                f"data.engine {self.engine} streams data files ({{images: ..., labels: ...}});"
                " Python data objects are read in memory (data.engine: memory)"
            )
        if self.scheduler is not None and self.engine != "dask":
            raise ValueError("data.scheduler is the Dask scheduler of data.engine: dask")
        if self.normalize is None:
            self.normalize = "none" if self.factory is not None else "standardize"
        return self

    @model_validator(mode="after")
    def _multilabel_target(self) -> DataSection:
        if isinstance(self.target, list):
            if self.task not in (None, "multilabel"):
                raise ValueError(
                    f"data.target lists {len(self.target)} columns, which is a multilabel"
                    f" target; the task is {self.task} (one target column)"
                )
            if len(set(self.target)) != len(self.target):
                raise ValueError("data.target: a label column is listed twice")
            self.task = "multilabel"
        if self.task == "multilabel" and self.classes is not None:
            raise ValueError("data.classes: a multilabel task's labels are its target columns")
        return self

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
    # None means "the natural loss for the task": cross_entropy / mse / bce (multilabel:
    # a sigmoid and binary cross-entropy per label, summed over the labels).
    loss: Literal["cross_entropy", "mse", "bce", None] = None
    factory: Union[str, None] = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @model_validator(mode="after")
    def _torch_needs_factory(self) -> ModelSection:
        if self.engine == "torch" and not self.factory:
            raise ValueError('engine: torch needs factory: "module:function"')
        return self


BUILTIN_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
BUILTIN_LOSSES = ("cross_entropy", "mse")


class TrainSection(_Strict):
    # A builtin name (with `lr`), or "module:function": optimizer(model) -> Optimizer.
    optimizer: str = "adam"
    lr: Float = Field(1e-3, ge=0.0)
    batch_size: Int = Field(32, ge=1)
    steps: Int = Field(500, ge=1, le=MAX_STEPS)
    # The user's own pieces (torch engine), each "module:name" found like model.factory:
    # a loss (a builtin name, a callable(outputs, targets), or an nn.Module class built
    # with loss_kwargs), scheduler(optimizer) -> LR scheduler, and
    # step(model, batch, optimizer, loss) -> loss.
    loss: Union[str, None] = None
    loss_kwargs: dict[str, Any] = Field(default_factory=dict)
    scheduler: Union[str, None] = None
    step: Union[str, None] = None

    @field_validator("optimizer", "loss", "scheduler", "step")
    @classmethod
    def _builtin_or_user_code(cls, v: Any, info: Any) -> Any:
        known = {"optimizer": BUILTIN_OPTIMIZERS, "loss": BUILTIN_LOSSES}
        builtins = known.get(info.field_name, ())
        if v is None or v in builtins or ":" in v or _from_python(info):
            return v
        names = ", ".join(repr(b) for b in builtins)
        expected = f'{names}, or "module:function"' if names else '"module:function"'
        raise ValueError(f"expected {expected}")

    @property
    def user_pieces(self) -> list[str]:
        """The keys naming the user's own code (they need the torch engine)."""
        names = [f"train.{k}" for k in ("loss", "scheduler", "step") if getattr(self, k)]
        if self.loss in BUILTIN_LOSSES:
            names.remove("train.loss")
        if self.optimizer not in BUILTIN_OPTIMIZERS:
            names.insert(0, "train.optimizer")
        return names


def _from_python(info: Any) -> bool:
    """True while ``nncheck.audit`` validates a recipe whose pieces are Python objects (their
    fields then hold a description of the object, not a "module:name" string)."""
    return bool(info.context and info.context.get("python_objects"))


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
    # The user's pieces as Python objects (set by nncheck.audit; None for a recipe file,
    # whose "module:name" strings are resolved when the run starts).
    _objects: Any = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Union[str, None]:
        return self._base_dir

    @property
    def objects(self) -> Any:
        return self._objects

    @model_validator(mode="after")
    def _pieces_need_torch(self) -> Recipe:
        pieces = self.train.user_pieces
        if pieces and self.model.engine != "torch":
            raise ValueError(
                f"{pieces[0]}: the user's own training code runs on model.engine: torch "
                f"(this recipe uses {self.model.engine})"
            )
        if self.train.loss in BUILTIN_LOSSES and self.model.loss not in (None, self.train.loss):
            raise ValueError(
                f"train.loss {self.train.loss} and model.loss {self.model.loss} disagree; "
                "set the loss once"
            )
        builtin_loss = self.train.loss is None or self.train.loss in BUILTIN_LOSSES
        if self.train.loss_kwargs and builtin_loss:
            raise ValueError('train.loss_kwargs: needs train.loss: "module:LossClass"')
        return self
