"""The two-step reconstruction: library (:mod:`.core`), histograms, batch runs with coffea.

- :class:`RecoConfig`, :class:`Reconstructor`, :func:`reconstruct`: arrays in, per-waveform
  peaks, cluster counts and dN/dx out (notebooks);
- :func:`run_reco`: files in, ``OUTDIR`` out (hists.root, reco.root, plots/, summary.json), on
  coffea's iterative, futures or dask executor (the ``ccreco reco`` command).
"""

from __future__ import annotations

from ccreco.reco.core import RecoConfig, Reconstructor, RecoResult, reconstruct

__all__ = ["RecoConfig", "RecoResult", "Reconstructor", "reconstruct", "run_reco"]


def __getattr__(name: str) -> object:
    if name == "run_reco":  # coffea is imported only when a batch run is asked for
        from ccreco.reco.batch import run_reco

        return run_reco
    raise AttributeError(name)
