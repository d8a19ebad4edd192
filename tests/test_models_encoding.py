"""Step-2 encoding of peak times (numpy only)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from ccreco.constants import CNN_BINS, WINDOW_NS
from ccreco.models.config import Encoding
from ccreco.models.encoding import encode_flat, encode_peak_times, flatten_times


def test_default_encoding_from_constants() -> None:
    enc = Encoding()
    assert (enc.bins, enc.window_ns, enc.kind) == (CNN_BINS, WINDOW_NS, "binary")
    assert enc.bin_ns == pytest.approx(WINDOW_NS / CNN_BINS)


def test_binary_and_counts() -> None:
    times = [[0.1, 0.9, 2.5, 3.99], [], [1.0]]
    binary = encode_peak_times(times, Encoding(bins=4, window_ns=4.0))
    counts = encode_peak_times(times, Encoding(kind="counts", bins=4, window_ns=4.0))
    assert binary.shape == (3, 4, 1) and binary.dtype == np.float32
    assert binary[..., 0].tolist() == [[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]]
    assert counts[..., 0].tolist() == [[2, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]]


def test_out_of_window_times_are_dropped_and_t0_shifts() -> None:
    enc = Encoding(bins=4, window_ns=4.0, t0_ns=1.0)
    x = encode_peak_times([[0.5, 1.0, 4.9, 5.0, -3.0]], enc)
    assert x[0, :, 0].tolist() == [1, 0, 0, 1]


def test_awkward_and_list_inputs_agree() -> None:
    rng = np.random.default_rng(3)
    times = [np.sort(rng.uniform(0, WINDOW_NS, k)) for k in rng.poisson(15, 50)]
    a = encode_peak_times(times)
    b = encode_peak_times(ak.Array([t.tolist() for t in times]))
    flat, counts = flatten_times(times)
    c = encode_flat(flat, counts)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert a.sum() <= sum(len(t) for t in times)


def test_empty_input() -> None:
    assert encode_peak_times([]).shape == (0, CNN_BINS, 1)


def test_counts_must_match() -> None:
    with pytest.raises(ValueError, match="counts sum"):
        encode_flat(np.array([1.0, 2.0]), np.array([1]))
