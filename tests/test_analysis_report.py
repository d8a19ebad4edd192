"""ccreco.analysis.report: the shared markdown + JSON writer of pid, compare and tune."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ccreco.analysis.report import write_report


def test_writes_title_table_and_json_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = write_report(tmp_path / "new", "pid", title="T", table="| a |\n", data={"x": 1.5, "n": [1, 2]})
    assert out["md"].read_text() == "# T\n\n| a |\n"
    assert json.loads(out["json"].read_text()) == {"x": 1.5, "n": [1, 2]}
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["pid.json", "pid.md"]


def test_a_failed_write_keeps_the_previous_report(tmp_path: Path) -> None:
    write_report(tmp_path, "r", table="old\n", data={"v": 1})
    with pytest.raises(TypeError):
        write_report(tmp_path, "r", table="new\n", data={"v": np.float32(2.0)})  # not JSON without a default
    assert json.loads((tmp_path / "r.json").read_text()) == {"v": 1} and (tmp_path / "r.md").read_text() == "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert json.loads(write_report(tmp_path, "r", table="", data={"v": np.float32(2.0)},
                                   json_default=float)["json"].read_text()) == {"v": 2.0}
