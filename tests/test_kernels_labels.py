"""One-to-one matching and candidate labels against the definition, from truth and from tags."""

from __future__ import annotations

import awkward as ak
import kernels_reference as ref
import numpy as np
import pytest

from ccreco.errors import MissingBranchError
from ccreco.kernels import CandidateConfig, candidate_labels, candidate_windows, match_peaks, truth_peak_samples


def flat(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    values = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]) if lists else np.zeros(0, np.int64)
    return values, offsets


def test_match_against_greedy_definition() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 4))
        refs = [sorted(rng.integers(0, 40, size=int(rng.integers(0, 12))).tolist()) for _ in range(n)]
        dets = [sorted(set(rng.integers(0, 40, size=int(rng.integers(0, 12))).tolist())) for _ in range(n)]
        if rng.random() < 0.3:  # duplicated detections too
            dets = [sorted(d + d[:2]) for d in dets]
        tol = int(rng.integers(0, 4))
        r, ro = flat(refs)
        d, do = flat(dets)
        rm, dm = match_peaks(r, ro, d, do, tol)
        for w in range(n):
            erm, edm = ref.match(refs[w], dets[w], tol)
            got_rm = [x - do[w] if x >= 0 else -1 for x in rm[ro[w]:ro[w + 1]]]
            got_dm = [x - ro[w] if x >= 0 else -1 for x in dm[do[w]:do[w + 1]]]
            # partners may differ only among identical positions; compare positions
            assert [dets[w][k] if k >= 0 else None for k in got_rm] == \
                   [dets[w][k] if k >= 0 else None for k in erm]
            assert sum(k >= 0 for k in got_dm) == sum(k >= 0 for k in edm)


def test_match_is_one_to_one_and_prefers_the_closest() -> None:
    r, ro = flat([[10, 10, 20]])
    d, do = flat([[8, 10, 19, 21]])
    rm, dm = match_peaks(r, ro, d, do, 2)
    assert rm.tolist() == [1, 0, 2]  # first 10 takes the exact hit, the second one 8
    assert dm.tolist() == [1, 0, 2, -1]
    with pytest.raises(ValueError, match="sorted"):
        match_peaks(np.array([5, 3]), np.array([0, 2]), d, do, 1)


def truth_from(peaks: list[np.ndarray]) -> ak.Array:
    return ak.Array({"electron_peak_ns": [p.tolist() for p in peaks],
                     "n_clusters": [len(p) for p in peaks]})


def test_labels_from_electron_peaks() -> None:
    wf, peaks = ref.synthetic(30, 500, seed=12, noise=0.5)
    cfg = CandidateConfig(threshold=2.0)
    cw = candidate_windows(wf, cfg)
    labels = candidate_labels(cw, truth_from(peaks))
    assert labels.dtype == np.int8 and labels.shape == (len(cw),)
    for w, p in enumerate(peaks):
        sl = slice(cw.offsets[w], cw.offsets[w + 1])
        _, dm = ref.match(np.rint(p).astype(int).tolist(), cw.sample_index[sl].tolist(), cfg.tolerance)
        np.testing.assert_array_equal(labels[sl], [k >= 0 for k in dm])
    assert labels.sum() == sum(len(p) for p in peaks)  # every clean pulse has its candidate


def test_truth_peak_samples_sorts_rounds_and_drops_outside() -> None:
    truth = ak.Array({"electron_peak_ns": [[30.2, 4.6, -3.0, 99.9], [], [12.5]]})
    s, off, t = truth_peak_samples(truth, 2.0, 50)
    assert s.tolist() == [2, 15, 6] and off.tolist() == [0, 2, 2, 3]
    np.testing.assert_allclose(t, [4.6, 30.2, 12.5])
    with pytest.raises(MissingBranchError, match="electron_peak_ns"):
        truth_peak_samples(ak.Array({"n_clusters": [1]}), 1.0, 10)
    with pytest.raises(MissingBranchError):
        truth_peak_samples(None, 1.0, 10)


def test_labels_from_file_tags() -> None:
    wf, peaks = ref.synthetic(5, 300, seed=13, noise=0.3, n_pulses=4)
    cw = candidate_windows(wf, CandidateConfig(threshold=None))
    # tags: every even candidate of the file is "signal"; times in ns at 1 ns sampling
    times = [cw.sample_index[cw.offsets[w]:cw.offsets[w + 1]].astype(float) for w in range(5)]
    tags = [(np.arange(t.size) % 2 == 0).astype(np.int8) for t in times]
    truth = ak.Array({"cand_time_ns": [t[::-1].tolist() for t in times],
                      "cand_label": [g[::-1].tolist() for g in tags]})
    labels = candidate_labels(cw, truth)
    np.testing.assert_array_equal(labels, np.concatenate(tags))


def test_candidate_recall_and_shadowed_windows_match_the_definition() -> None:
    from ccreco.kernels import candidate_recall, reference_peaks, shadowed_windows

    rng = np.random.default_rng(21)
    wf, peaks = ref.synthetic(25, 400, seed=21, noise=1.0, n_pulses=6)
    # extra electrons 1-3 samples after some pulses: pairs a single candidate cannot both take
    peaks = [np.sort(np.concatenate([p, p[:2] + rng.integers(1, 4, size=2)])) for p in peaks]
    truth = truth_from(peaks)
    for rule, dist in (("d2", 1), ("top", 2), ("top", 5)):
        cw = candidate_windows(wf, CandidateConfig(threshold=2.0, rule=rule, min_distance=dist))
        found, n_true = candidate_recall(cw, truth)
        r, roff = reference_peaks(truth, 1.0, 400)
        shadow = shadowed_windows(cw, r, roff)
        labels = candidate_labels(cw, truth)
        n_found = n_shadow = 0
        for w, p in enumerate(peaks):
            sl = slice(cw.offsets[w], cw.offsets[w + 1])
            det = cw.sample_index[sl].tolist()
            rm, dm = ref.match(np.rint(p).astype(int).tolist(), det, 2)
            n_found += sum(k >= 0 for k in rm)
            near = [any(abs(d - t) <= 2 for t in np.rint(p)) for d in det]
            np.testing.assert_array_equal(shadow[sl], [m < 0 and nr for m, nr in zip(dm, near, strict=True)])
            n_shadow += sum(m < 0 and nr for m, nr in zip(dm, near, strict=True))
        assert (found, n_true) == (n_found, sum(len(p) for p in peaks))
        assert found == labels.sum()  # one-to-one: a signal window per found peak
        if rule == "top" and dist > 2 * cw.config.tolerance:
            assert n_shadow == 0  # no electron within the tolerance of two candidates
        if rule == "d2":
            assert n_shadow > 0
    with pytest.raises(ValueError, match="entries"):
        candidate_recall(cw, truth[:3])


def test_reference_peaks_of_tagged_files_are_the_signal_tags() -> None:
    from ccreco.kernels import reference_peaks

    truth = ak.Array({"cand_time_ns": [[9.0, 3.0, 5.0], [2.0]], "cand_label": [[1, 0, 1], [0]]})
    s, off = reference_peaks(truth, 1.0, 20)
    assert s.tolist() == [5, 9] and off.tolist() == [0, 2, 2]
