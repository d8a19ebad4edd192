"""SimConfig validation, overrides and TOML round trip; the ``ccreco simulate`` CLI."""

from __future__ import annotations

import pytest
import uproot

from ccreco.cli import main
from ccreco.errors import ConfigError
from ccreco.sim import PRESETS, SimConfig


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"noise_mv": -1.0}, "noise_mv"),
        ({"window_ns": 200.0}, "window_ns"),
        ({"species": ("mu", "tau")}, "species"),
        ({"sampling_ns": 0.7}, "window_ns"),
        ({"impact_max_cm": 0.5}, "impact_max_cm"),
        ({"cell_shape": "hexagon"}, "cell_shape"),
        ({"momenta_gev": ()}, "momenta_gev"),
    ],
    ids=["negative-noise", "short-window", "unknown-particle", "sampling-not-dividing", "impact",
         "shape", "no-momentum"],
)
def test_invalid_config_names_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        SimConfig(**overrides)


def test_unknown_names() -> None:
    with pytest.raises(ConfigError, match="noise_mv"):
        SimConfig.from_preset("tb2023-untuned", noise_m=1.0)
    with pytest.raises(ConfigError, match="preset"):
        SimConfig.from_preset("nope")


def test_set_strings_converted_by_field_type() -> None:
    cfg = SimConfig().with_strings({"noise_mv": "2", "adc_bits": "14", "species": "pi,K",
                                    "momenta_gev": "1,2.5", "cell_shape": "tube"})
    assert cfg.noise_mv == 2.0 and isinstance(cfg.noise_mv, float)
    assert cfg.adc_bits == 14 and cfg.species == ("pi", "K") and cfg.momenta_gev == (1.0, 2.5)
    with pytest.raises(ConfigError, match="adc_bits"):
        SimConfig().with_strings({"adc_bits": "twelve"})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_toml_round_trip(name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = PRESETS[name].replace(noise_mv=1.25)
    path = tmp_path / "c.toml"
    cfg.to_toml(path)
    assert SimConfig.from_toml(path) == cfg


def test_toml_partial_with_preset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text('[sim]\npreset = "tb2023-tuned"\nnoise_mv = 2\n')
    cfg = SimConfig.from_toml(path)
    assert cfg.angle_deg == 45.0 and cfg.noise_mv == 2.0
    path.write_text("noise_mv = -2\n")
    with pytest.raises(ConfigError, match="noise_mv"):
        SimConfig.from_toml(path)


def test_cli_simulate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o.root"
    toml = tmp_path / "c.toml"
    toml.write_text("coloured_noise_mv = 0.0\n")
    rc = main(["simulate", "--preset", "tb2023-tuned", "-n", "30", "--seed", "1", "--config",
               str(toml), "--set", "noise_mv=1.2", "-o", str(out), "--chunk-size", "7"])
    assert rc == 0
    with uproot.open(out) as f:
        assert f["sim"].num_entries == 30
        meta = f["ccreco_meta"]
        assert '"noise_mv": 1.2' in str(meta) and '"coloured_noise_mv": 0.0' in str(meta)


def test_cli_rejects_bad_config_before_work(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o.root"
    rc = main(["simulate", "-n", "10", "--seed", "1", "--set", "noise_mv=-1", "-o", str(out)])
    assert rc == 2 and not out.exists() and not list(tmp_path.iterdir())
    assert "noise_mv" in capsys.readouterr().err
