"""Summary plots of simulated files."""

from __future__ import annotations

from ccreco.cli import main


def test_cli_plots(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s.root"
    rc = main(["simulate", "-n", "40", "--seed", "2", "-o", str(out), "--plots", str(tmp_path / "p")])
    assert rc == 0
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["clusters_per_track.png", "drift_time_spectrum.png", "electrons_per_cluster.png",
                     "waveform_0.png", "waveform_1.png", "waveform_2.png"]
    assert all((tmp_path / "p" / n).stat().st_size > 1000 for n in names)
