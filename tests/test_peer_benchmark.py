import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT


@pytest.mark.slow
def test_peer_benchmark_runs_at_toy_size(tmp_path):
    if importlib.util.find_spec("torch_mimicry") is None:
        pytest.skip("torch-mimicry not installed (pip install --no-deps torch-mimicry)")
    out = tmp_path / "peer.json"
    subprocess.run(
        [
            sys.executable,
            "tools/benchmark_peer_step.py",
            "--widths",
            "8:8",
            "--jit",
            "auto",
            "--rounds",
            "2",
            "--steps",
            "1",
            "--warmup",
            "1",
            "--batch-size",
            "8",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=600,
    )
    result = json.loads(out.read_text())
    (setting,) = result["settings"]
    ratio = setting["ratio_to_mimicry"]["keras-auto"]
    assert ratio["min"] > 0 and len(setting["round_medians"]["mimicry"]) == 2
    assert setting["workers"]["keras-auto"]["jit_compile"] == "False"
