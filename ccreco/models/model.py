"""The torch modules, each defined once, and their I/O description (torch imported here).

:func:`build_peak_model` and :func:`build_cluster_model` return the module together with a
:class:`ModelInfo` (input names, per-example shapes, output names). Training feeds the module
through :meth:`fit_forward` / :meth:`fit_target`; export and the parity tests use ``forward``,
whose output is what the ONNX file returns (a probability, or a number of clusters).

Input standardisation is part of the graph, so an exported model takes raw inputs:

- peaks: ``(x - mean over the window) * scale`` with ``scale`` fitted on the training windows
  (subtracting the window mean is idempotent, so mean-subtracted windows work too);
- clusters: the network predicts ``(n - target_offset) / target_scale`` and ``forward``
  returns ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ccreco.models.config import ClusterModelConfig, PeakClusterConfig, PeakModelConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}


@dataclass(frozen=True)
class ModelInfo:
    """Names and shapes of a model's inputs and outputs (batch axis excluded).

    Attributes
    ----------
    kind : {"peaks", "clusters", "peak_clusters"}
        Which step the model serves.
    input_names : tuple of str
        ONNX input names, in ``forward`` argument order.
    input_shapes : tuple of tuple of int
        Per-example shape of each input.
    output_names : tuple of str
        ONNX output names.
    """

    kind: str
    input_names: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_names: tuple[str, ...]

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Seeded random float32 inputs of the right shapes.

        Parameters
        ----------
        batch : int
            Batch size.
        seed : int
            Seed of the generator.

        Returns
        -------
        tuple of torch.Tensor
            One tensor per input.
        """
        gen = torch.Generator().manual_seed(seed)
        return tuple(torch.randn((batch, *s), generator=gen) for s in self.input_shapes)


