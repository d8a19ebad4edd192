"""examples/quickstart.ipynb runs top to bottom (nbclient) on small data and writes its outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"
N = 100


def _parameters_cell(nb) -> int:
    cells = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    return cells[0]


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # conftest's Agg would hide the inline figures
    nb = nbformat.read(NOTEBOOK, as_version=4)
    i = _parameters_cell(nb)
    assert "N_WAVEFORMS = 500" in nb.cells[i].source
    # parameters as papermill would inject them, plus a check of which interpreter runs the kernel
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(
        f'N_WAVEFORMS = {N}\nSEED = 7\nOUTDIR = "qs"\nBATCH_PLOTS = False\n'
        'import sys\nprint("KERNEL", sys.executable)'))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the traceback) on the first failing cell

    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.output_type == "stream")
    # jupyter_client maps the spec's "python" to the interpreter running the tests (the .venv)
    assert f"KERNEL {sys.executable}" in text
    assert f"{N} waveforms of 2000 samples every 1.0 ns" in text
    assert f"{N} waveforms in 2 blocks" in text
    out = tmp_path / "qs"
    assert f"reco.root: TTree 'reco', {N} entries" in text and "n_clusters_vs_true (TH2D)" in text
    assert f"n_clusters: {N} entries" in text
    for name in ("run.root", "quickstart_counts.png", "quickstart_waveform.png", "quickstart_hists.png"):
        assert (out / name).stat().st_size > 1000, name
    summary = json.loads((out / "reco" / "summary.json").read_text())
    assert summary["counters"]["waveforms_reconstructed"] == N and summary["skipped"] == []
    assert sorted(p.name for p in (out / "reco").iterdir()) == ["hists.root", "reco.root", "summary.json"]
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook displayed no figure"
