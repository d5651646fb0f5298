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

    nice -n 10 .venv/bin/python tools/experiment_few_labels.py \
        --seeds 0 1 --steps 1500 --out tools/results/claims_few_labels.json
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
from experiment_discriminator import FrechetInDomain, cpu_seconds  # noqa: E402

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
    parser.add_argument("--train-limit", type=int, default=10000)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--rotnet-steps", type=int, default=600)
    parser.add_argument("--classifier-epochs", type=int, default=8)
    parser.add_argument("--out", default="tools/results/claims_few_labels.json")
    return parser.parse_args(argv)


def rotnet_cluster_ids(images, steps, seed, batch_size=64):
    """k-means (10) ids of a briefly trained RotNet's pooled features."""
    from keras_ssl.methods import cluster_labels

    keras.utils.set_random_seed(seed)
    rotnet = build_method(
        "rotnet", image_size=32, encoder_config={"num_blocks": 3, "width": 32}
    )
    rotnet.compile(optimizer=keras.optimizers.Adam(1e-3))
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


def run(variant, seed, images, labels, args, fid):
    keras.utils.set_random_seed(seed)
    model = build(variant, args, seed)
    adam = dict(learning_rate=2e-4, beta_1=0.5, beta_2=0.999)
    model.compile(
        g_optimizer=keras.optimizers.Adam(**adam),
        d_optimizer=keras.optimizers.Adam(**adam),
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
    while done < args.steps:
        chunk = min(args.eval_every, args.steps - done)
        model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)
        done += chunk
        tick = time.perf_counter()
        records.append({"step": done, "fid": fid(model.generate(args.num_samples))})
        eval_seconds += time.perf_counter() - tick
        print(f"  {variant} seed {seed} step {done}: FID {records[-1]['fid']:.2f}")
    train_seconds = time.perf_counter() - start - eval_seconds
    return {
        "variant": variant,
        "seed": seed,
        "records": records,
        "train_seconds": train_seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "images_per_second": args.steps * args.batch_size / max(train_seconds, 1e-9),
    }


def main(argv=None):
    args = parse_args(argv)
    wall, cpu = time.perf_counter(), cpu_seconds()
    train_path = os.path.join(args.data_dir, "train.zip")
    test_path = os.path.join(args.data_dir, "test.zip")
    images, labels = ssl_data.load_arrays(
        train_path, "train", limit=args.train_limit, seed=0
    )
    classifier = evaluation.train_domain_classifier(
        (images, labels), num_classes=10, epochs=args.classifier_epochs, seed=0
    )
    test_x, _ = ssl_data.load_arrays(test_path, "test", limit=args.num_samples, seed=0)
    fid = FrechetInDomain(evaluation.domain_extractor(classifier), test_x)
    runs, cluster_info = [], {}
    for seed in args.seeds:
        label_sets = {"true": labels}
        if "cgan_clusters" in args.variants:
            ids = rotnet_cluster_ids(images, args.rotnet_steps, seed)
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
            runs.append(run(variant, seed, images, label_sets[key], args, fid))
    summary = {}
    for variant in args.variants:
        finals = [r["records"][-1]["fid"] for r in runs if r["variant"] == variant]
        summary[variant] = {
            "final_fid_mean": float(np.mean(finals)),
            "final_fid_std": float(np.std(finals)),
            "seeds": len(finals),
        }
    results = {
        "experiment": "few_labels",
        "paper": "Lucic et al., High-Fidelity Image Generation With Fewer Labels, "
        "ICML 2019",
        "command": "python tools/experiment_few_labels.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "cluster_nmi_with_classes": cluster_info,
        "runs": runs,
        "summary": summary,
        "wall_seconds": time.perf_counter() - wall,
        "cpu_seconds": cpu_seconds() - cpu,
    }
    results["config"]["data_dir"] = os.path.relpath(args.data_dir, ROOT)
    out = args.out if os.path.isabs(args.out) else os.path.join(ROOT, args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(6, 3.4))
        names = list(summary)
        axis.bar(
            names,
            [summary[n]["final_fid_mean"] for n in names],
            yerr=[summary[n]["final_fid_std"] for n in names],
            capsize=3,
        )
        axis.set_ylabel("final FID (domain features)")
        axis.set_title("Fewer labels on CIFAR-10 (lower is better)")
        plt.setp(axis.get_xticklabels(), rotation=20, fontsize=8)
        figure.tight_layout()
        chart = os.path.splitext(out)[0] + ".png"
        figure.savefig(chart, dpi=110)
        plt.close(figure)
        results["chart"] = os.path.relpath(chart, ROOT)
    except ImportError:
        results["chart"] = None  # matplotlib is the optional [plots] extra
    with open(out, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    return results


if __name__ == "__main__":
    main()
