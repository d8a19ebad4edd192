"""ccreco.config: one converter, the same answer for --set strings, TOML values and keyword arguments."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ccreco.cli import main
from ccreco.config import convert_value
from ccreco.errors import ConfigError
from ccreco.kernels import ClusterizeConfig, DerivConfig
from ccreco.models.config import PeakModelConfig, with_overrides
from ccreco.reco import RecoConfig
from ccreco.sim import SimConfig, build_sim_config

BAD = [("adc_bits", "12.5", 12.5, "adc_bits = 12.5"),
       ("noise_mv", "loud", "loud", 'noise_mv = "loud"'),
       ("noise_mv", "inf", math.inf, "noise_mv = inf"),
       ("noise_mv", "nan", math.nan, "noise_mv = nan"),
       ("angle_deg", "true", True, "angle_deg = true")]


@pytest.mark.parametrize(("field", "text", "value", "toml"), BAD, ids=[b[3] for b in BAD])
def test_sim_config_refuses_the_same_values_from_every_source(field: str, text: str, value: object, toml: str,
                                                               tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"SimConfig.{field}"):
        SimConfig().with_strings({field: text})
    with pytest.raises(ConfigError, match=f"SimConfig.{field}"):
        SimConfig(**{field: value})
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError, match=f"SimConfig.{field}") as err:
        SimConfig.from_toml(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("field", "text", "value", "toml"), BAD[:2], ids=[b[3] for b in BAD[:2]])
def test_cli_simulate_config_and_set_fail_alike(field: str, text: str, value: object, toml: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n")
    out = tmp_path / "o.root"
    assert main(["simulate", "-n", "2", "--seed", "1", "--config", str(path), "-o", str(out)]) == 2
    by_file = capsys.readouterr().err
    assert main(["simulate", "-n", "2", "--seed", "1", "--set", f"{field}={text}", "-o", str(out)]) == 2
    by_set = capsys.readouterr().err
    assert f"SimConfig.{field}" in by_file and f"SimConfig.{field}" in by_set
    assert "Traceback" not in by_file + by_set and not out.exists()


def test_equal_values_from_every_source(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('adc_bits = 14\nnoise_mv = 2\nspecies = ["pi", "K"]\nmomenta_gev = [1, 2.5]\n')
    by_file = build_sim_config("tb2023-untuned", path)
    by_set = build_sim_config("tb2023-untuned", None, {"adc_bits": "14", "noise_mv": "2", "species": "pi,K",
                                                       "momenta_gev": "1,2.5"})
    by_kw = SimConfig.from_preset("tb2023-untuned", adc_bits=14, noise_mv=2, species=["pi", "K"],
                                  momenta_gev=(1, 2.5))
    assert by_file == by_set == by_kw
    assert isinstance(by_kw.noise_mv, float) and by_kw.momenta_gev == (1.0, 2.5)
    # later wins: preset, then file, then --set
    assert build_sim_config("tb2023-tuned", path, {"noise_mv": "3"}).noise_mv == 3.0
    assert build_sim_config("tb2023-tuned", path).angle_deg == 45.0


@pytest.mark.parametrize("word,expected", [("true", True), ("Yes", True), ("on", True), ("1", True),
                                           ("false", False), ("NO", False), ("off", False), ("0", False)])
def test_one_spelling_of_yes_and_no(word: str, expected: bool) -> None:
    assert RecoConfig.from_strings({"deriv": word}).deriv is expected
    assert convert_value(word, bool, name="x") is expected
    assert with_overrides((PeakModelConfig(),), {"activation_last": word})[0].activation_last is expected


@pytest.mark.parametrize("bad", ["maybe", "2", 1, 0.0])
def test_other_bools_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="true or false"):
        convert_value(bad, bool, name="deriv")


def test_every_config_refuses_non_finite_floats() -> None:
    for make in (lambda: RecoConfig(cell_length_cm=math.inf),
                 lambda: RecoConfig.from_strings({"angle_deg": "nan"}),
                 lambda: DerivConfig.from_strings({"N1": "inf"}),
                 lambda: ClusterizeConfig(t0_ns=math.nan),
                 lambda: with_overrides((PeakModelConfig(),), {"dropout": "inf"})):
        with pytest.raises(ConfigError):
            make()


def test_optional_tuples_and_layers() -> None:
    assert convert_value("none", float | None, name="x") is None
    assert convert_value("0.25", float | None, name="x") == 0.25
    assert convert_value("32x4,16x4", tuple[tuple[int, int], ...], name="conv") == ((32, 4), (16, 4))
    assert convert_value([[32, 4]], tuple[tuple[int, int], ...], name="conv") == ((32, 4),)
    with pytest.raises(ConfigError, match="conv"):
        convert_value("32x4x2", tuple[tuple[int, int], ...], name="conv")
    assert RecoConfig.from_strings({"threshold": "none", "threads": "2"}) == RecoConfig(threshold=None, threads=2)
    with pytest.raises(ConfigError, match="threads"):
        RecoConfig(threads=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="closest"):
        RecoConfig.from_strings({"threshhold": "0.5"})
