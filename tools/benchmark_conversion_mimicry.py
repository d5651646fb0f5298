"""Mimicry's networks and checkpoints: parameter counts, conversion cost, fidelity.

Three measurements, written to one JSON file:

1. `parameters`: trainable parameters of our networks at Mimicry's full
   sizes against the counts recorded from Mimicry's own classes
   (`../shared/reference/mimicry/manifest.json`, `meta.full_size`), and of
   both networks of every `mimicry_*` preset.
2. `conversion`: for each preset, its generator at full size (the network
   the release `netG.pth` fills) with seeded random weights is written as a
   Mimicry checkpoint (`torch.save({"model_state_dict": ..., ...})`) and
   converted back into a freshly built network with `keras_ssl.convert`
   (format `mimicry_pth`), in a fresh process: wall time, and peak resident
   memory above the built network (Linux: VmHWM after resetting it through
   /proc/self/clear_refs); torch is imported before, and its import time is
   reported apart (a one-time cost). Baseline in the same process: Keras' own
   `load_weights` of the same weights from a `.weights.h5` file. The
   converted generator's images are compared with the original's (max abs
   difference).
3. `fixtures`: max abs difference of every output of every
   `../shared/reference/mimicry/*.npz` fixture (eval and train modes, and
   the rotated batch) and of the state a train pass updates.

    nice -n 10 .venv/bin/python tools/benchmark_conversion_mimicry.py \
        --out tools/results/conversion_mimicry.json
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

REFERENCE = os.path.join(os.path.dirname(ROOT), "shared", "reference", "mimicry")
PRESETS = (
    "mimicry_sngan_cifar10",
    "mimicry_ssgan_cifar10",
    "mimicry_cganpd_cifar10",
    "mimicry_ssgan_stl10",
    "mimicry_ssgan_imagenet",
)


def preset_networks(name):
    """Full-size (generator, discriminator) of a preset, as its method builds them."""
    from keras_ssl import zoo
    from keras_ssl.architectures.gan_networks import gan_networks

    preset = zoo.get_preset(name)
    model = dict(preset.recipe["model"])
    classes = preset.num_classes
    conditional = {} if classes is None else {"num_classes": classes}
    return gan_networks(
        preset.image_size,
        preset.channels,
        model["z_dim"],
        model.get("width"),
        model.get("g_width"),
        model.get("d_width"),
        style=model["style"],
        generator_options={**conditional, **model.get("generator_options", {})},
        discriminator_options={
            **conditional,
            "rotation_head": preset.method == "ssgan",
        },
    )


def count(network):
    return int(sum(np.prod(v.shape) for v in network.trainable_weights))


def parameters():
    from tests.architectures.test_mimicry_resnet import build, kind

    with open(os.path.join(REFERENCE, "manifest.json"), encoding="utf-8") as file:
        manifest = json.load(file)
    rows = {}
    for name, entry in sorted(manifest.items()):
        meta = entry["meta"]
        full = meta["full_size"]
        ours = count(build(meta, full["constructor_args"]))
        rows[name] = {
            "class": meta["class"],
            "constructor_args": full["constructor_args"],
            "mimicry": full["trainable_params"],
            "ours": ours,
            "equal": ours == full["trainable_params"],
            "generator": kind(meta)[0],
        }
    presets = {}
    for name in PRESETS:
        generator, discriminator = preset_networks(name)
        presets[name] = {
            "generator": count(generator),
            "discriminator": count(discriminator),
        }
        del generator, discriminator
    return rows, presets


def _rss_kib(field):
    with open("/proc/self/status", encoding="utf-8") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def write_release(name, directory, seed=0):
    """The preset's generator, seeded, as netG.pth; its images on fixed z."""
    import keras
    import torch

    from keras_ssl.convert.mimicry import to_state_dict

    keras.utils.set_random_seed(seed)
    generator, _ = preset_networks(name)
    # Random BN statistics too, so that every entry carries information.
    rng = np.random.default_rng(seed)
    for variable in generator.non_trainable_weights:
        if "moving" in variable.path:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
    state = to_state_dict(generator)
    path = os.path.join(directory, "netG.pth")
    torch.save(
        {
            "model_state_dict": {k: torch.from_numpy(v) for k, v in state.items()},
            "optimizer_state_dict": {},
            "global_step": 100000,
        },
        path,
    )
    generator.save_weights(os.path.join(directory, "generator.weights.h5"))
    inputs = _inputs(generator)
    np.save(os.path.join(directory, "images.npy"), np.asarray(generator(inputs)))
    return {"file_bytes": os.path.getsize(path), "entries": len(state)}


