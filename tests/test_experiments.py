"""The claims experiments run end to end at toy size and feed docs/claims.md."""

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, cifar10_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

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
        "--classifier-limit", "300", "--out", "{out}/claims_discriminator.json",
    ],
    "experiment_few_labels.py": [
        "--seeds", "0", "--steps", "4", "--eval-every", "2", "--width", "8",
        "--batch-size", "16", "--train-limit", "300", "--num-samples", "100",
        "--rotnet-steps", "2", "--classifier-epochs", "1",
        "--out", "{out}/claims_few_labels.json",
    ],
}  # fmt: skip


def load_write_claims():
    spec = importlib.util.spec_from_file_location(
        "write_claims", REPO_ROOT / "tools" / "write_claims.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verdict_rule_pairs_seeds_and_needs_two_standard_errors():
    claims = load_write_claims()
    # Consistent gains over three seeds: holds.
    assert claims.judge({0: 2.0, 1: 2.1, 2: 1.9}, {0: 1.0, 1: 1.0, 2: 1.0})[0] == (
        claims.HOLDS
    )
    # Same mean gain, but one seed the other way: within noise.
    status, stats = claims.judge({0: 3.0, 1: -0.5, 2: 0.5}, {0: 0.0, 1: 0.0, 2: 0.0})
    assert status == claims.NOISE and stats["n"] == 3
    # One seed never holds (no spread to judge by); consistently the wrong
    # way is opposite, the wrong way within the noise is not.
    assert claims.judge({0: 5.0}, {0: 1.0})[0] == claims.NOISE
    three = {0: 1.0, 1: 1.0, 2: 1.0}
    assert claims.judge(three, {0: 2.0, 1: 2.0, 2: 2.1})[0] == claims.OPPOSITE
    assert claims.judge(three, {0: 2.0, 1: 0.5, 2: 1.0})[0] == claims.NOISE
    # Two seeds are too few for a call, however consistent.
    assert claims.judge({0: 2.0, 1: 2.0}, {0: 1.0, 1: 1.0})[0] == claims.NOISE
    # Seeds pair up; a seed present on one side only is ignored.
    assert claims.judge({0: 1.0}, {1: 0.0})[0] == claims.MISSING
    assert claims.verdict([("a", claims.HOLDS), ("b", claims.HOLDS)]) == "reproduced"
    assert claims.verdict([("a", claims.HOLDS), ("b", claims.NOISE)]) == (
        "partly reproduced"
    )
    assert claims.verdict([("a", claims.NOISE), ("b", claims.OPPOSITE)]) == (
        "not reproduced at this scale"
    )
    assert claims.verdict([("a", claims.MISSING)]) == "not measured"


def test_runs_stopped_early_are_compared_at_the_last_common_step():
    claims = load_write_claims()
    runs = claims.index_runs(
        [
            _discriminator_run("gan", 0, 2e-4, [0.1, 0.3, 0.2], [50, 30, 10]),
            _discriminator_run("ssgan", 0, 2e-4, [0.1, 0.35], [50, 20], False),
            _discriminator_run("gan", 1, 2e-4, [0.1, 0.3, 0.2], [50, 30, 10]),
            _discriminator_run("ssgan", 1, 2e-4, [0.1], [50], complete=False),
        ],
        lambda r: r["method"],
    )
    text, status = claims.compare(
        "FID",
        runs,
        ["gan", "ssgan"],
        lambda records: records["gan"][-1]["fid"],
        lambda records: records["ssgan"][-1]["fid"],
    )
    # Seed 0 at step 50 (30 vs 20, not the GAN's final 10); seed 1 has not
    # trained its SS-GAN yet (step 0 only), so it does not count.
    assert "at step 50" in text and "+10 (se n/a, 1 seed(s))" in text
    assert status == claims.NOISE


def _discriminator_run(method, seed, lr, probes, fids, complete=True):
    records = [
        {"step": 50 * i, "probe_accuracy": p, "fid": f, "losses": {}}
        for i, (p, f) in enumerate(zip(probes, fids))
    ]
    return {
        "method": method,
        "seed": seed,
        "learning_rate": lr,
        "beta_1": 0.5,
        "complete": complete,
        "records": records,
        "train_seconds": 10.0,
        "cpu_seconds": 20.0,
        "images_per_second": 64.0,
    }


def test_partial_results_give_honest_generated_verdicts(tmp_path):
    """A run stopped early: only finished runs count, and the page says so."""
    claims = load_write_claims()
    runs = []
    for seed in (0, 1, 2):
        for lr in (0.0002, 0.001):
            # SS-GAN: probe keeps rising, lower FID; GAN: probe decays.
            runs.append(
                _discriminator_run("gan", seed, lr, [0.2, 0.4, 0.3], [50, 30, 25])
            )
            runs.append(
                _discriminator_run(
                    "ssgan", seed, lr, [0.2, 0.4, 0.45 + 0.01 * seed], [50, 28, 20]
                )
            )
    # An unfinished fourth seed that contradicts everything must be ignored.
    runs.append(_discriminator_run("gan", 3, 0.0002, [0.9], [1.0], complete=False))
    result = {
        "command": "python tools/experiment_discriminator.py --toy",
        "config": {
            "width": 16,
            "loss": "non_saturating",
            "batch_size": 64,
            "steps": 100,
            "train_limit": 1000,
            "seeds": [0, 1, 2, 3],
            "grid": ["0.0002:0.5", "0.001:0.5"],
            "eval_every": 50,
            "probe_images": 200,
            "num_samples": 100,
        },
        "planned_runs": 16,
        "complete": False,
        "runs": runs,
        "summary": {},
        "cpu_seconds": 100.0,
        "wall_seconds": 200.0,
        "chart": None,
    }
    (tmp_path / "claims_discriminator.json").write_text(json.dumps(result))
    out = tmp_path / "claims.md"
    claims.main(["--results", str(tmp_path), "--out", str(out)])
    text = out.read_text()
    assert "Partial results: 12 of 16 planned runs finished" in text
    # The probe ends higher and decays less for SS-GAN at both settings, but
    # the FID shift between settings is identical (0): no difference, so
    # partly.
    assert "**Verdict: reproduced** (4 criteria: 4 holds)" in text
    assert (
        "**Verdict: partly reproduced** (3 criteria: 2 holds, 1 within seed noise)"
        in text
    )
    assert "claims_few_labels.json`: no results file" in text


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
            timeout=1800,  # generous: a shared machine may be loaded
        )
    for name in ("forgetting", "discriminator", "few_labels"):
        result = json.loads((tmp_path / f"claims_{name}.json").read_text())
        assert result.get("complete", True), name
        chart = tmp_path / f"claims_{name}.png"
        assert result["chart"]
        assert (REPO_ROOT / result["chart"]).resolve() == chart.resolve()
        assert chart.read_bytes()[:8] == PNG_MAGIC
        assert chart.stat().st_size > 5000  # a drawn chart, not an empty canvas
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
    # One generated verdict per claim, each from the rule's vocabulary, with
    # the criteria it was computed from, the charts and the commands.
    verdicts = [line for line in text.splitlines() if line.startswith("**Verdict: ")]
    assert len(verdicts) == 4
    vocabulary = ("reproduced", "partly reproduced", "not reproduced at this scale")
    assert all(v.split("**")[1][len("Verdict: ") :] in vocabulary for v in verdicts)
    # One seed everywhere: nothing can hold (no spread), so no "reproduced".
    assert not any(v.startswith("**Verdict: reproduced**") for v in verdicts)
    assert text.count("![chart](claims_") == 3
    assert text.count("Command: `python tools/experiment_") == 3
    assert "Not yet measured" not in text


