"""How close an SS-GAN step comes to the machine's practical peak.

Counts the floating-point work of one SS-GAN training step and divides by
its measured time, against two peaks measured in the same run with the same
library and threads: a large float32 matmul, and the 3x3 convolution that
dominates the generator (256 -> 256 channels). Rounds of the step and of
the peak kernels alternate, so load on a shared machine hits all alike.

The step's FLOPs come from TensorFlow's profiler (`float_ops` of the
forward graphs of G and D, per image), composed with the passes one step
runs (see `step_flops`): a backward pass costs about twice its forward when
weight gradients are needed (input and filter gradients) and once when only
input gradients are (back-propagating through D to G).

    nice -n 10 .venv/bin/python tools/benchmark_flops.py \
        --out tools/results/flops.json
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl.methods.ssgan import build_ssgan  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--g-width", type=int, default=256)
    parser.add_argument("--d-width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--jit", default="auto", choices=["auto", "xla", "none"])
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def forward_flops(model, input_specs):
    """FLOPs of one forward call of `model` on `input_specs` (profiler)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    function = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0]))
    graph = function.get_concrete_function(*input_specs).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops


def step_flops(g_image, d_image, batch):
    """One SS-GAN step (one D update, one G update) at batch B.

    D update: G forward on B (no gradient); D forward and backward with
    weight gradients on 3B images (B real, B fake, B rotated real).
    G update: G forward and backward with weight gradients on B; D forward
    on 2B (B fake, B rotated fake) and backward with input gradients only.
    """
    d_update = batch * g_image + 3 * batch * d_image * 3
    g_update = batch * g_image * 3 + 2 * batch * d_image * 2
    return d_update + g_update, {"d_update": d_update, "g_update": g_update}


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    model = build_ssgan(32, g_width=args.g_width, d_width=args.d_width, seed=0)
    jit = {"auto": "auto", "xla": True, "none": False}[args.jit]
    model.compile(jit_compile=jit)
    images = np.random.default_rng(0).uniform(-1, 1, (args.batch_size, 32, 32, 3))
    images = images.astype("float32")
    start = time.perf_counter()
    model.train_on_batch(images)
    first_step = time.perf_counter() - start

    z_dim = model.generator.inputs[0].shape[-1]
    g_image = forward_flops(model.generator, [tf.TensorSpec((1, z_dim))])
    d_image = forward_flops(model.discriminator, [tf.TensorSpec((1, 32, 32, 3))])
    flops, parts = step_flops(g_image, d_image, args.batch_size)

    size = 4096
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda: tf.matmul(a, b))
    conv_input = tf.random.normal((args.batch_size, 16, 16, 256))
    conv_kernel = tf.random.normal((3, 3, 256, 256))
    conv = tf.function(lambda: tf.nn.conv2d(conv_input, conv_kernel, 1, "SAME"))
    matmul(), conv()
    matmul_flops = 2 * size**3
    conv_flops = 2 * args.batch_size * 16 * 16 * 9 * 256 * 256

    rounds = {"step": [], "matmul": [], "conv": []}
    for _ in range(args.rounds):
        rounds["step"].append(timed(lambda: model.train_on_batch(images), args.steps))
        rounds["matmul"].append(timed(lambda: matmul().numpy(), 3))
        rounds["conv"].append(timed(lambda: conv().numpy(), 3))
    step_seconds = statistics.median(rounds["step"])
    matmul_gflops = matmul_flops / statistics.median(rounds["matmul"]) / 1e9
    conv_gflops = conv_flops / statistics.median(rounds["conv"]) / 1e9
    achieved = flops / step_seconds / 1e9
    results = {
        "benchmark": "flops",
        "command": "python tools/benchmark_flops.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": vars(args),
        "jit_compile": str(model.jit_compile),
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "cpus": os.cpu_count(),
        },
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "g_forward_flops_per_image": int(g_image),
        "d_forward_flops_per_image": int(d_image),
        "step_flops": int(flops),
        "step_flops_parts": {k: int(v) for k, v in parts.items()},
        "first_step_seconds": first_step,
        "step_seconds_median": step_seconds,
        "achieved_gflops": achieved,
        "matmul_gflops": matmul_gflops,
        "conv3x3_256_gflops": conv_gflops,
        "fraction_of_conv_peak": achieved / conv_gflops,
        "fraction_of_matmul_peak": achieved / matmul_gflops,
        "rounds": rounds,
    }
    print(json.dumps({k: v for k, v in results.items() if k != "rounds"}, indent=1))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)
    return results


if __name__ == "__main__":
    main()
