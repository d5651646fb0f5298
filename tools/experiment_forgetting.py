"""Discriminator forgetting (Chen et al. 2019, SS-GAN, Fig. 2) on CIFAR-10.

A classifier with the SS-GAN discriminator's ResNet trunk is trained on a
sequence of 1-vs-all tasks: for `--iterations-per-task` steps it separates
class k from the nine others, then the task switches to class k + 1, cycling
through the ten classes. This is the non-stationary problem a GAN's
discriminator faces as the generator moves. Every `--probe-every` steps the
trunk is frozen and its pooled features are scored by a 10-class linear
probe (standardised features, logistic regression), the representation
quality the paper plots. The paper's claim: without self-supervision the
representation degrades at each task switch (forgetting); with the rotation
loss added (weight 1, as SS-GAN's D) it keeps improving.

Both variants share the trunk, the initial weights, the task sequence, the
batches and the optimizer (Adam 2e-4, 0.5, 0.999) per seed; only the
rotation loss differs. Writes JSON (per-probe accuracies, per variant and
seed, with the budget and throughput) and, with matplotlib, a PNG chart.

    nice -n 10 .venv/bin/python tools/experiment_forgetting.py \
        --out tools/results/claims_forgetting.json
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_DATA = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "cifar10-jpeg", "train.zip"
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="CIFAR-10 train zip")
    parser.add_argument("--train-limit", type=int, default=10000)
    parser.add_argument("--probe-train", type=int, default=4000)
    parser.add_argument("--probe-test", type=int, default=2000)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iterations-per-task", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--rotation-weight", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="tools/results/claims_forgetting.json")
    parser.add_argument(
        "--chart", default=None, help="PNG path (default: beside --out)"
    )
    return parser.parse_args(argv)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def probe_accuracy(train_features, train_labels, test_features, test_labels):
    """10-class accuracy of logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression

    mean = train_features.mean(0)
    scale = train_features.std(0) + 1e-6
    classifier = LogisticRegression(max_iter=300)
    classifier.fit((train_features - mean) / scale, train_labels)
    return float(classifier.score((test_features - mean) / scale, test_labels))


def build_networks(width, seed):
    import keras

    from keras_ssl.architectures import resnet_discriminator

    keras.utils.set_random_seed(seed)
    discriminator = resnet_discriminator(32, width, 3)
    # The trunk up to the pooled features; D's own logit layer is unused.
    trunk = keras.Model(
        discriminator.input, {"features": discriminator.output["features"]}
    )
    task_head = keras.layers.Dense(1, name="task_head")
    rotation_head = keras.layers.Dense(4, name="rotation_head")
    features = keras.Input((trunk.output["features"].shape[-1],))
    task_head(features)
    rotation_head(features)
    return trunk, task_head, rotation_head


