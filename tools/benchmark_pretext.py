"""Benchmark of the pretext-task methods on the shared CIFAR-10 copy.

Every method trains the same small encoder (a narrow NIN) on the same CIFAR-10
training subset for the same CPU-time budget (process CPU seconds, so that a
busy machine does not shorten a run), then:

- pretext accuracy on held-out CIFAR-10 test images (`model.evaluate`);
- linear probe (`keras_ssl.evaluation.linear_probe`, per NIN block) and
  weighted kNN (`knn_accuracy`) of the frozen encoder: fitted on the training
  subset's labels, scored on a CIFAR-10 test subset;
- training throughput in source images per wall second and per CPU second;

against the same encoder randomly initialised and trained with labels (the
ceiling). For RotationAuxiliary: AUROC of in-distribution CIFAR-10 test
images (classes 0-8, the classes it is trained on) against a held-out CIFAR
class (9, truck), scikit-learn digits resized to 32x32 RGB and Gaussian
noise, with the auxiliary loss and without it (a plain classifier trained
for the same budget).

    nice -n 10 .venv/bin/python tools/benchmark_pretext.py            # all
    nice -n 10 .venv/bin/python tools/benchmark_pretext.py --methods rotnet jigsaw

Results are merged into tools/results/pretext.json after every method, so a
partial run keeps what it measured.
"""

import argparse
import inspect
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl.architectures.nin import nin_encoder  # noqa: E402
from keras_ssl.data import load_arrays  # noqa: E402
from keras_ssl.evaluation import ood_auroc  # noqa: E402
from keras_ssl.methods import build_method, get_builder  # noqa: E402
from tools._budget import fit_for_budget, load_cifar, merge_json  # noqa: E402
from tools._budget import probe as shared_probe  # noqa: E402

RESULTS = ROOT / "tools" / "results" / "pretext.json"

PRETEXT_METHODS = (
    "rotnet",
    "rotation_decoupling",
    "jigsaw",
    "deeppermnet",
    "context_prediction",
    "exemplar",
    "transitive_invariance",
    "multitask",
)
# Builder arguments of the benchmark's runs (settings, not code paths): every
# method reports its own chance level (`pretext_chance`, from its
# `chance_accuracy`) and builds its own training input (`training_data`, with
# the labels or example indices it declares it requires), so the runs below
# have no per-method code.
BUILD_ARGUMENTS = {
    "rotation_decoupling": {"seed": 0},
    "jigsaw": {"seed": 0},
    "deeppermnet": {"seed": 0},
    "context_prediction": {"seed": 0},
    "exemplar": {"seed": 0},
    "transitive_invariance": {"seed": 0},
    "multitask": {"tasks": {"rotation": {}, "exemplar": {"num_views": 4}}},
}
# Images per batch relative to --batch-size: Exemplar's 8 views of 32 images
# make 256 crops, as many as RotNet's 64 images x 4 rotations.
BATCH_FRACTION = {"exemplar": 0.5}


def encoder_config(args):
    return {"num_blocks": args.num_blocks, "width": args.width}


def full_image_encoder(encoder, args):
    """The encoder as a 32x32-image model (tile encoders share its weights)."""
    if tuple(encoder.inputs[0].shape[1:]) == (32, 32, 3):
        return encoder
    clone = nin_encoder((32, 32, 3), **encoder_config(args))
    clone.set_weights(encoder.get_weights())
    return clone


def probe(encoder, data, args):
    layers = [f"block{i}" for i in range(2, args.num_blocks + 1)]
    return shared_probe(
        encoder,
        (data["probe_x"], data["probe_y"]),
        (data["test_x"], data["test_y"]),
        layers=layers,
        epochs=args.probe_epochs,
    )


def build(name, args, **extra):
    config = dict(image_size=32, channels=3, encoder_config=encoder_config(args))
    parameters = inspect.signature(get_builder(name)).parameters
    if "num_negatives" in parameters:
        config["num_negatives"] = args.num_negatives
    config.update(extra)
    return build_method(name, **config)


def train(model, data_train, batch_size, args, callbacks=()):
    # One optimizer for every model, so that only the objective differs.
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return fit_for_budget(
        model, data_train, args.cpu_seconds, batch_size, callbacks=callbacks
    )


def run_pretext(name, data, args):
    batch_size = int(args.batch_size * BATCH_FRACTION.get(name, 1.0))
    extra = dict(BUILD_ARGUMENTS.get(name, {}))
    if "num_examples" in inspect.signature(get_builder(name)).parameters:
        extra["num_examples"] = len(data["train_x"])
    model = build(name, args, **extra)
    train_data, callbacks = model.training_data(
        data["train_x"], data["train_y"], batch_size=batch_size, seed=0
    )
    eval_data, _ = model.training_data(
        data["eval_x"], data["eval_y"], batch_size=batch_size, seed=0
    )
    timing, last = train(model, train_data, batch_size, args, callbacks)
    evaluated = model.evaluate(eval_data, verbose=0, return_dict=True)
    result = {
        "batch_size": batch_size,
        **timing,
        "train_metrics_last_epoch": last,
        "heldout_metrics": {k: round(float(v), 4) for k, v in evaluated.items()},
        "pretext_accuracy": round(float(evaluated["pretext_accuracy"]), 4),
    }
    chance = model.pretext_chance(batch_size)
    if chance is not None:
        result["pretext_chance"] = round(float(chance), 4)
    else:
        result["pretext_accuracy_note"] = "mean of the tasks' accuracies"
    result.update(probe(full_image_encoder(model.encoder, args), data, args))
    return result


