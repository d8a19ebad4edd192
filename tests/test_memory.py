"""Peak RSS of the process itself (ccreco._memory), as HPO trials record it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ccreco._memory import peak_rss, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
HAVE_PROC = Path("/proc/self/status").exists()

TRIAL_SCRIPT = """
import json
from ccreco.hpo.trial import measure_resources
with measure_resources() as res:
    x = bytearray(8 * 2**20)
print(json.dumps(res))
"""


def test_reads_vmhwm_of_a_status_file(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n")
    assert peak_rss(str(status)) == (50.0, "VmHWM")


def test_falls_back_to_ru_maxrss_and_says_so(tmp_path: Path) -> None:
    mb, source = peak_rss(str(tmp_path / "no-proc" / "status"))
    expected = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expected = expected / 2**20 if sys.platform == "darwin" else expected / 1024
    assert source == "ru_maxrss" and mb == pytest.approx(expected, rel=0.05)


@pytest.mark.skipif(not HAVE_PROC, reason="needs /proc (Linux)")
def test_this_process_peak_is_at_least_its_current_rss() -> None:
    rss_now = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    assert peak_rss()[1] == "VmHWM" and peak_rss_mb() >= rss_now > 10


@pytest.mark.skipif(not HAVE_PROC, reason="needs /proc (Linux)")
def test_trial_in_a_child_records_its_own_peak_not_the_parents() -> None:
    pytest.importorskip("psutil")
    big = np.ones(400 * 2**20 // 8)  # the parent's peak: >= 400 MB resident
    parent_mb = peak_rss_mb()
    assert parent_mb > 400 and big[-1] == 1.0
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", TRIAL_SCRIPT], capture_output=True, text=True, check=True, env=env)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    # ru_maxrss of the child would be >= the parent's resident size at the fork
    assert res["maxrss_source"] == "VmHWM"
    assert res["maxrss_mb"] < parent_mb - 250, (res, parent_mb)
    assert res["maxrss_mb"] >= res["peak_rss_mb"] - 1 > 10
