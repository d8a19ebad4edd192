"""Domain-randomized training samples (ccreco.sim.randomize)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from ccreco.errors import ConfigError
from ccreco.io import iterate
from ccreco.sim.randomize import RandomizeConfig, randomized_configs, simulate_randomized, write_randomized


def test_blocks_span_the_ranges_and_are_seeded() -> None:
    cfg = RandomizeConfig(block=8)
    a = list(randomized_configs(cfg, 60, seed=3))
    b = list(randomized_configs(cfg, 60, seed=3))
    assert a == b and a != list(randomized_configs(cfg, 60, seed=4))
    shapes = {c.cell_shape for c, _ in a}
    assert shapes == {"square", "tube"}
    angles = np.array([c.angle_deg for c, _ in a])
    assert angles.min() < 10 and angles.max() > 50 and angles.max() <= 60
    p = np.concatenate([c.momenta_gev for c, _ in a])
    assert p.min() >= 1.0 and p.max() <= 20.0 and p.min() < 2 and p.max() > 10
    amp = np.array([c.single_electron_mv for c, _ in a]) / 10.0
    assert 0.85 <= amp.min() < 0.9 and 1.1 < amp.max() <= 1.15
    assert all(1.0 <= c.noise_mv <= 2.0 for c, _ in a)


def test_sample_spans_lengths_and_densities(tmp_path: Path) -> None:
    path = tmp_path / "r.root"
    assert write_randomized(path, RandomizeConfig(block=16), 192, seed=1, progress=False) == 192
    truth = ak.concatenate([c.truth for c in iterate(path)])
    length = ak.to_numpy(truth["track_length_cm"])
    assert length.min() < 0.3 and length.max() > 1.1
    assert set(np.unique(np.abs(ak.to_numpy(truth["pdg"])))) >= {211, 321, 2212}
    first = next(simulate_randomized(RandomizeConfig(block=16), 16, seed=1))
    np.testing.assert_array_equal(first.waveforms, next(iter(iterate(path))).waveforms[:16])


def test_ionization_hook_and_validation() -> None:
    cfg = RandomizeConfig(ionization={"default": {}, "short": {"cluster_size_kmax": 3}}, ionization_ranges={})
    names = {c.name for c, _ in randomized_configs(cfg, 30, seed=0)}
    assert names == {"randomized:default", "randomized:short"}
    blocks = [c for c, _ in randomized_configs(RandomizeConfig(), 40, seed=0)]
    assert {c.cluster_size_model for c in blocks} == {"table", "heed"}
    assert {c.pulse_model for c in blocks} == {"biexp", "iontail"}
    heed = [c for c in blocks if c.cluster_size_model == "heed"]
    assert all(c.delta_electron_spread and 1.8 <= c.cluster_tail_exponent <= 2.4 for c in heed)
    assert len({c.cluster_p1 for c in heed}) == len(heed)
    with pytest.raises(ConfigError, match="unknown ionization"):
        RandomizeConfig(ionization={"table": {}})
    with pytest.raises(ConfigError, match="ionization"):
        RandomizeConfig(ionization={"bad": {"no_such_field": 1}})
    with pytest.raises(ConfigError, match="angle_deg"):
        RandomizeConfig(angle_deg=(10.0, 5.0))


def test_optional_field_and_electronics_ranges() -> None:
    base = [c for c, _ in randomized_configs(RandomizeConfig(), 10, seed=2)]
    assert {c.anode_voltage_v for c in base} == {1350.0} and {c.bandwidth_mhz for c in base} == {460.0}
    cfg = RandomizeConfig(anode_voltage_v=(1200.0, 1450.0), bandwidth_mhz=(250.0, 600.0), no_filter_fraction=0.5,
                          coloured_noise_mv=(0.0, 0.7))
    blocks = [c for c, _ in randomized_configs(cfg, 40, seed=2)]
    assert all(1200.0 <= c.anode_voltage_v <= 1450.0 for c in blocks)
    bw = np.array([c.bandwidth_mhz for c in blocks])
    assert 5 < np.sum(bw == 0) < 35 and np.all((bw == 0) | ((bw >= 250) & (bw <= 600)))
    assert all(0.0 <= c.coloured_noise_mv <= 0.7 for c in blocks)
    with pytest.raises(ConfigError, match="no_filter_fraction"):
        RandomizeConfig(no_filter_fraction=2.0)


def test_simulate_randomize_cli_is_the_library_sample(tmp_path: Path) -> None:
    """``ccreco simulate --randomize`` writes what write_randomized writes; its dumped TOML reads
    back to the same configuration; --ionization replaces the models and keeps only their ranges."""
    import dataclasses

    from ccreco.cli import main
    from ccreco.io import read
    from ccreco.sim.randomize import build_randomize_config

    out, toml = tmp_path / "r.root", tmp_path / "r.toml"
    assert main(["simulate", "--randomize", "-n", "40", "--seed", "5", "--set", "block=8",
                 "--set", "density_scale=0.5,2.0", "-o", str(out), "--dump-config", str(toml)]) == 0
    cfg = dataclasses.replace(RandomizeConfig(), block=8, density_scale=(0.5, 2.0))
    assert build_randomize_config(config_file=toml) == cfg
    ref = tmp_path / "ref.root"
    write_randomized(ref, cfg, 40, seed=5, progress=False)
    np.testing.assert_array_equal(read(out).waveforms, read(ref).waveforms)
    one = build_randomize_config(overrides={"block": "8"}, ionization=["tuned=cluster_size_model:heed,cluster_p1:0.9"])
    assert one.ionization == {"tuned": {"cluster_size_model": "heed", "cluster_p1": 0.9}}
    assert one.ionization_ranges == {}
    heed = build_randomize_config(ionization=["heed=cluster_size_model:heed"])
    assert set(heed.ionization_ranges) == {"heed"}
    with pytest.raises(ConfigError, match="cluster_p9"):
        build_randomize_config(ionization=["x=cluster_p9:1"])
    with pytest.raises(ConfigError, match="--ionization"):
        build_randomize_config(overrides={"ionization": "table"})
    with pytest.raises(ConfigError, match="density_scal"):
        build_randomize_config(overrides={"density_scal": "1,2"})
    assert main(["simulate", "-n", "4", "--ionization", "a=", "-o", str(tmp_path / "x.root")]) == 2
    assert not (tmp_path / "x.root").exists()