def _inputs(generator):
    z = np.random.default_rng(1).normal(size=(4, generator.inputs[0].shape[-1]))
    z = z.astype("float32")
    if len(generator.inputs) > 1:
        return [z, np.arange(4, dtype="int32")]
    return z


def convert_release(name, directory):
    """Convert netG.pth into a fresh network; time, peak memory, fidelity."""
    from keras_ssl import convert

    start = time.perf_counter()
    from keras_ssl.convert.readers import import_torch

    import_torch()  # a one-time cost of the first conversion, measured apart
    torch_import_seconds = time.perf_counter() - start
    generator, _ = preset_networks(name)
    baseline_network, _ = preset_networks(name)
    start = time.perf_counter()
    baseline_network.load_weights(os.path.join(directory, "generator.weights.h5"))
    keras_seconds = time.perf_counter() - start
    del baseline_network
    before = _rss_kib("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as file:
        file.write("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    convert.convert("mimicry_pth", os.path.join(directory, "netG.pth"), generator)
    seconds = time.perf_counter() - start
    peak = _rss_kib("VmHWM")
    images = np.asarray(generator(_inputs(generator)))
    expected = np.load(os.path.join(directory, "images.npy"))
    return {
        "parameters": count(generator),
        "torch_import_seconds": round(torch_import_seconds, 3),
        "convert_seconds": round(seconds, 3),
        "keras_load_weights_seconds": round(keras_seconds, 3),
        "ratio_to_keras_load_weights": round(seconds / keras_seconds, 2),
        "peak_rss_above_network_mib": round((peak - before) / 1024, 1),
        "max_abs_image_difference": float(np.abs(images - expected).max()),
    }


def fixtures():
    import keras

    from keras_ssl.convert import mimicry
    from tests.architectures.test_mimicry_resnet import (
        IGNORED,
        build,
        inputs_of,
        kind,
        load_fixture,
        nhwc,
        ours,
        outputs_of,
    )

    with open(os.path.join(REFERENCE, "manifest.json"), encoding="utf-8") as file:
        names = sorted(json.load(file))
    rows = {}
    for name in names:
        arrays, meta, state = load_fixture(os.path.join(REFERENCE, f"{name}.npz"))
        generator = kind(meta)[0]
        row = {}
        for mode in ("eval", "train"):
            network = mimicry.convert_mimicry(state, build(meta))
            outputs = ours(
                network(inputs_of(arrays, meta), training=mode == "train"), generator
            )
            for key, value in outputs_of(arrays, mode).items():
                key = "logits" if key == "output" and not generator else key
                row[f"{mode}/{key}"] = float(np.abs(outputs[key] - value).max())
            after = {
                k.split("/", 2)[2]: v
                for k, v in arrays.items()
                if k.startswith(f"after/{mode}/")
            }
            expected = {**state, **after}
            actual = mimicry.to_state_dict(network)
            row[f"{mode}/state"] = max(
                float(np.abs(actual[k] - expected[k]).max())
                for k in expected
                if not k.endswith(IGNORED)
            )
            if mode == "eval" and "input/x_rot" in arrays:
                rotated = network(nhwc(arrays["input/x_rot"]), training=False)
                for key in ("logits", "rotation_logits"):
                    row[f"eval_rot/{key}"] = float(
                        np.abs(
                            np.asarray(rotated[key]) - arrays[f"output/eval_rot/{key}"]
                        ).max()
                    )
            keras.backend.clear_session()
        row["max"] = max(row.values())
        rows[name] = row
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tools/results/conversion_mimicry.json")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--write", help=argparse.SUPPRESS)
    parser.add_argument("--convert", help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        print(json.dumps(write_release(args.write, args.directory)))
        return
    if args.convert:
        print(json.dumps(convert_release(args.convert, args.directory)))
        return

    def child(*options):
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), *options],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        return json.loads(output.strip().splitlines()[-1])

    result = {
        "command": "nice -n 10 .venv/bin/python tools/benchmark_conversion_mimicry.py "
        "--out tools/results/conversion_mimicry.json",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
    }
    result["parameters"], result["preset_parameters"] = parameters()
    conversion = {}
    for name in args.presets:
        with tempfile.TemporaryDirectory() as directory:
            written = child("--write", name, "--directory", directory)
            converted = child("--convert", name, "--directory", directory)
        conversion[name] = {**written, **converted}
        print(name, conversion[name], flush=True)
    result["conversion"] = conversion
    result["fixtures"] = fixtures()
    result["fixtures_max_abs_difference"] = max(
        row["max"] for row in result["fixtures"].values()
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(result, file, indent=1)
        file.write("\n")
    print(json.dumps(result["parameters"], indent=1))


if __name__ == "__main__":
    main()