def run_random(data, args):
    keras.utils.set_random_seed(0)
    return probe(nin_encoder((32, 32, 3), **encoder_config(args)), data, args)


def run_supervised(data, args):
    model = build("rotation_auxiliary", args, num_classes=10, rotation_weight=0.0)
    train_data, _ = model.training_data(
        data["train_x"], data["train_y"], batch_size=args.batch_size, seed=0
    )
    # With rotation_weight=0 the model logs only its classifier's metrics.
    timing, last = train(model, train_data, args.batch_size, args)
    test = model.evaluate(
        tf.data.Dataset.from_tensor_slices((data["test_x"], data["test_y"])).batch(
            args.batch_size
        ),
        verbose=0,
        return_dict=True,
    )
    return {
        "batch_size": args.batch_size,
        **timing,
        "train_metrics_last_epoch": last,
        "test_classification_accuracy": round(
            float(test["classification_accuracy"]), 4
        ),
        **probe(model.encoder, data, args),
    }


def run_rotation_auxiliary(data, args):
    """OOD AUROC with and without the rotation auxiliary loss."""
    held_out = 9
    keep = data["train_y"] != held_out
    train_x, train_y = data["train_x"][keep], data["train_y"][keep]
    test_keep = data["test_y"] != held_out
    inside = data["test_x"][test_keep]
    rng = np.random.default_rng(0)
    digits, _ = load_arrays("digits", image_size=32, channels=3, limit=1000, seed=0)
    out_sets = {
        "cifar10_class_9_truck": data["test_x"][~test_keep],
        "digits_32x32_rgb": digits,
        "gaussian_noise_sigma_0.5": np.clip(
            rng.normal(0.0, 0.5, size=(1000, 32, 32, 3)), -1, 1
        ).astype("float32"),
    }
    results = {
        "setup": (
            f"trained on CIFAR-10 train subset classes 0-8 ({len(train_x)} images); "
            f"in-distribution: {len(inside)} CIFAR-10 test images of classes 0-8"
        ),
        "out_of_distribution_sizes": {k: int(len(v)) for k, v in out_sets.items()},
    }
    for label, weight in (
        ("with_rotation_loss", args.rotation_weight),
        ("without_rotation_loss", 0.0),
    ):
        model = build("rotation_auxiliary", args, num_classes=9, rotation_weight=weight)
        train_data, _ = model.training_data(
            train_x, train_y, batch_size=args.batch_size, seed=0
        )
        timing, last = train(model, train_data, args.batch_size, args)
        test = model.evaluate(
            tf.data.Dataset.from_tensor_slices(
                (inside, data["test_y"][test_keep])
            ).batch(args.batch_size),
            verbose=0,
            return_dict=True,
        )
        entry = {
            "rotation_weight": weight,
            **timing,
            "train_metrics_last_epoch": last,
            "test_classification_accuracy": round(
                float(test["classification_accuracy"]), 4
            ),
            "auroc": {},
        }
        if "pretext_accuracy" in test:
            entry["test_rotation_accuracy"] = round(float(test["pretext_accuracy"]), 4)
        # The authors' multi-class score, its KL term alone, and the
        # one-class score (which needs a trained rotation head).
        scores = ["kl"]
        if weight > 0:
            scores = ["multiclass", "kl", "one_class"]
        for score_name in scores:
            entry["auroc"][score_name] = {
                out_name: round(
                    ood_auroc(
                        lambda x, s=score_name, m=model: m.ood_score(x, score=s),
                        inside,
                        out_images,
                    ),
                    4,
                )
                for out_name, out_images in out_sets.items()
            }
        results[label] = entry
    return results


def load_data(args):
    data = load_cifar(args.train_limit, args.test_limit + args.eval_limit)
    test_x, test_y = data["test_x"], data["test_y"]
    return {
        "train_x": data["train_x"],
        "train_y": data["train_y"],
        "probe_x": data["train_x"],
        "probe_y": data["train_y"],
        "test_x": test_x[: args.test_limit],
        "test_y": test_y[: args.test_limit],
        "eval_x": test_x[args.test_limit :],
        "eval_y": test_y[args.test_limit :],
    }


