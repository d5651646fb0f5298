"""Fewer labels (Lucic et al. 2019, S3GAN): FID with 0, 10, 20 and 100 % labels.

Trains, with the same ResNet networks, budget, data and seeds:

- `gan`: no labels;
- `s3gan` with 10 % and 20 % of the labels (D's classifier head labels the
  rest; rotation self-supervision);
- `cgan`: all labels (projection D, conditional BN);
- the clustering variant: a `cgan` whose labels are k-means cluster ids of a
  self-supervised encoder's features (a RotNet trained here for
  `--rotnet-steps` on the same images), against a `cgan` on random labels
  (the control: labels that carry no information).

and reports FID (domain features, the small CIFAR-10 classifier of
`tools/experiment_discriminator.py`) of generated images against test images
at regular steps. The paper's claim: S3GAN with few labels approaches the
fully-supervised cGAN and beats the unconditional GAN; clustering on
self-supervised features beats random labels.

As `tools/experiment_discriminator.py`: runs go seed by seed, the JSON is
rewritten after every evaluation (unfinished runs marked `complete: false`),
the PNG chart after every finished run, and `--merge A.json B.json ...`
combines files of processes that ran other seeds or variants side by side.

    nice -n 15 .venv/bin/python tools/experiment_few_labels.py \
        --seeds 0 1 --steps 150 --eval-every 75 --width 16 \
        --train-limit 10000 --num-samples 1000 --rotnet-steps 150 \
        --classifier-epochs 3 --out tools/results/claims_few_labels.json
"""

import argparse
import json
import os
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
import tensorflow as tf  # noqa: E402
from experiment_discriminator import (  # noqa: E402
    FrechetInDomain,
    cpu_seconds,
    merge_results,
    write_results,
)

from keras_ssl import data as ssl_data  # noqa: E402
from keras_ssl import evaluation  # noqa: E402
from keras_ssl.methods import build_method  # noqa: E402

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "cifar10-jpeg")
VARIANTS = ("gan", "s3gan_10", "s3gan_20", "cgan", "cgan_clusters", "cgan_random")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="XLA train step (on CPU its compile time outweighs short runs)",
    )
    parser.add_argument("--train-limit", type=int, default=10000)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--rotnet-steps", type=int, default=600)
    parser.add_argument("--classifier-epochs", type=int, default=8)
    parser.add_argument(
        "--classifier-limit",
        type=int,
        default=None,
        help="training images of the FID classifier (default: --train-limit)",
    )
    parser.add_argument("--out", default="tools/results/claims_few_labels.json")
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="no training: merge these results files (runs of other seeds, "
        "e.g. from parallel processes) into --out",
    )
    return parser.parse_args(argv)


def rotnet_cluster_ids(images, steps, seed, batch_size=64, jit_compile=False):
    """k-means (10) ids of a briefly trained RotNet's pooled features."""
    from keras_ssl.methods import cluster_labels

    keras.utils.set_random_seed(seed)
    rotnet = build_method(
        "rotnet", image_size=32, encoder_config={"num_blocks": 3, "width": 32}
    )
    rotnet.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=seed)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    rotnet.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return cluster_labels(rotnet.encoder, images, 10, seed=seed)


def build(variant, args, seed):
    common = dict(image_size=32, channels=3, width=args.width, seed=seed)
    if variant == "gan":
        return build_method("gan", n_disc=1, **common)
    if variant.startswith("s3gan"):
        fraction = int(variant.split("_")[1]) / 100
        return build_method(
            "s3gan", num_classes=10, labeled_fraction=fraction, n_disc=1, **common
        )
    return build_method("cgan", num_classes=10, n_disc=1, **common)


def run(variant, seed, images, labels, args, fid, on_partial=None):
    """One training run; `on_partial(run_dict)` receives the run so far."""
    keras.utils.set_random_seed(seed)
    model = build(variant, args, seed)
    adam = dict(learning_rate=2e-4, beta_1=0.5, beta_2=0.999)
    model.compile(
        g_optimizer=keras.optimizers.Adam(**adam),
        d_optimizer=keras.optimizers.Adam(**adam),
        jit_compile=args.jit_compile,
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed)
        .repeat()
        .batch(args.batch_size, drop_remainder=True)
    )
    records = []
    start, cpu, done = time.perf_counter(), cpu_seconds(), 0
    eval_seconds = 0.0

    def describe():
        train_seconds = time.perf_counter() - start - eval_seconds
        return {
            "variant": variant,
            "seed": seed,
            "complete": done >= args.steps,
            "records": list(records),
            "train_seconds": train_seconds,
            "cpu_seconds": cpu_seconds() - cpu,
            "images_per_second": done * args.batch_size / max(train_seconds, 1e-9),
        }

    while done < args.steps:
        chunk = min(args.eval_every, args.steps - done)
        model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)
        done += chunk
        tick = time.perf_counter()
        records.append(
            {"step": done, "fid": fid(model.generate(args.num_samples, seed=seed))}
        )
        eval_seconds += time.perf_counter() - tick
        print(f"  {variant} seed {seed} step {done}: FID {records[-1]['fid']:.2f}")
        if on_partial is not None and done < args.steps:
            on_partial(describe())
    return describe()


