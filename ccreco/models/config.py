"""Typed, validated configurations of the two models and of their training (no torch here).

Each model is described once by a frozen dataclass; the torch module, the exported ONNX graph
and the inference checks all derive their shapes from it. The LSTM input length is
``window_left + window_right + 1`` (defaults from :mod:`ccreco.constants`), the CNN input length
is the encoding's ``bins``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccreco.config import coerce_fields
from ccreco.constants import CNN_BINS, WINDOW_LEFT, WINDOW_NS, WINDOW_RIGHT
from ccreco.errors import ConfigError

#: Recurrent cells of the step-1 classifier.
CELLS: tuple[str, ...] = ("lstm", "gru")
#: Activations accepted for hidden dense / convolution layers.
ACTIVATIONS: tuple[str, ...] = ("relu", "selu", "sigmoid", "tanh")
#: Optimizers accepted by the training loop.
OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop", "sgd")
#: Class balancing strategies of the step-1 training sample.
BALANCING: tuple[str, ...] = ("undersample", "none")
#: Step-2 encodings of the detected peak times.
ENCODINGS: tuple[str, ...] = ("binary", "counts")
#: Step-1 (classification) losses: binary cross-entropy (default) and binary focal loss.
PEAK_LOSSES: tuple[str, ...] = ("bce", "focal")
#: Step-2 (regression) losses on the standardised target: MSE (default), MAE and Huber.
CLUSTER_LOSSES: tuple[str, ...] = ("mse", "mae", "huber", "poisson")
#: Output transforms of the step-2 CNN: ``linear`` (standardised regression, the MSE/MAE/Huber
#: losses) or ``exp`` (a Poisson rate, with the ``poisson`` loss on the raw count).
CLUSTER_OUTPUTS: tuple[str, ...] = ("linear", "exp")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_positive(name: str, value: float, *, zero: bool = False) -> None:
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{name} must be {'>= 0' if zero else '> 0'}; got {value!r}")


@dataclass(frozen=True)
class PeakModelConfig:
    """Step-1 recurrent classifier of candidate windows (signal peak vs noise).

    Topology: ``cell(hidden) x layers -> dense[0] -> ... -> dense[-1] -> dense(1, sigmoid)``.
    Every dense layer except the last one of ``dense`` applies ``activation``; the last one is
    linear (as in the reference, where a ``Dense(1)`` feeds the sigmoid output), unless
    ``activation_last`` is set. Dropout follows the recurrent output and every activated dense
    layer (and sits between stacked recurrent layers).

    Attributes
    ----------
    cell : {"lstm", "gru"}
        Recurrent cell.
    hidden : int
        Units of each recurrent layer.
    layers : int
        Stacked recurrent layers.
    dense : tuple of int
        Widths of the dense layers between the recurrent output and the sigmoid output.
    activation : {"relu", "selu", "sigmoid", "tanh"}
        Activation of the hidden dense layers.
    activation_last : bool
        Also apply ``activation`` to the last layer of ``dense``.
    dropout : float
        Dropout probability in ``[0, 1)``.
    window_left, window_right : int
        Samples before / after the candidate sample; the input has
        ``window_left + window_right + 1`` samples.
    """

    cell: str = "lstm"
    hidden: int = 128
    layers: int = 1
    dense: tuple[int, ...] = (96, 1)
    activation: str = "relu"
    activation_last: bool = False
    dropout: float = 0.1
    window_left: int = WINDOW_LEFT
    window_right: int = WINDOW_RIGHT

    def __post_init__(self) -> None:
        coerce_fields(self)  # one converter for keyword arguments, --set and metadata (ccreco.config)
        object.__setattr__(self, "dense", tuple(int(d) for d in self.dense))
        _check_choice("cell", self.cell, CELLS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_positive("hidden", self.hidden)
        _check_positive("layers", self.layers)
        for d in self.dense:
            _check_positive("dense (each width)", d)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout!r}")
        _check_positive("window_left", self.window_left, zero=True)
        _check_positive("window_right", self.window_right, zero=True)

    @property
    def window_length(self) -> int:
        """Samples per input window (``window_left + window_right + 1``)."""
        return self.window_left + self.window_right + 1

    @property
    def input_shape(self) -> tuple[int, int]:
        """Shape of one input window: ``(window_length, 1)``."""
        return (self.window_length, 1)


#: Step-1 presets. ``anwar2024``: the published best topology (PHYSICS.md, step 1).
#: ``compact``: the IHEP-style LSTM 32 -> dense 64 (6,531 trainable parameters, as published).
PEAK_PRESETS: dict[str, PeakModelConfig] = {
    "anwar2024": PeakModelConfig(cell="lstm", hidden=128, dense=(96, 1), activation="relu", dropout=0.1),
    "compact": PeakModelConfig(cell="lstm", hidden=32, dense=(64, 1), activation="relu", dropout=0.1),
}


@dataclass(frozen=True)
class Encoding:
    """Step-2 encoding of detected peak times into a fixed-length array.

    Peak times ``t`` (ns from the start of the waveform) fall into bin
    ``floor((t - t0_ns) / bin_ns)`` with ``bin_ns = window_ns / bins``; times outside the window
    are dropped.

    Attributes
    ----------
    kind : {"binary", "counts"}
        Binary occupancy (default, as the reference) or the number of peaks per bin.
    bins : int
        Number of bins (the CNN input length).
    window_ns : float
        Length of the acquisition window covered by the bins.
    t0_ns : float
        Time of the lower edge of the first bin.
    """

    kind: str = "binary"
    bins: int = CNN_BINS
    window_ns: float = WINDOW_NS
    t0_ns: float = 0.0

    def __post_init__(self) -> None:
        coerce_fields(self)  # one converter for keyword arguments, --set and metadata (ccreco.config)
        _check_choice("encoding", self.kind, ENCODINGS)
        _check_positive("bins", self.bins)
        _check_positive("window_ns", self.window_ns)

    @property
    def bin_ns(self) -> float:
        """Bin width in ns."""
        return self.window_ns / self.bins


@dataclass(frozen=True)
class ClusterModelConfig:
    """Step-2 1-D CNN regressing the number of primary clusters from encoded peak times.

    Topology: ``[Conv1D(filters, kernel) -> activation -> MaxPool(pool)] per conv layer ->
    flatten [-> concat extra scalars] -> dense... (activation, dropout) -> dense(1)``, valid
    padding as in the Keras reference.

    Attributes
    ----------
    conv : tuple of (int, int)
        ``(filters, kernel_size)`` per convolution layer.
    pool : int
        Max-pooling size after each convolution.
    dense : tuple of int
        Hidden dense widths before the linear output.
    activation : {"relu", "selu", "sigmoid", "tanh"}
        Activation of convolution and hidden dense layers.
    dropout : float
        Dropout after each hidden dense layer.
    encoding : str
        :class:`Encoding` kind (``"binary"`` or ``"counts"``).
    bins : int
        Encoding bins = CNN input length.
    window_ns : float
        Acquisition window covered by the encoding.
    extra : tuple of str
        Names of optional per-waveform scalar inputs (e.g. ``("track_length_cm",)``), fed
        next to the flattened convolution output through a second ONNX input ``extra``.
    output : {"linear", "exp"}
        ``linear``: the network regresses the standardised count (MSE, MAE, Huber); ``exp``:
        it returns ``exp(.)``, a Poisson rate trained with the ``poisson`` loss on the count.
    """

    conv: tuple[tuple[int, int], ...] = ((32, 4), (16, 4))
    pool: int = 2
    dense: tuple[int, ...] = (32,)
    activation: str = "relu"
    dropout: float = 0.0
    encoding: str = "binary"
    bins: int = CNN_BINS
    window_ns: float = WINDOW_NS
    extra: tuple[str, ...] = ()
    output: str = "linear"

    def __post_init__(self) -> None:
        coerce_fields(self)  # one converter for keyword arguments, --set and metadata (ccreco.config)
        _check_choice("output", self.output, CLUSTER_OUTPUTS)
        conv = tuple((int(f), int(k)) for f, k in self.conv)
        object.__setattr__(self, "conv", conv)
        object.__setattr__(self, "dense", tuple(int(d) for d in self.dense))
        object.__setattr__(self, "extra", tuple(str(e) for e in self.extra))
        if not conv:
            raise ConfigError("conv needs at least one (filters, kernel) layer")
        for f, k in conv:
            _check_positive("conv filters", f)
            _check_positive("conv kernel", k)
        _check_positive("pool", self.pool)
        for d in self.dense:
            _check_positive("dense (each width)", d)
        _check_choice("activation", self.activation, ACTIVATIONS)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout!r}")
        self.to_encoding()  # validates encoding, bins, window_ns
        length = self.bins
        for _, k in conv:
            length = (length - k + 1) // self.pool
        if length < 1:
            raise ConfigError(
                f"conv/pool layers {conv} with pool {self.pool} reduce {self.bins} bins to nothing"
            )

    def to_encoding(self) -> Encoding:
        """The :class:`Encoding` this model reads.

        Returns
        -------
        Encoding
            Kind, bins and window of the input encoding.
        """
        return Encoding(kind=self.encoding, bins=self.bins, window_ns=self.window_ns)

    @property
    def input_shape(self) -> tuple[int, int]:
        """Shape of one input array: ``(bins, 1)``."""
        return (self.bins, 1)


#: Step-2 presets. ``ihep``: Conv1D 32 k4 -> pool -> Conv1D 16 k4 -> pool -> dense 32 -> 1.
#: ``wide``: a deeper and wider option (three convolutions, 64 hidden units, dropout 0.1).
CLUSTER_PRESETS: dict[str, ClusterModelConfig] = {
    "ihep": ClusterModelConfig(),
    "wide": ClusterModelConfig(conv=((64, 5), (64, 5), (32, 3)), dense=(64,), dropout=0.1),
}


@dataclass(frozen=True)
class PeakClusterConfig:
    """Step-2 per-peak model (formulation (b)): expected clusters opened by each candidate.

    Each step-1 candidate is seen with ``context`` neighbours on either side
    (:func:`ccreco.models.encoding.peak_context`); the channels are standardised inside the
    graph, flattened and passed through dense layers to ``log(lambda)``; the model returns
    ``lambda >= 0`` and the waveform's count is the sum over its candidates (linear in the
    number of candidates by construction: a candidate's output depends only on its neighbours).

    Attributes
    ----------
    context : int
        Neighbours on each side.
    dense : tuple of int
        Hidden widths.
    activation : {"relu", "selu", "sigmoid", "tanh"}
        Hidden activation.
    dropout : float
        Dropout after each hidden layer.
    waveform_channels : tuple of str
        Waveform-level channels added to every slot
        (:data:`ccreco.models.encoding.WAVEFORM_CHANNELS`; all four by default, ``()`` for
        none: they let the model see the track's electron density, docs/MODELS.md).
    """

    context: int = 6
    dense: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    dropout: float = 0.0
    waveform_channels: tuple[str, ...] = ("wf_score_sum", "wf_confident", "wf_span_ns", "wf_close_fraction")

    def __post_init__(self) -> None:
        coerce_fields(self)  # one converter for keyword arguments, --set and metadata (ccreco.config)
        object.__setattr__(self, "dense", tuple(int(d) for d in self.dense))
        if int(self.context) < 0:
            raise ConfigError(f"context must be >= 0; got {self.context!r}")
        object.__setattr__(self, "context", int(self.context))
        for d in self.dense:
            _check_positive("dense (each width)", d)
        _check_choice("activation", self.activation, ACTIVATIONS)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout!r}")
        from ccreco.models.encoding import context_channels

        try:
            object.__setattr__(self, "waveform_channels", tuple(self.waveform_channels))
            context_channels(self.waveform_channels)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"PeakClusterConfig.waveform_channels: {exc}") from exc

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names of one slot (stored as the model's ``channels`` metadata)."""
        from ccreco.models.encoding import context_channels

        return context_channels(self.waveform_channels)

    @property
    def input_shape(self) -> tuple[int, int]:
        """Shape of one example: ``(2 * context + 1, channels)``."""
        return (2 * self.context + 1, len(self.channels))


@dataclass(frozen=True)
class TrainConfig:
    """Training options shared by both steps (defaults: step 1; see :data:`CLUSTER_TRAIN`).

    Attributes
    ----------
    optimizer : {"adam", "rmsprop", "sgd"}
        Optimizer.
    learning_rate : float
        Optimizer learning rate.
    batch_size : int
        Minibatch size.
    epochs : int
        Maximum number of epochs.
    patience : int
        Stop after this many epochs without a better validation loss (0 disables).
    validation_fraction : float
        Fraction of the (shuffled) sample held out for validation.
    balance : {"undersample", "none"}
        Step 1 only: undersample the majority class (before the split).
    noise_per_signal : float
        Step 1 only: noise windows kept per signal window when undersampling.
    threshold : float
        Step 1 only: decision threshold on the output probability (stored in the model).
    auto_threshold : bool
        Step 1 only: store instead the threshold of
        :data:`~ccreco.models.train_peaks.THRESHOLD_SCAN` with the best F1 on held-out windows
        at the sample's natural signal/noise mix (chosen on validation data; reported).
    max_samples : int or None
        Cap on the number of training examples (after balancing), ``None`` for all.
    seed : int
        Seed of every random choice (split, balancing, initialisation, shuffling, dropout).
    threads : int
        ``torch.set_num_threads`` during training.
    loss : str or None
        Training loss; ``None`` takes the step's default. Step 1: ``"bce"`` (default, binary
        cross-entropy on logits) or ``"focal"`` (binary focal loss). Step 2: ``"mse"`` (default),
        ``"mae"`` or ``"huber"``, all on the standardised target. The trainer refuses a loss of
        the other step and records the resolved name in the model metadata.
    focal_gamma : float
        Focusing exponent of the focal loss (``gamma = 0`` with no ``focal_alpha`` is BCE).
    focal_alpha : float or None
        Weight of the signal class in ``(0, 1)`` for the focal loss (noise gets ``1 - alpha``);
        ``None`` weights both classes 1.
    huber_delta : float
        Huber loss transition point, in units of the standardised target (one standard
        deviation of the training ``n_clusters``).
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 150
    epochs: int = 50
    patience: int = 10
    validation_fraction: float = 0.3
    balance: str = "undersample"
    noise_per_signal: float = 1.0
    threshold: float = 0.5
    auto_threshold: bool = False
    max_samples: int | None = None
    seed: int = 0
    threads: int = 1
    loss: str | None = None
    focal_gamma: float = 2.0
    focal_alpha: float | None = None
    huber_delta: float = 1.0

    def __post_init__(self) -> None:
        coerce_fields(self)  # one converter for keyword arguments, --set and metadata (ccreco.config)
        if self.loss is not None:
            _check_choice("loss", self.loss, PEAK_LOSSES + CLUSTER_LOSSES)
        _check_positive("focal_gamma", self.focal_gamma, zero=True)
        if self.focal_alpha is not None and not 0.0 < self.focal_alpha < 1.0:
            raise ConfigError(f"focal_alpha must be in (0, 1) or None; got {self.focal_alpha!r}")
        _check_positive("huber_delta", self.huber_delta)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("balance", self.balance, BALANCING)
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("batch_size", self.batch_size)
        _check_positive("epochs", self.epochs)
        _check_positive("patience", self.patience, zero=True)
        _check_positive("noise_per_signal", self.noise_per_signal)
        _check_positive("threads", self.threads)
        if not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be in (0, 1); got {self.threshold!r}")
        if self.max_samples is not None:
            _check_positive("max_samples", self.max_samples)


    def resolved_loss(self, step: str) -> str:
        """The loss used for ``step``: ``loss``, or the step's default when it is ``None``.

        Parameters
        ----------
        step : {"peaks", "clusters"}
            The training step.

        Returns
        -------
        str
            ``"bce"``/``"focal"`` for peaks, ``"mse"``/``"mae"``/``"huber"`` for clusters.

        Raises
        ------
        ConfigError
            ``loss`` belongs to the other step.
        """
        allowed = PEAK_LOSSES if step == "peaks" else CLUSTER_LOSSES
        if self.loss is None:
            return allowed[0]
        if self.loss not in allowed:
            raise ConfigError(
                f"loss {self.loss!r} is not a {step} loss; the {step} step takes "
                f"{', '.join(allowed)}"
            )
        return self.loss


#: Step-1 training defaults (Adam, BCE, batch 150, 50 epochs, 70/30 split).
PEAK_TRAIN: TrainConfig = TrainConfig(loss="bce")
#: Step-2 training defaults (RMSprop, MSE, batch 250, 200 epochs, 70/30 split).
CLUSTER_TRAIN: TrainConfig = TrainConfig(
    optimizer="rmsprop", batch_size=250, epochs=200, patience=20, balance="none", loss="mse"
)


def with_overrides(configs: tuple[Any, ...], overrides: Mapping[str, str]) -> tuple[Any, ...]:
    """Apply ``--set key=value`` strings to whichever config of ``configs`` has the field.

    Parameters
    ----------
    configs : tuple of dataclass instances
        The configs to update (their field names must not overlap).
    overrides : mapping of str to str
        Field name to unconverted value. Tuples are comma separated (``dense=96,1``); conv
        layers are ``filtersxkernel`` (``conv=32x4,16x4``); ``none`` means ``None``.

    Returns
    -------
    tuple
        New config instances, validated.

    Raises
    ------
    ConfigError
        An unknown key (listing the known ones) or a value that does not convert or validate.
    """
    from ccreco.config import convert_value, field_types

    updates: list[dict[str, Any]] = [{} for _ in configs]
    for key, raw in overrides.items():
        for i, cfg in enumerate(configs):
            kinds = field_types(type(cfg))
            if key in kinds:
                updates[i][key] = convert_value(raw, kinds[key], name=f"--set {key}")
                break
        else:
            known = sorted(f.name for cfg in configs for f in dataclasses.fields(cfg))
            raise ConfigError(f"--set: unknown key {key!r}; known keys: {', '.join(known)}")
    return tuple(dataclasses.replace(cfg, **upd) for cfg, upd in zip(configs, updates, strict=True))


def to_json(cfg: Any) -> str:
    """Serialize a config dataclass to compact, key-sorted JSON.

    Parameters
    ----------
    cfg : dataclass instance
        A config of this module.

    Returns
    -------
    str
        The JSON text (tuples become lists).
    """
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Rebuild a config dataclass from :func:`to_json`'s dict (lists become tuples).

    Parameters
    ----------
    cls : type
        The dataclass.
    data : mapping
        Field values; unknown keys raise.

    Returns
    -------
    dataclass instance
        The validated config.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown fields {sorted(unknown)}")

    def _tuple(v: Any) -> Any:
        return tuple(_tuple(x) for x in v) if isinstance(v, list) else v

    return cls(**{k: _tuple(v) for k, v in data.items()})


__all__ = [
    "ACTIVATIONS",
    "BALANCING",
    "CELLS",
    "CLUSTER_LOSSES",
    "CLUSTER_OUTPUTS",
    "CLUSTER_PRESETS",
    "CLUSTER_TRAIN",
    "ClusterModelConfig",
    "ENCODINGS",
    "Encoding",
    "OPTIMIZERS",
    "PEAK_LOSSES",
    "PeakClusterConfig",
    "PEAK_PRESETS",
    "PEAK_TRAIN",
    "PeakModelConfig",
    "TrainConfig",
    "from_dict",
    "to_json",
    "with_overrides",
]
