"""The S/N definition (ccreco.sim.snr) and benchmarks/sn_scan.py's report (no training here)."""

from __future__ import annotations

import json

import pytest
from script_helpers import ROOT, load_script


@pytest.mark.parametrize("snr", [3.0, 6.0, 20.0])
def test_noise_is_scaled_to_the_requested_snr(snr: float) -> None:
    from ccreco.sim import SimConfig
    from ccreco.sim import snr as sn

    base = SimConfig.from_preset("tb2023-untuned")
    cfg = sn.config_at_snr(snr)
    assert cfg.single_electron_mv / sn.total_noise_mv(cfg) == pytest.approx(snr)
    assert cfg.noise_mv / cfg.coloured_noise_mv == pytest.approx(base.noise_mv / base.coloured_noise_mv)
    assert sn.config_at_snr(snr, overrides={"density_scale": "0.5"}).density_scale == 0.5


def test_stored_scan_renders_as_markdown() -> None:
    sn = load_script("benchmarks/sn_scan.py")
    data = json.loads((ROOT / "benchmarks" / "sn_scan.json").read_text())
    text = sn.markdown(data["points"], data["where"])
    assert text.count("\n| 20 |") == 1 and "anwar2024" in text and "Samples per point" in text
