"""The claims experiments run end to end at toy size and feed docs/claims.md."""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, cifar10_path

TOY = {
    "experiment_forgetting.py": [
        "--train-limit", "600", "--probe-train", "200", "--probe-test", "200",
        "--width", "8", "--iterations-per-task", "2", "--probe-every", "2",
        "--out", "{out}/claims_forgetting.json",
    ],
    "experiment_discriminator.py": [
        "--seeds", "0", "--steps", "4", "--eval-every", "2", "--width", "8",
        "--batch-size", "16", "--train-limit", "200", "--probe-images", "200",
        "--num-samples", "100", "--classifier-epochs", "1",
        "--out", "{out}/claims_discriminator.json",
    ],
    "experiment_few_labels.py": [
        "--seeds", "0", "--steps", "4", "--eval-every", "2", "--width", "8",
        "--batch-size", "16", "--train-limit", "300", "--num-samples", "100",
        "--rotnet-steps", "2", "--classifier-epochs", "1",
        "--out", "{out}/claims_few_labels.json",
    ],
}  # fmt: skip


@pytest.mark.slow
def test_experiments_write_json_charts_and_generated_verdicts(tmp_path):
    data_dir = cifar10_path("train").rsplit("/", 1)[0]
    for script, arguments in TOY.items():
        arguments = [a.format(out=tmp_path) for a in arguments]
        if script != "experiment_forgetting.py":
            arguments += ["--data-dir", data_dir]
        else:
            arguments += ["--data", f"{data_dir}/train.zip"]
        subprocess.run(
            [sys.executable, f"tools/{script}", *arguments],
            cwd=REPO_ROOT,
            check=True,
            timeout=900,
        )
    for name in ("forgetting", "discriminator", "few_labels"):
        result = json.loads((tmp_path / f"claims_{name}.json").read_text())
        assert (REPO_ROOT / result["chart"]).exists() or (
            tmp_path / f"claims_{name}.png"
        ).exists()
    out = tmp_path / "claims.md"
    subprocess.run(
        [
            sys.executable,
            "tools/write_claims.py",
            "--results",
            str(tmp_path),
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        check=True,
    )
    text = out.read_text()
    assert text.count("**Verdict: ") == 4
    assert "Not yet measured" not in text