def test_merge_keeps_finished_runs_and_says_what_is_missing(tmp_path):
    """Results of parallel processes merge into one file, one run per key."""
    spec = importlib.util.spec_from_file_location(
        "experiment_discriminator", REPO_ROOT / "tools" / "experiment_discriminator.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = {"methods": ["gan", "ssgan"], "grid": ["0.0002:0.5"]}
    first = {
        "command": "first",
        "config": {**config, "seeds": [0, 1]},
        "runs": [
            _discriminator_run("gan", 0, 0.0002, [0.2, 0.3], [40, 30]),
            _discriminator_run("ssgan", 0, 0.0002, [0.2, 0.3], [40, 30]),
            _discriminator_run("gan", 1, 0.0002, [0.2], [40], complete=False),
        ],
        "cpu_seconds": 10.0,
        "wall_seconds": 100.0,
    }
    second = {
        "command": "second",
        "config": {**config, "seeds": [1]},
        "runs": [_discriminator_run("gan", 1, 0.0002, [0.2, 0.4], [40, 20])],
        "cpu_seconds": 5.0,
        "wall_seconds": 50.0,
    }
    paths = []
    for name, result in (("a", first), ("b", second)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(result))
    out = tmp_path / "merged.json"
    merged = module.main(["--merge", *map(str, paths), "--out", str(out)])
    assert json.loads(out.read_text())["commands"] == ["first", "second"]
    keys = sorted((r["method"], r["seed"], r["complete"]) for r in merged["runs"])
    assert keys == [("gan", 0, True), ("gan", 1, True), ("ssgan", 0, True)]
    # ssgan seed 1 never ran: 3 of 4 planned runs, not complete.
    assert merged["planned_runs"] == 4 and merged["complete"] is False
    assert merged["cpu_seconds"] == 15.0 and merged["wall_seconds"] == 100.0
    assert merged["summary"]["gan@lr=0.0002,beta1=0.5"]["seeds"] == 2
