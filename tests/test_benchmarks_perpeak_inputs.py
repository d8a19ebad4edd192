"""benchmarks/perpeak_inputs.py: the P(1) scan's samples and the in-process input variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import uproot
from script_helpers import load_script


def test_p1_scan_changes_only_the_cluster_sizes(tmp_path: Path) -> None:
    pi = load_script("benchmarks/perpeak_inputs.py")
    res = pi.p1_scan(tmp_path, (0.85, 0.95), n=60)
    assert set(res) == {"0.85", "0.95"}
    sizes = {p: uproot.open(tmp_path / f"heed_p1_{p}.root")["sim"]["n_electrons"].array(library="np")
             for p in ("0.85", "0.95")}
    clusters = {p: uproot.open(tmp_path / f"heed_p1_{p}.root")["sim"]["n_clusters"].array(library="np")
                for p in ("0.85", "0.95")}
    np.testing.assert_array_equal(clusters["0.85"], clusters["0.95"])  # same seed: the same clusters
    assert sizes["0.85"].sum() > sizes["0.95"].sum()  # more multi-electron clusters at lower P(1)
    assert all(np.isfinite(m["bias_pct"]) and m["mean_true"] > 0 for m in res.values())


def test_variants_replace_one_input_and_restore_it() -> None:
    import ccreco.models.encoding as enc

    pi = load_script("benchmarks/perpeak_inputs.py")
    rng = np.random.default_rng(3)
    windows = rng.normal(0, 0.3, (4, 15)).astype(np.float32)
    windows[:, 5] += 10.0  # a one-sample pulse at the centre: width 1 at half height
    windows[1, 6] += 9.0  # a second sample above half height
    t, s = np.arange(4, dtype=np.float32) * 10, np.full(4, 0.9, np.float32)
    plain = enc.peak_features(windows, t, s, 5)
    with pi.variant_inputs("fwhm"):
        wide = enc.peak_features(windows, t, s, 5)
    np.testing.assert_array_equal(wide[:, [0, 1, 3]], plain[:, [0, 1, 3]])
    assert wide[0, 2] == 1 and wide[1, 2] == 2
    np.testing.assert_array_equal(enc.peak_features(windows, t, s, 5), plain)  # restored
    f = np.column_stack([[0, 4, 8, 15, 0, 2], np.ones(6), np.ones(6), np.full(6, 0.9)]).astype(np.float32)
    off = np.array([0, 4, 6])
    with pi.variant_inputs("runratio", group=2):
        q = enc.waveform_quantities(f, off)
    # one group of both waveforms: gaps 4, 4 (3-6 ns) and 7 (6-12 ns) in waveform 0, 2 (neither) in 1
    assert q["wf_close_fraction"].tolist() == [2.0, 2.0]
    np.testing.assert_allclose(enc.waveform_quantities(f, off)["wf_close_fraction"], [2 / 3, 1.0])  # restored
