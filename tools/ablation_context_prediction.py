"""Ablation of Mundhenk et al. (2018)'s improvements to context prediction.

`ContextPrediction` is trained with each improvement alone on top of
Doersch et al.'s task, and with all of them, at one fixed budget of process
CPU seconds each, then probed like the pretext table of `benchmark_pretext.py`
(same encoder, data, optimizer and probes): held-out pretext accuracy, linear
probe per NIN block and weighted kNN of the frozen encoder on CIFAR-10 test
images, next to the same encoder randomly initialised.

Rows: `doersch` (pairs, projection, independent jitter), `chroma_blur`,
`yoked_jitter`, `triples` (20 three-patch configurations), `aperture`
(random aperture, 2/3), `rotation` (rotation with classification), `all`.
The chroma blur window is scaled to 32-pixel images (see --chroma-blur).

    nice -n 10 .venv/bin/python tools/ablation_context_prediction.py

Results are merged into tools/results/ablation_context_prediction.json after
every row, so a partial run keeps what it measured.
"""

import argparse
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
import tensorflow as tf  # noqa: E402

from keras_ssl.architectures.nin import nin_encoder  # noqa: E402
from keras_ssl.methods import build_context_prediction  # noqa: E402
from tools._budget import fit_for_budget, load_cifar, merge_json, probe  # noqa: E402

RESULTS = ROOT / "tools" / "results" / "ablation_context_prediction.json"


def row_options(args):
    """Builder arguments of every row (Doersch et al.'s task plus options)."""
    return {
        "doersch": {},
        "chroma_blur": {"chroma_blur": args.chroma_blur},
        "yoked_jitter": {"yoked_jitter": True},
        "triples": {"configurations": "triples"},
        "aperture": {"random_aperture": 2 / 3},
        "rotation": {"rotation": True},
        "all": {
            "chroma_blur": args.chroma_blur,
            "yoked_jitter": True,
            "configurations": "triples",
            "random_aperture": 2 / 3,
            "rotation": True,
        },
    }


def encoder_config(args):
    return {"num_blocks": args.num_blocks, "width": args.width}


def image_encoder(encoder, args):
    """The patch encoder as a 32x32-image model with the same weights."""
    clone = nin_encoder((32, 32, 3), **encoder_config(args))
    clone.set_weights(encoder.get_weights())
    return clone


def run_probe(encoder, data, args):
    return probe(
        encoder,
        (data["train_x"], data["train_y"]),
        (data["test_x"], data["test_y"]),
        layers=[f"block{i}" for i in range(2, args.num_blocks + 1)],
        epochs=args.probe_epochs,
    )


def run_row(name, options, data, args):
    keras.utils.set_random_seed(0)
    start = time.process_time()
    model = build_context_prediction(
        32, encoder_config=encoder_config(args), seed=0, **options
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    train_data, _ = model.training_data(
        data["train_x"], data["train_y"], args.batch_size, seed=0
    )
    summary, metrics = fit_for_budget(
        model,
        train_data.repeat(),
        args.cpu_seconds,
        args.batch_size,
        steps_per_epoch=50,
    )
    heldout = model.evaluate(
        data["eval_x"], batch_size=args.batch_size, verbose=0, return_dict=True
    )
    result = {
        "options": options,
        "num_classes": model.num_classes,
        "chance": round(model.pretext_chance(args.batch_size), 4),
        **summary,
        "train_metrics_last_epoch": metrics,
        "heldout_pretext_accuracy": round(float(heldout["pretext_accuracy"]), 4),
        **run_probe(image_encoder(model.encoder, args), data, args),
        "total_cpu_seconds": None,
    }
    result["total_cpu_seconds"] = round(time.process_time() - start, 1)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=None)
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--train-limit", type=int, default=4000)
    parser.add_argument("--test-limit", type=int, default=1000)
    parser.add_argument("--eval-limit", type=int, default=512)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--num-blocks", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--probe-epochs", type=int, default=15)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--chroma-blur",
        type=int,
        default=3,
        help="odd window of the chroma blur; the paper's 13 pixels on 96-pixel "
        "patches is about 1 pixel on our 8-pixel patches, and 3 is the "
        "smallest window that blurs",
    )
    parser.add_argument("--no-random", action="store_true")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    rows = row_options(args)
    names = args.rows or list(rows)
    unknown = sorted(set(names) - set(rows))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(rows)}")
    loaded = load_cifar(args.train_limit, args.test_limit + args.eval_limit)
    data = {
        "train_x": loaded["train_x"],
        "train_y": loaded["train_y"],
        "test_x": loaded["test_x"][: args.test_limit],
        "test_y": loaded["test_y"][: args.test_limit],
        "eval_x": loaded["test_x"][args.test_limit :],
    }
    command = "nice -n 10 .venv/bin/python tools/ablation_context_prediction.py " + (
        " ".join(argv if argv is not None else sys.argv[1:])
    )
    merge_json(
        args.output,
        {
            "setup": {
                "command": command.strip(),
                "data": f"shared CIFAR-10 JPEGs: {args.train_limit} train images "
                "(seeded subset) for pretext training and for fitting the probes; "
                f"{args.test_limit} test images for probe/kNN accuracy; "
                f"{args.eval_limit} other test images for held-out pretext "
                "accuracy (deterministic sets: centred layout, no aperture)",
                "model": "build_context_prediction(32, encoder_config="
                f"{encoder_config(args)}, seed=0): 8-pixel patches, gap 2, "
                "jitter 1, projection countermeasure; trained on patches, probed "
                "on whole 32x32 images with the same weights",
                "budget": f"{args.cpu_seconds:g} s of process CPU time of training "
                f"per row, batch {args.batch_size} images, Adam "
                f"{args.learning_rate:g}",
                "linear_probe": "keras_ssl.evaluation.linear_probe per NIN block "
                f"(2..{args.num_blocks}), {args.probe_epochs} epochs",
                "knn": "keras_ssl.evaluation.knn_accuracy, k=200",
                "chroma_blur_window": args.chroma_blur,
                "machine": f"{platform.machine()}, {os.cpu_count()} shared CPU "
                f"cores, TensorFlow {tf.__version__}, Keras {keras.__version__}",
            }
        },
    )

    def store(name, result):
        def update(results):
            results.setdefault("rows", {})[name] = result

        merge_json(args.output, update)
        print(name, result, flush=True)

    if not args.no_random:
        keras.utils.set_random_seed(0)
        encoder = nin_encoder((32, 32, 3), **encoder_config(args))
        store("random_encoder", run_probe(encoder, data, args))
    for name in names:
        store(name, run_row(name, rows[name], data, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