class PeakClassifier(nn.Module):
    """Recurrent classifier of candidate windows; ``forward`` returns P(signal), shape (batch, 1).

    Parameters
    ----------
    cfg : PeakModelConfig
        Topology.

    Notes
    -----
    For LSTM cells the hidden-to-hidden bias is frozen at zero: it is redundant with the
    input-to-hidden bias, and freezing it makes the trainable parameter count equal to the
    Keras one (6,531 for the ``compact`` preset).
    """

    scale: torch.Tensor  # buffers registered in __init__ (nn.Module's __getattr__ is untyped)

    def __init__(self, cfg: PeakModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("scale", torch.ones(()))
        rnn_cls = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            input_size=1,
            hidden_size=cfg.hidden,
            num_layers=cfg.layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        if cfg.cell == "lstm":
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_hh"):
                    with torch.no_grad():
                        p.zero_()
                    p.requires_grad_(False)
        layers: list[nn.Module] = [nn.Dropout(cfg.dropout)]
        width = cfg.hidden
        for i, d in enumerate(cfg.dense):
            layers.append(nn.Linear(width, d))
            if i < len(cfg.dense) - 1 or cfg.activation_last:
                layers += [_ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            width = d
        layers.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*layers)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid output for raw windows ``x`` of shape (batch, window_length, 1)."""
        x = (x - x.mean(dim=1, keepdim=True)) * self.scale
        out, _ = self.rnn(x)
        logits: torch.Tensor = self.head(out[:, -1, :])
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probability that the candidate is a signal peak, shape (batch, 1)."""
        return torch.sigmoid(self.logits(x))

    def fit_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Training-space output (logits; the loss is BCE with logits)."""
        return self.logits(x)

    def fit_target(self, y: torch.Tensor) -> torch.Tensor:
        """Training-space target (the 0/1 labels as float)."""
        return y.float().reshape(-1, 1)

    def from_fit_output(self, out: torch.Tensor) -> torch.Tensor:
        """Map training-space output (logits) to the ``forward`` output (probabilities)."""
        return torch.sigmoid(out)

    def set_normalization(self, windows: torch.Tensor) -> float:
        """Fit ``scale`` = 1 / std of the mean-subtracted training windows.

        Parameters
        ----------
        windows : torch.Tensor
            Training windows (batch, window_length, 1).

        Returns
        -------
        float
            The fitted scale.
        """
        centred = windows - windows.mean(dim=1, keepdim=True)
        std = float(centred.std())
        scale = 1.0 / std if std > 0 else 1.0
        self.scale.fill_(scale)
        return scale


class ClusterCNN(nn.Module):
    """1-D CNN regressing the number of clusters; ``forward`` returns counts, shape (batch, 1).

    Parameters
    ----------
    cfg : ClusterModelConfig
        Topology, encoding and optional extra scalar inputs.
    """

    target_offset: torch.Tensor  # buffers registered in __init__
    target_scale: torch.Tensor
    extra_offset: torch.Tensor
    extra_scale: torch.Tensor

    def __init__(self, cfg: ClusterModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("target_offset", torch.zeros(()))
        self.register_buffer("target_scale", torch.ones(()))
        n_extra = len(cfg.extra)
        self.register_buffer("extra_offset", torch.zeros(n_extra))
        self.register_buffer("extra_scale", torch.ones(n_extra))
        convs: list[nn.Module] = []
        channels, length = 1, cfg.bins
        for filters, kernel in cfg.conv:
            convs += [
                nn.Conv1d(channels, filters, kernel),
                _ACTIVATIONS[cfg.activation](),
                nn.MaxPool1d(cfg.pool),
            ]
            channels, length = filters, (length - kernel + 1) // cfg.pool
        self.conv = nn.Sequential(*convs, nn.Flatten())
        width = channels * length + n_extra
        dense: list[nn.Module] = []
        for d in cfg.dense:
            dense += [nn.Linear(width, d), _ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            width = d
        dense.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*dense)

    def fit_forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Standardised prediction for encoded inputs ``x`` of shape (batch, bins, 1)."""
        h = self.conv(x.transpose(1, 2))
        if self.cfg.extra:
            if extra is None:
                raise ValueError(f"this model needs extra inputs {list(self.cfg.extra)}")
            h = torch.cat([h, (extra - self.extra_offset) * self.extra_scale], dim=1)
        out: torch.Tensor = self.head(h)
        return out

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted number of clusters, shape (batch, 1)."""
        return self.from_fit_output(self.fit_forward(x, extra))

    def fit_target(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised target ``(n - target_offset) / target_scale`` (the count for ``exp``)."""
        if self.cfg.output == "exp":
            return y.float().reshape(-1, 1)
        return (y.float().reshape(-1, 1) - self.target_offset) / self.target_scale

    def from_fit_output(self, out: torch.Tensor) -> torch.Tensor:
        """Map the training-space output to a number of clusters."""
        if self.cfg.output == "exp":
            return torch.exp(out)
        return out * self.target_scale + self.target_offset

    def set_normalization(self, y: torch.Tensor, extra: torch.Tensor | None = None) -> dict[str, list[float] | float]:
        """Fit target (and extra-input) standardisation on the training sample.

        Parameters
        ----------
        y : torch.Tensor
            Training targets.
        extra : torch.Tensor, optional
            Training extra inputs (batch, n_extra).

        Returns
        -------
        dict
            The fitted offsets and scales.
        """
        y = y.float()
        std = float(y.std()) if y.numel() > 1 else 0.0
        if self.cfg.output == "exp":  # a rate: no standardisation, the output starts at the mean
            with torch.no_grad():
                cast(nn.Linear, self.head[-1]).bias.fill_(float(torch.log(torch.clamp(y.mean(), min=1e-3))))
        else:
            self.target_offset.fill_(float(y.mean()))
            self.target_scale.fill_(std if std > 0 else 1.0)
        if self.cfg.extra and extra is not None:
            mean, sd = extra.float().mean(dim=0), extra.float().std(dim=0)
            self.extra_offset.copy_(mean)
            # a (nearly) constant input, e.g. the track length of perpendicular tracks in a square
            # cell, keeps scale 1 instead of 1/rounding-noise
            varies = sd > 1e-4 * torch.clamp(mean.abs(), min=1.0)
            self.extra_scale.copy_(torch.where(varies, 1.0 / sd, torch.ones_like(sd)))
        return {
            "target_offset": float(self.target_offset),
            "target_scale": float(self.target_scale),
            "extra_offset": self.extra_offset.tolist(),
            "extra_scale": self.extra_scale.tolist(),
        }


class PeakClusterNet(nn.Module):
    """Per-peak cluster model: ``forward`` returns the expected clusters each candidate opens.

    Input ``(batch, 2 * context + 1, channels)`` from :func:`ccreco.models.encoding.peak_context`;
    output ``lambda`` of shape (batch, 1). Training maximises the Poisson likelihood of the
    per-candidate target (:func:`ccreco.models.dataset.peak_cluster_targets`), whose sum over a
    waveform is its number of clusters; the count of a waveform is the sum of ``lambda``.

    Parameters
    ----------
    cfg : PeakClusterConfig
        Context and topology.
    """

    channel_offset: torch.Tensor  # buffers registered in __init__
    channel_scale: torch.Tensor

    def __init__(self, cfg: PeakClusterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        slots, channels = cfg.input_shape
        self.register_buffer("channel_offset", torch.zeros(channels))
        self.register_buffer("channel_scale", torch.ones(channels))
        layers: list[nn.Module] = [nn.Flatten()]
        width = slots * channels
        for d in cfg.dense:
            layers += [nn.Linear(width, d), _ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            width = d
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def fit_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``log(lambda)`` for context inputs ``x`` (empty slots stay zero after scaling)."""
        present = x[:, :, :1]
        z = (x - self.channel_offset) * self.channel_scale * present
        log_rate: torch.Tensor = self.net(z)
        return log_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expected number of clusters opened by each candidate, shape (batch, 1)."""
        return torch.exp(self.fit_forward(x))

    def fit_target(self, y: torch.Tensor) -> torch.Tensor:
        """The per-candidate cluster count as float."""
        return y.float().reshape(-1, 1)

    def from_fit_output(self, out: torch.Tensor) -> torch.Tensor:
        """``exp`` of the training-space output."""
        return torch.exp(out)

    def set_normalization(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, list[float]]:
        """Fit per-channel standardisation on the occupied slots of the training inputs.

        Parameters
        ----------
        x : torch.Tensor
            Training inputs (batch, slots, channels).
        y : torch.Tensor, optional
            Training targets: the output bias starts at ``log(mean y)``.

        Returns
        -------
        dict
            ``channel_offset`` and ``channel_scale``.
        """
        flat = x.reshape(-1, x.shape[-1])
        occupied = flat[flat[:, 0] > 0]
        if occupied.shape[0] > 1:
            mean, sd = occupied.mean(dim=0), occupied.std(dim=0)
            mean[0], sd[0] = 0.0, 1.0  # the presence flag stays 0/1
            self.channel_offset.copy_(mean)
            self.channel_scale.copy_(torch.where(sd > 1e-6, 1.0 / sd, torch.ones_like(sd)))
        if y is not None and y.numel():
            rate = float(y.float().mean())
            with torch.no_grad():
                cast(nn.Linear, self.net[-1]).bias.fill_(float(torch.log(torch.tensor(max(rate, 1e-3)))))
        return {"channel_offset": self.channel_offset.tolist(), "channel_scale": self.channel_scale.tolist()}


def build_peak_model(cfg: PeakModelConfig) -> tuple[PeakClassifier, ModelInfo]:
    """Build the step-1 classifier and its I/O description from one config.

    Parameters
    ----------
    cfg : PeakModelConfig
        Topology and window; the input shape is ``cfg.input_shape``.

    Returns
    -------
    (PeakClassifier, ModelInfo)
        The module and its input ``windows`` / output ``probability`` description.
    """
    info = ModelInfo("peaks", ("windows",), (cfg.input_shape,), ("probability",))
    return PeakClassifier(cfg), info


def build_cluster_model(cfg: ClusterModelConfig) -> tuple[ClusterCNN, ModelInfo]:
    """Build the step-2 CNN and its I/O description from one config.

    Parameters
    ----------
    cfg : ClusterModelConfig
        Topology and encoding; inputs ``encoded`` (bins, 1) and, with ``cfg.extra``, ``extra``.

    Returns
    -------
    (ClusterCNN, ModelInfo)
        The module and its I/O description (output ``n_clusters``).
    """
    names: tuple[str, ...] = ("encoded",)
    shapes: tuple[tuple[int, ...], ...] = (cfg.input_shape,)
    if cfg.extra:
        names, shapes = names + ("extra",), shapes + ((len(cfg.extra),),)
    return ClusterCNN(cfg), ModelInfo("clusters", names, shapes, ("n_clusters",))


def build_peak_cluster_model(cfg: PeakClusterConfig) -> tuple[PeakClusterNet, ModelInfo]:
    """Build the per-peak cluster model and its I/O description.

    Parameters
    ----------
    cfg : PeakClusterConfig
        Context and topology; input ``context`` of shape ``cfg.input_shape``.

    Returns
    -------
    (PeakClusterNet, ModelInfo)
        The module and its I/O description (kind ``peak_clusters``, output ``clusters_opened``).
    """
    info = ModelInfo("peak_clusters", ("context",), (cfg.input_shape,), ("clusters_opened",))
    return PeakClusterNet(cfg), info


class RunLevelRegression(nn.Module):
    """The run-level correction's ridge regression: ``forward`` returns each run's level, shape (batch, 1).

    ``level = exp(((statistics - mean) / scale) @ coef + intercept)`` (standardised values held
    within +-10), the fitted numbers held as buffers (:class:`ccreco.models.runlevel.RunLevelFit`).

    Parameters
    ----------
    fit : RunLevelFit
        The fitted regression.
    """

    mean: torch.Tensor  # buffers registered in __init__
    scale: torch.Tensor
    coef: torch.Tensor
    intercept: torch.Tensor

    def __init__(self, fit: Any) -> None:
        super().__init__()
        for name in ("mean", "scale", "coef"):
            self.register_buffer(name, torch.as_tensor(np.asarray(getattr(fit, name)), dtype=torch.float32))
        self.register_buffer("intercept", torch.tensor(float(fit.intercept), dtype=torch.float32))

    def forward(self, statistics: torch.Tensor) -> torch.Tensor:
        # standardised values beyond 10 standard deviations are held there (finite on any input;
        # the reconstruction refuses statistics outside the training range before this)
        z = torch.clamp((statistics - self.mean) / self.scale, -10.0, 10.0)
        return torch.exp(z @ self.coef + self.intercept).unsqueeze(-1)


def build_run_level_model(fit: Any) -> tuple[RunLevelRegression, ModelInfo]:
    """Build the run-level regression module and its I/O description.

    Parameters
    ----------
    fit : RunLevelFit
        The fitted regression (:func:`ccreco.models.runlevel.fit_run_level`).

    Returns
    -------
    (RunLevelRegression, ModelInfo)
        The module and its I/O description (kind ``run_level``, input ``statistics``, output ``level``).
    """
    info = ModelInfo("run_level", ("statistics",), ((len(fit.coef),),), ("level",))
    return RunLevelRegression(fit), info


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.
    trainable_only : bool
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int
        The parameter count.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "ClusterCNN",
    "ModelInfo",
    "PeakClassifier",
    "PeakClusterNet",
    "RunLevelRegression",
    "build_peak_cluster_model",
    "build_cluster_model",
    "build_peak_model",
    "build_run_level_model",
    "count_parameters",
]