def summarise(runs, variants):
    """Per variant, mean/std over seeds of the final FID of complete runs.

    Runs cut short stay in the JSON's `runs` (`complete: false`) and are not
    averaged with finished ones.
    """
    summary = {}
    for variant in variants:
        finished = [r for r in runs if r["variant"] == variant and r["complete"]]
        if not finished:
            continue
        finals = [r["records"][-1]["fid"] for r in finished]
        curves = np.array([[x["fid"] for x in r["records"]] for r in finished])
        summary[variant] = {
            "final_fid_mean": float(np.mean(finals)),
            "final_fid_std": float(np.std(finals)),
            "final_fids": finals,
            "seeds": len(finals),
            "steps": [x["step"] for x in finished[0]["records"]],
            "fid_mean": curves.mean(0).tolist(),
        }
    return summary


def write_chart(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = list(summary)
    left.bar(
        names,
        [summary[n]["final_fid_mean"] for n in names],
        yerr=[summary[n]["final_fid_std"] for n in names],
        capsize=3,
    )
    left.set_ylabel("final FID (domain features)")
    left.set_title("Fewer labels on CIFAR-10 (lower is better)", fontsize=9)
    plt.setp(left.get_xticklabels(), rotation=20, fontsize=8)
    for name in names:
        right.plot(summary[name]["steps"], summary[name]["fid_mean"], label=name)
    right.set_xlabel("step")
    right.set_ylabel("FID (domain features), mean over seeds")
    right.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    out = args.out if os.path.isabs(args.out) else os.path.join(ROOT, args.out)
    if args.merge:
        results = merge_results(
            args.merge,
            lambda r: (r["variant"], r["seed"]),
            lambda c: [(v, s) for s in c["seeds"] for v in c["variants"]],
        )
        results["command"] = "python tools/experiment_few_labels.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        nmi = {}
        for path in args.merge:
            with open(path, encoding="utf-8") as file:
                nmi.update(json.load(file).get("cluster_nmi_with_classes") or {})
        results["cluster_nmi_with_classes"] = nmi
        results["summary"] = summarise(results["runs"], results["config"]["variants"])
        return write_results(results, out, write_chart)
    wall, cpu = time.perf_counter(), cpu_seconds()
    train_path = os.path.join(args.data_dir, "train.zip")
    test_path = os.path.join(args.data_dir, "test.zip")
    images, labels = ssl_data.load_arrays(
        train_path, "train", limit=args.train_limit, seed=0
    )
    if args.classifier_limit in (None, args.train_limit):
        classifier_data = (images, labels)
    else:
        classifier_data = ssl_data.load_arrays(
            train_path, "train", limit=args.classifier_limit, seed=0
        )
    classifier = evaluation.train_domain_classifier(
        classifier_data,
        num_classes=10,
        epochs=args.classifier_epochs,
        seed=0,
        verbose=2,
    )
    del classifier_data
    test_x, _ = ssl_data.load_arrays(test_path, "test", limit=args.num_samples, seed=0)
    fid = FrechetInDomain(evaluation.domain_extractor(classifier), test_x)
    config = {k: v for k, v in vars(args).items() if k != "out"}
    config["data_dir"] = os.path.relpath(args.data_dir, ROOT)
    runs, cluster_info = [], {}

    def save(partial=None, finished=False):
        """Rewrite the JSON: finished runs, plus the one in progress if any."""
        listed = runs + ([partial] if partial is not None else [])
        results = {
            "experiment": "few_labels",
            "paper": "Lucic et al., High-Fidelity Image Generation With Fewer "
            "Labels, ICML 2019",
            "command": "python tools/experiment_few_labels.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "config": config,
            "planned_runs": len(args.seeds) * len(args.variants),
            "complete": finished,
            "cluster_nmi_with_classes": cluster_info,
            "runs": listed,
            "summary": summarise(listed, args.variants),
            "wall_seconds": time.perf_counter() - wall,
            "cpu_seconds": cpu_seconds() - cpu,
            "chart": None,
        }
        # The chart is redrawn after each finished run, not while one runs.
        return write_results(results, out, write_chart, draw=partial is None)

    for seed in args.seeds:
        label_sets = {"true": labels}
        if "cgan_clusters" in args.variants:
            ids = rotnet_cluster_ids(
                images, args.rotnet_steps, seed, jit_compile=args.jit_compile
            )
            label_sets["clusters"] = ids.astype("int32")
            # How much the clusters say about the classes (1 = the classes).
            from sklearn.metrics import normalized_mutual_info_score

            cluster_info[seed] = float(normalized_mutual_info_score(labels, ids))
        rng = np.random.default_rng(seed)
        label_sets["random"] = rng.integers(0, 10, len(labels)).astype("int32")
        for variant in args.variants:
            key = {"cgan_clusters": "clusters", "cgan_random": "random"}.get(
                variant, "true"
            )
            runs.append(run(variant, seed, images, label_sets[key], args, fid, save))
            save()
    return save(finished=True)


if __name__ == "__main__":
    main()
