"""GAN against SS-GAN: D's representation and FID over training (SS-GAN Fig. 3).

Chen et al. 2019 argue that an unconditional GAN's discriminator forgets:
the linear-probe accuracy of its features rises and then decays during
training, while SS-GAN's (with the rotation loss) keeps rising, and that
this also shows as better, more robust FID. This script trains `gan` and
`ssgan` with the same networks, budget, data order and seeds (the only
difference is the rotation loss and the sBN generator that `ssgan` uses, as
in the paper), and at regular steps records:

- the 10-class linear-probe accuracy of D's pooled features (frozen D,
  standardised features, logistic regression on CIFAR-10 test images, split
  into probe-train and probe-test halves);
- FID (domain features) of `--num-samples` generated images against test
  images, with a small CIFAR-10 classifier as the feature extractor
  (`keras_ssl.evaluation.train_domain_classifier`; the same extractor for
  every run).

`--grid LR:BETA1 ...` repeats everything for several Adam settings, the
robustness part of the paper's claim. Runs go seed by seed (every method and
setting of seed 0, then of seed 1, ...), so a run stopped early leaves
comparable seeds. The JSON is rewritten after every evaluation (runs in
progress are marked `complete: false` and never averaged), and the PNG chart
of probe accuracy and FID against steps (mean and spread over seeds) after
every finished run. `--merge A.json B.json ...` combines files written by
processes that ran other seeds side by side.

    nice -n 15 .venv/bin/python tools/experiment_discriminator.py \
        --seeds 0 1 2 --grid 0.0002:0.5 0.001:0.5 --steps 150 \
        --eval-every 30 --width 16 --train-limit 10000 --probe-images 2000 \
        --num-samples 1000 --classifier-limit 10000 --classifier-epochs 3 \
        --out tools/results/claims_discriminator.json
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
for path in (ROOT, TOOLS):
    if path not in sys.path:
        sys.path.insert(0, path)

import keras  # noqa: E402
from experiment_forgetting import probe_accuracy  # noqa: E402

from keras_ssl import data as ssl_data  # noqa: E402
from keras_ssl import evaluation  # noqa: E402
from keras_ssl.methods import build_method  # noqa: E402

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10-jpeg")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--methods", nargs="+", default=["gan", "ssgan"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grid", nargs="+", default=["0.0002:0.5"], help="LR:BETA1")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="XLA train step (on CPU its compile time outweighs short runs)",
    )
    parser.add_argument("--loss", default="non_saturating")
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--probe-images", type=int, default=4000)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--classifier-epochs", type=int, default=8)
    parser.add_argument("--classifier-limit", type=int, default=20000)
    parser.add_argument("--out", default="tools/results/claims_discriminator.json")
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="no training: merge these results files (runs of other seeds or "
        "settings, e.g. from parallel processes) into --out",
    )
    return parser.parse_args(argv)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class FrechetInDomain:
    """FID (domain features) against fixed reference images."""

    def __init__(self, extractor, reference_images):
        self.extractor = extractor
        features = self.features(reference_images)
        self.mean = features.mean(axis=0)
        self.covariance = np.cov(features, rowvar=False)

    def features(self, images):
        if images.dtype == np.uint8:
            images = images.astype("float32") / 127.5 - 1.0
        outputs = self.extractor.predict(images, batch_size=500, verbose=0)
        return outputs["features"].astype("float64")

    def __call__(self, images):
        features = self.features(images)
        return float(
            evaluation.frechet_distance(
                features.mean(axis=0),
                np.cov(features, rowvar=False),
                self.mean,
                self.covariance,
            )
        )


class Probe(keras.callbacks.Callback):
    """Every `every` steps: D-feature probe accuracy and FID.

    `on_record(records)` is called after each evaluation, so a caller can save
    partial results while the run goes on.
    """

    def __init__(self, every, evaluate, on_record=None):
        super().__init__()
        self.every = every
        self.evaluate = evaluate
        self.on_record = on_record
        self.records = []
        self.eval_seconds = 0.0

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every == 0:
            start = time.perf_counter()
            record = {"step": step, **self.evaluate()}
            record["losses"] = {
                k: float(np.asarray(v)) for k, v in (logs or {}).items()
            }
            self.records.append(record)
            self.eval_seconds += time.perf_counter() - start
            if self.on_record is not None:
                self.on_record(self.records)
            print(
                f"    step {step}: probe {record['probe_accuracy']:.3f} "
                f"FID {record['fid']:.2f}",
                flush=True,
            )


def discriminator_features(model, images):
    return np.concatenate(
        [
            np.asarray(
                model.discriminator(images[i : i + 500], training=False)["features"]
            )
            for i in range(0, len(images), 500)
        ]
    )


def run(method, seed, learning_rate, beta_1, args, context, on_partial=None):
    """One training run; `on_partial(run_dict)` receives the run so far."""
    keras.utils.set_random_seed(seed)
    model = build_method(
        method,
        image_size=32,
        channels=3,
        width=args.width,
        loss=args.loss,
        n_disc=1,
        seed=seed,
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=0.999),
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=0.999),
        jit_compile=args.jit_compile,
    )
    probe_x, probe_y, fid = context["probe_x"], context["probe_y"], context["fid"]
    half = len(probe_x) // 2

    def evaluate():
        features = discriminator_features(model, probe_x)
        return {
            "probe_accuracy": probe_accuracy(
                features[:half], probe_y[:half], features[half:], probe_y[half:]
            ),
            "fid": fid(model.generate(args.num_samples, seed=seed)),
        }

    dataset = ssl_data.load(
        context["train_path"],
        split="train",
        batch_size=args.batch_size,
        shuffle=True,
        seed=seed,
        repeat=True,
        drop_remainder=True,
        limit=args.train_limit,
    )
    start, cpu = time.perf_counter(), cpu_seconds()
    records = [{"step": 0, **evaluate(), "losses": {}}]
    eval_start = time.perf_counter() - start

    def describe(later, complete):
        seconds = time.perf_counter() - start - eval_start - callback.eval_seconds
        steps = args.steps if complete else (later[-1]["step"] if later else 0)
        return {
            "method": method,
            "seed": seed,
            "learning_rate": learning_rate,
            "beta_1": beta_1,
            "complete": complete,
            "records": records + list(later),
            "train_seconds": seconds,
            "cpu_seconds": cpu_seconds() - cpu,
            "images_per_second": steps * args.batch_size / max(seconds, 1e-9),
        }

    def on_record(later):
        if on_partial is not None:
            on_partial(describe(later, False))

    callback = Probe(args.eval_every, evaluate, on_record)
    model.fit(
        dataset, steps_per_epoch=args.steps, epochs=1, verbose=0, callbacks=[callback]
    )
    return describe(callback.records, True)


def summarise(runs):
    """Per method and Adam setting: mean/std over seeds of each record field.

    Only complete runs count; runs cut short are kept in the JSON's `runs`
    (with `complete: false`) but never averaged with finished ones.
    """
    summary = {}
    for run in runs:
        if not run.get("complete", True):
            continue
        key = f"{run['method']}@lr={run['learning_rate']},beta1={run['beta_1']}"
        summary.setdefault(key, []).append(run)
    out = {}
    for key, group in summary.items():
        steps = [r["step"] for r in group[0]["records"]]
        probe = np.array([[r["probe_accuracy"] for r in g["records"]] for g in group])
        fids = np.array([[r["fid"] for r in g["records"]] for g in group])
        out[key] = {
            "method": group[0]["method"],
            "seeds": len(group),
            "steps": steps,
            "probe_mean": probe.mean(0).tolist(),
            "probe_std": probe.std(0).tolist(),
            "fid_mean": fids.mean(0).tolist(),
            "fid_std": fids.std(0).tolist(),
            "final_probe_mean": float(probe[:, -1].mean()),
            "peak_probe_mean": float(probe.max(1).mean()),
            "final_fid_mean": float(fids[:, -1].mean()),
            "final_fid_std": float(fids[:, -1].std()),
        }
    return out


def write_chart(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, entry in sorted(summary.items()):
        steps = entry["steps"]
        left.errorbar(
            steps, entry["probe_mean"], entry["probe_std"], label=key, capsize=2
        )
        right.errorbar(steps, entry["fid_mean"], entry["fid_std"], label=key, capsize=2)
    left.set_xlabel("step")
    left.set_ylabel("linear probe accuracy of D features")
    right.set_xlabel("step")
    right.set_ylabel("FID (domain features)")
    left.legend(fontsize=7)
    figure.suptitle("GAN vs SS-GAN discriminator (SS-GAN Fig. 3 protocol)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def merge_results(paths, run_key, planned_keys):
    """Merges results files; per run key keeps the finished or longest run.

    `run_key(run)` identifies a run (method or variant, seed, setting) and
    `planned_keys(config)` gives the run keys a file's command planned. The
    merged file lists every command, sums CPU time and takes the longest
    wall time (the processes ran side by side).
    """
    results = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            results.append(json.load(file))
    best = {}
    for result in results:
        for run in result["runs"]:
            key = run_key(run)
            rank = (run.get("complete", True), len(run["records"]))
            old = best.get(key)
            if old is None or rank > (old.get("complete", True), len(old["records"])):
                best[key] = run
    planned = set()
    for result in results:
        planned |= set(planned_keys(result["config"]))
    finished = {key for key, run in best.items() if run.get("complete", True)}
    merged = dict(results[0])
    merged["config"] = dict(results[0]["config"])
    merged["config"]["seeds"] = sorted(
        {seed for result in results for seed in result["config"]["seeds"]}
    )
    merged.update(
        commands=[c for r in results for c in r.get("commands", [r["command"]])],
        runs=list(best.values()),
        planned_runs=len(planned),
        complete=planned <= finished,
        cpu_seconds=sum(r["cpu_seconds"] for r in results),
        wall_seconds=max(r["wall_seconds"] for r in results),
        chart=None,
    )
    return merged


def write_results(results, out, chart_writer, draw=True):
    """Writes the chart (if `draw` and matplotlib is there), then the JSON."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if draw and results["summary"]:
        chart = os.path.splitext(out)[0] + ".png"
        try:
            chart_writer(results["summary"], chart)
            results["chart"] = os.path.relpath(chart, ROOT)
        except ImportError:
            pass  # matplotlib is the optional [plots] extra
    temporary = out + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    os.replace(temporary, out)
    return results