def run_variant(args, data, seed, rotation):
    import keras
    import tensorflow as tf

    from keras_ssl.ops import rotation_batch

    images, labels, probe = data
    trunk, task_head, rotation_head = build_networks(args.width, seed)
    variables = (
        trunk.trainable_variables
        + task_head.trainable_variables
        + rotation_head.trainable_variables
    )
    optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    optimizer.build(variables)
    rotation_weight = args.rotation_weight if rotation else 0.0

    @tf.function
    def step(batch, targets):
        with tf.GradientTape() as tape:
            features = trunk(batch, training=True)["features"]
            logits = task_head(features)[:, 0]
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(targets, logits)
            )
            if rotation_weight:
                quarter = tf.shape(batch)[0] // 4
                rotated, rotation_labels = rotation_batch(batch[-quarter:])
                rotated_features = trunk(rotated, training=True)["features"]
                rotation_loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(
                        rotation_labels, rotation_head(rotated_features)
                    )
                )
                loss = loss + rotation_weight * rotation_loss
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    def features_of(x):
        return np.concatenate(
            [
                np.asarray(trunk(x[i : i + 500], training=False)["features"])
                for i in range(0, len(x), 500)
            ]
        )

    def probe_now():
        return probe_accuracy(
            features_of(probe[0]), probe[1], features_of(probe[2]), probe[3]
        )

    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == k) for k in range(10)]
    others = [np.flatnonzero(labels != k) for k in range(10)]
    half = args.batch_size // 2
    total = 10 * args.cycles * args.iterations_per_task
    history = {"iteration": [0], "probe_accuracy": [probe_now()], "loss": []}
    start, cpu_start, train_time = time.perf_counter(), cpu_seconds(), 0.0
    for iteration in range(1, total + 1):
        task = ((iteration - 1) // args.iterations_per_task) % 10
        index = np.concatenate(
            [rng.choice(by_class[task], half), rng.choice(others[task], half)]
        )
        targets = np.concatenate([np.ones(half), np.zeros(half)]).astype("float32")
        tick = time.perf_counter()
        loss = step(tf.constant(images[index]), tf.constant(targets))
        train_time += time.perf_counter() - tick
        history["loss"].append(float(loss))
        if iteration % args.probe_every == 0:
            history["iteration"].append(iteration)
            history["probe_accuracy"].append(probe_now())
    history["wall_seconds"] = time.perf_counter() - start
    history["cpu_seconds"] = cpu_seconds() - cpu_start
    history["train_images_per_second"] = (
        total * args.batch_size * (1.25 if rotation else 1.0) / max(train_time, 1e-9)
    )
    return history


def write_chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    for variant, color in (("with_rotation", "tab:blue"), ("without", "tab:orange")):
        runs = results["variants"][variant]
        iterations = runs[0]["iteration"]
        accuracy = np.mean([run["probe_accuracy"] for run in runs], axis=0)
        label = "with rotation loss" if variant == "with_rotation" else "without"
        axis.plot(iterations, accuracy, color=color, label=label)
    step = results["config"]["iterations_per_task"]
    for switch in range(step, iterations[-1], step):
        axis.axvline(switch, color="grey", lw=0.5, ls=":")
    axis.set_xlabel("iteration (task switches dotted)")
    axis.set_ylabel("10-class linear probe accuracy")
    axis.set_title("Sequential 1-vs-all CIFAR-10 tasks (SS-GAN Fig. 2 protocol)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def summarise(results):
    """Numbers the verdict is computed from (see tools/write_claims.py)."""
    step = results["config"]["iterations_per_task"]
    summary = {}
    for variant, runs in results["variants"].items():
        final = [run["probe_accuracy"][-1] for run in runs]
        # Accuracy change across each task switch: the probe just after the
        # switch minus the one at the switch (forgetting shows as drops).
        drops = []
        for run in runs:
            iterations = run["iteration"]
            for i, it in enumerate(iterations[:-1]):
                if it > 0 and it % step == 0:
                    drops.append(
                        run["probe_accuracy"][i + 1] - run["probe_accuracy"][i]
                    )
        summary[variant] = {
            "final_accuracy_mean": float(np.mean(final)),
            "final_accuracy_std": float(np.std(final)),
            "best_accuracy_mean": float(
                np.mean([max(run["probe_accuracy"]) for run in runs])
            ),
            "mean_change_after_switch": float(np.mean(drops)) if drops else None,
        }
    return summary


def main(argv=None):
    args = parse_args(argv)
    from keras_ssl.data import load_arrays

    images, labels = load_arrays(args.data, "train", limit=args.train_limit, seed=0)
    probe_source = os.path.join(os.path.dirname(args.data), "test.zip")
    probe_images, probe_labels = load_arrays(
        probe_source, "test", limit=args.probe_train + args.probe_test, seed=1
    )
    probe = (
        probe_images[: args.probe_train],
        probe_labels[: args.probe_train],
        probe_images[args.probe_train :],
        probe_labels[args.probe_train :],
    )
    results = {
        "experiment": "forgetting",
        "paper": "Chen et al., Self-Supervised GANs via Auxiliary Rotation Loss, "
        "CVPR 2019, Fig. 2",
        "command": "python tools/experiment_forgetting.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": {k: v for k, v in vars(args).items() if k not in ("out", "chart")},
        "variants": {"with_rotation": [], "without": []},
    }
    results["config"]["data"] = os.path.relpath(args.data, ROOT)
    for seed in args.seeds:
        for variant in ("without", "with_rotation"):
            history = run_variant(
                args, (images, labels, probe), seed, variant == "with_rotation"
            )
            history["seed"] = seed
            results["variants"][variant].append(history)
            print(
                f"seed {seed} {variant}: probe "
                f"{history['probe_accuracy'][0]:.3f} -> "
                f"{history['probe_accuracy'][-1]:.3f} "
                f"({history['wall_seconds']:.0f} s)",
                flush=True,
            )
    results["summary"] = summarise(results)
    out = os.path.join(ROOT, args.out) if not os.path.isabs(args.out) else args.out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    chart = args.chart or os.path.splitext(out)[0] + ".png"
    try:
        write_chart(results, chart)
        results["chart"] = os.path.relpath(chart, ROOT)
    except ImportError:
        results["chart"] = None  # matplotlib is the optional [plots] extra
    with open(out, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    return results


if __name__ == "__main__":
    main()