def markdown(results):
    """Tables of a results file, for docs/methods.md."""
    methods = results.get("methods", {})
    lines = [
        "| encoder | pretext acc. (chance) | linear probe best (block2 / 3 / 4) "
        "| kNN | train images/s (wall / CPU) | steps |",
        "|---|---|---|---|---|---|",
    ]
    order = ["random", "supervised", *PRETEXT_METHODS]
    order += [name for name in methods if name not in order and "ood" not in name]
    for name in order:
        entry = methods.get(name)
        if not entry:
            lines.append(f"| {name} | not measured | | | | |")
            continue
        if "status" in entry:
            lines.append(f"| {name} | {entry['status']} | | | | |")
            continue
        probe_values = " / ".join(f"{v:.3f}" for v in entry["linear_probe"].values())
        if "pretext_accuracy" in entry:
            chance = entry.get("pretext_chance")
            pretext = f"{entry['pretext_accuracy']:.3f}" + (
                f" ({chance:.3f})" if chance is not None else " (mean of tasks)"
            )
        elif name == "supervised":
            pretext = f"test acc. {entry['test_classification_accuracy']:.3f}"
        else:
            pretext = "-"
        speed = (
            f"{entry['images_per_wall_second']:.0f} / "
            f"{entry['images_per_cpu_second']:.0f}"
            if "images_per_cpu_second" in entry
            else "-"
        )
        lines.append(
            f"| {name} | {pretext} | {entry['linear_probe_best']:.3f} "
            f"({probe_values}) | {entry['knn_accuracy']:.3f} | {speed} "
            f"| {entry.get('steps', '-')} |"
        )
    ood = methods.get("rotation_auxiliary_ood")
    if ood:
        lines += [
            "",
            "| RotationAuxiliary OOD AUROC | "
            + " | ".join(ood["out_of_distribution_sizes"])
            + " | test acc. |",
            "|---|" + "---|" * (len(ood["out_of_distribution_sizes"]) + 1),
        ]
        for label in ("with_rotation_loss", "without_rotation_loss"):
            entry = ood[label]
            for score, values in entry["auroc"].items():
                lines.append(
                    f"| {label.replace('_', ' ')}, score {score} | "
                    + " | ".join(f"{v:.3f}" for v in values.values())
                    + f" | {entry['test_classification_accuracy']:.3f} |"
                )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[
            "random",
            "rotnet",
            "supervised",
            "rotation_auxiliary",
            "exemplar",
            "rotation_decoupling",
            "multitask",
            "jigsaw",
            "deeppermnet",
            "context_prediction",
            "transitive_invariance",
        ],
    )
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--test-limit", type=int, default=2000)
    parser.add_argument("--eval-limit", type=int, default=512)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--num-blocks", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cpu-seconds", type=float, default=70.0)
    parser.add_argument("--probe-epochs", type=int, default=20)
    parser.add_argument("--num-negatives", type=int, default=4096)
    parser.add_argument("--rotation-weight", type=float, default=0.5)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--markdown", action="store_true", help="print tables of --output and exit"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(pathlib.Path(args.output).read_text())))
        return 0

    output = pathlib.Path(args.output)
    setup = {
        "command": "nice -n 10 .venv/bin/python tools/benchmark_pretext.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": (
            f"shared CIFAR-10 JPEGs: {args.train_limit} train images (seeded, "
            f"class-balanced subset) for pretext training and for fitting the "
            f"probes; {args.test_limit} test images for probe/kNN accuracy; "
            f"{args.eval_limit} other test images for held-out pretext accuracy"
        ),
        "encoder": (
            f"nin_encoder(num_blocks={args.num_blocks}, width={args.width}); tile "
            "methods train it on tiles/patches and are probed on whole 32x32 "
            "images with the same weights"
        ),
        "budget": (
            f"{args.cpu_seconds:g} s of process CPU time of training per model "
            f"(batch {args.batch_size} images; Exemplar {args.batch_size // 2} "
            f"images x 8 views), Adam {args.learning_rate:g} for every model"
        ),
        "linear_probe": (
            f"keras_ssl.evaluation.linear_probe per NIN block (2..{args.num_blocks}),"
            f" {args.probe_epochs} epochs, features pooled to <= 9216 dims"
        ),
        "knn": "keras_ssl.evaluation.knn_accuracy, k=200, temperature 0.1",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores shared, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
    }

    def record_setup(results):
        # Several runs (e.g. in parallel, on disjoint --methods) may fill one
        # file with the same settings: every command is kept.
        commands = results.get("setup", {}).get("commands", [])
        if setup["command"] not in commands:
            commands.append(setup["command"])
        results["setup"] = {**results.get("setup", {}), **setup, "commands": commands}

    merge_json(output, record_setup)
    data = load_data(args)
    started = time.process_time()
    for name in args.methods:
        print(f"== {name}", flush=True)
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        t0 = time.process_time()
        # The baselines and the OOD study are runs of their own; every
        # pretext method goes through the same run_pretext.
        runner = {
            "random": run_random,
            "supervised": run_supervised,
            "rotation_auxiliary": run_rotation_auxiliary,
        }.get(name, lambda d, a, n=name: run_pretext(n, d, a))
        entry = runner(data, args)
        entry["total_cpu_seconds"] = round(time.process_time() - t0, 1)
        key = "rotation_auxiliary_ood" if name == "rotation_auxiliary" else name
        used = round(time.process_time() - started, 1)

        def record(results, key=key, entry=entry, used=used):
            results.setdefault("methods", {})[key] = entry
            results["setup"]["total_cpu_seconds_last_run"] = used

        merge_json(output, record)
        print(json.dumps(entry), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