def _planned(config):
    return [
        (method, seed, float(lr), float(beta_1))
        for seed in config["seeds"]
        for lr, beta_1 in (setting.split(":") for setting in config["grid"])
        for method in config["methods"]
    ]


def main(argv=None):
    args = parse_args(argv)
    out = args.out if os.path.isabs(args.out) else os.path.join(ROOT, args.out)
    if args.merge:
        results = merge_results(
            args.merge,
            lambda r: (r["method"], r["seed"], r["learning_rate"], r["beta_1"]),
            _planned,
        )
        results["command"] = "python tools/experiment_discriminator.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        results["summary"] = summarise(results["runs"])
        return write_results(results, out, write_chart)
    wall, cpu = time.perf_counter(), cpu_seconds()
    train_path = os.path.join(args.data_dir, "train.zip")
    test_path = os.path.join(args.data_dir, "test.zip")
    train_x, train_y = ssl_data.load_arrays(
        train_path, "train", limit=args.classifier_limit, seed=0
    )
    classifier = evaluation.train_domain_classifier(
        (train_x, train_y),
        num_classes=10,
        epochs=args.classifier_epochs,
        seed=0,
        verbose=2,
    )
    del train_x, train_y
    test_x, test_y = ssl_data.load_arrays(test_path, "test", seed=0)
    order = np.random.default_rng(0).permutation(len(test_x))
    test_x, test_y = test_x[order], test_y[order]
    context = {
        "train_path": train_path,
        "probe_x": test_x[: args.probe_images],
        "probe_y": test_y[: args.probe_images],
        "fid": FrechetInDomain(
            evaluation.domain_extractor(classifier), test_x[: args.num_samples]
        ),
    }
    config = {k: v for k, v in vars(args).items() if k != "out"}
    config["data_dir"] = os.path.relpath(args.data_dir, ROOT)
    planned = len(args.grid) * len(args.seeds) * len(args.methods)
    runs = []

    def save(partial=None, finished=False):
        """Rewrite the JSON: finished runs, plus the one in progress if any."""
        listed = runs + ([partial] if partial is not None else [])
        results = {
            "experiment": "discriminator",
            "paper": "Chen et al., Self-Supervised GANs via Auxiliary Rotation Loss, "
            "CVPR 2019, Fig. 3 and Table 1",
            "command": "python tools/experiment_discriminator.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "config": config,
            "planned_runs": planned,
            "complete": finished,
            "runs": listed,
            "summary": summarise(listed),
            "wall_seconds": time.perf_counter() - wall,
            "cpu_seconds": cpu_seconds() - cpu,
            "chart": None,
        }
        # The chart is redrawn after each finished run, not while one runs.
        return write_results(results, out, write_chart, draw=partial is None)

    # Seed-major order: a run stopped early leaves every Adam setting and
    # method with the same seeds.
    for seed in args.seeds:
        for setting in args.grid:
            learning_rate, beta_1 = (float(v) for v in setting.split(":"))
            for method in args.methods:
                print(f"{method} seed {seed} lr {learning_rate} beta1 {beta_1}")
                runs.append(
                    run(method, seed, learning_rate, beta_1, args, context, save)
                )
                save()
    return save(finished=True)


if __name__ == "__main__":
    main()
