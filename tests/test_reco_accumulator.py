"""ccreco.reco.accumulator: the typed accumulator coffea adds up."""

from __future__ import annotations

import numpy as np

from ccreco.reco.accumulator import COUNTERS, Moments, RecoAccumulator
from ccreco.reco.hists import book


def _block(seed: int, file_index: int, truth: bool) -> RecoAccumulator:
    rng = np.random.default_rng(seed)
    values = rng.normal(10, 2, 50)
    hists = book(truth)
    hists["n_peaks"].fill(values)
    acc = RecoAccumulator(hists=hists, sums={"n_peaks": Moments.of(np.append(values, np.nan))})
    acc.counters.update(chunks=1, waveforms_read=50, waveforms_reconstructed=50)
    acc.parts = [(file_index, 100 * seed, f"part{seed}.root")]
    acc.skipped = [{"file": f"f{seed}", "entry_start": 0}]
    acc.reco_s = 1.0
    return acc


def test_sum_is_exact_associative_and_has_an_identity() -> None:
    a, b, c = _block(1, 1, True), _block(2, 0, False), _block(3, 0, True)
    left, right = (a + b) + c, a + (b + c)
    assert left.counters == right.counters and left.counters["waveforms_read"] == 150
    assert list(left.counters) == list(COUNTERS)
    assert left.sums["n_peaks"].n == 150  # the NaN of each block left out
    assert np.isclose(left.sums["n_peaks"].sum, right.sums["n_peaks"].sum)
    assert left.hists["n_peaks"].sum().value == right.hists["n_peaks"].sum().value == 150
    assert set(left.hists) == set(book(True))  # blocks with and without truth histograms merge
    assert left.sorted_parts() == ["part2.root", "part3.root", "part1.root"]
    assert len(left.skipped) == 3 and left.reco_s == 3.0
    one = RecoAccumulator() + a
    assert one.counters == a.counters and one.hists["n_peaks"].sum().value == 50
    assert a.counters["waveforms_read"] == 50  # the operands are unchanged


def test_coffea_adds_it() -> None:
    from coffea.processor import accumulate

    total = accumulate([_block(1, 0, False), _block(2, 0, False)])
    assert isinstance(total, RecoAccumulator) and total.counters["chunks"] == 2
