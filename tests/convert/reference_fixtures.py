"""What the converter fixtures in `../shared/reference/` hold, and how our
networks are run against them.

Read by the converter tests (which assert tolerances) and by the conversion
benchmarks in tools/ (which report the differences as numbers), so that the
two cannot drift apart. Plain numpy and keras_ssl, no pytest: callers pass the
fixture's path (tests through `tests.helpers.reference_path`, which skips or
fails when it is missing).
"""

import hashlib
import json

import numpy as np

from keras_ssl.architectures import resnet_discriminator, resnet_generator


def _s3gan_discriminator(project_y):
    return resnet_discriminator(
        128,
        base_channels=8,
        num_classes=10,
        style="resnet_biggan",
        rotation_head=True,
        class_head=True,
        project_y=project_y,
    )


# compare_gan (../shared/reference/compare_gan): the networks at the
# fixtures' reduced widths (README of the folder).
COMPARE_GAN_GENERATORS = {
    "resnet_cifar32_G_sbn": lambda: resnet_generator(
        32, base_channels=32, style="resnet_cifar", normalization="self_modulated"
    ),
    "resnet_cifar32_G_bn": lambda: resnet_generator(
        32, base_channels=32, style="resnet_cifar", normalization="batch"
    ),
    "resnet5_128_G_sbn": lambda: resnet_generator(
        128, base_channels=8, style="resnet5", normalization="self_modulated"
    ),
    "resnet_biggan128_G": lambda: resnet_generator(
        128, z_dim=120, base_channels=4, num_classes=10, style="resnet_biggan"
    ),
}
COMPARE_GAN_DISCRIMINATORS = {
    "resnet_cifar32_D_ssgan": lambda: resnet_discriminator(
        32, base_channels=16, style="resnet_cifar", rotation_head=True
    ),
    "resnet5_128_D_ssgan": lambda: resnet_discriminator(
        128, base_channels=8, style="resnet5", rotation_head=True
    ),
    "resnet_biggan128_D_s3gan": lambda: _s3gan_discriminator(project_y=False),
    "resnet_biggan128_D_s3gan_projy": lambda: _s3gan_discriminator(project_y=True),
}


def load_npz(path):
    """All arrays of an .npz file, as a dict (the file is closed)."""
    with np.load(path) as file:
        return {key: file[key] for key in file.files}


def compare_gan_fixture(path):
    """`(arrays, meta)` of a compare_gan fixture .npz."""
    data = load_npz(path)
    return data, json.loads(str(data.pop("__meta__")))


def compare_gan_counts(*networks):
    """Parameter counts per compare_gan top-level scope, as its manifest.json
    records them: `{scope: {"trainable": n, "all": n}}` ("all" adds the
    spectral-norm vectors and batch-norm statistics)."""
    from keras_ssl.convert.compare_gan import compare_gan_variables

    counts = {}
    for network in networks:
        for name, variable in compare_gan_variables(network).items():
            entry = counts.setdefault(name.split("/")[0], {"trainable": 0, "all": 0})
            size = int(np.prod(variable.shape))
            entry["all"] += size
            entry["trainable"] += size if variable.trainable else 0
    return counts


def compare_gan_state(network, data, mode):
    """`{name: (ours, compare_gan's)}` of every variable after a `mode` pass.

    The fixture stores the variables a pass changed under `after/<mode>/`;
    the others must keep their initial value.
    """
    from keras_ssl.convert.compare_gan import compare_gan_variables

    prefix = f"after/{mode}/"
    changed = {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}
    return {
        name: (np.asarray(variable), changed.get(name, data[name]))
        for name, variable in compare_gan_variables(network).items()
    }


def compare_gan_generator_images(generator, data, meta, mode):
    """`(ours, compare_gan's)` images of a `mode` pass, both in [-1, 1]."""
    inputs = data["input/z"]
    if meta.get("num_classes"):
        inputs = [inputs, data["input/labels"].astype("int32")]
    images = np.asarray(generator(inputs, training=mode == "training"))
    # compare_gan's images are in [0, 1], ours in [-1, 1].
    return images, 2.0 * data[f"output/{mode}/images"] - 1.0


def one_hot_to_labels(one_hot):
    """compare_gan's one-hot labels (all-zero rows: unlabelled) -> ints, -1."""
    return np.where(one_hot.sum(axis=1) > 0.5, one_hot.argmax(axis=1), -1).astype(
        "int32"
    )


def compare_gan_discriminator_outputs(discriminator, data, meta, name):
    """`{output: (ours, compare_gan's)}` of a training-mode pass."""
    images = 2.0 * data["input/d_input"] - 1.0
    inputs = images
    if meta.get("num_classes"):
        inputs = [images, one_hot_to_labels(data["input/d_input_y"])]
    outputs = discriminator(inputs, training=True)
    head = "s3gan" if "s3gan" in name else "ssgan"
    references = {
        "features": "arch/h",
        "logits": f"{head}/d_logits",
        "rotation_logits": f"{head}/rotation_logits",
    }
    if head == "s3gan":
        references["class_logits"] = "s3gan/aux_logits"
    return {
        key: (np.asarray(outputs[key]), data[f"output/training/{reference}"])
        for key, reference in references.items()
    }


# FID Inception (../shared/reference/fid_inception).


def fid_fill_value(key, shape):
    """The fixture README's fill rule (verbatim)."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    if leaf == "weight" and len(shape) >= 2:
        v = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), size=shape)
    elif leaf == "weight":
        v = rng.uniform(0.5, 1.5, size=shape)
    elif key == "fc.bias":
        v = rng.normal(0.0, 0.01, size=shape)
    elif leaf in ("bias", "running_mean"):
        v = rng.normal(0.0, 0.1, size=shape)
    elif leaf == "running_var":
        v = rng.uniform(0.5, 1.5, size=shape)
    else:
        raise ValueError(key)
    return v.astype(np.float32)


def fid_state_dict(keys_path):
    """The fixture's 566-entry state dict, regenerated from its key list."""
    keys = json.loads(keys_path.read_text())["keys"]
    return {e["key"]: fid_fill_value(e["key"], tuple(e["shape"])) for e in keys}


def fid_outputs(network, reference):
    """Every probed output of `network` on both fixture inputs, per size.

    `{"x299" | "x32": {"pool3", "logits", "resized", "block0".."block2"}}`.
    """
    import keras

    from keras_ssl.architectures.fid_inception import BLOCK_LAYERS

    layers = {"pool3": "pool3", "logits": "fc", "resized": "resize"}
    layers.update({f"block{i}": name for i, name in enumerate(BLOCK_LAYERS)})
    probe = keras.Model(
        network.inputs,
        {key: network.get_layer(name).output for key, name in layers.items()},
    )
    # pytorch-fid's [0, 1] input x is our 2x - 1.
    return {
        size: probe.predict_on_batch(2.0 * reference[f"{size}_nhwc"] - 1.0)
        for size in ("x299", "x32")
    }


def fid_comparisons(out, reference, size):
    """`{name: (ours, pytorch-fid's)}`: pool3, logits, their float64
    references, and the block means of one input size."""
    pairs = {
        "pool3": (out["pool3"], reference[f"{size}_pool3"]),
        "logits": (out["logits"], reference[f"{size}_logits"]),
        "pool3_vs_float64": (out["pool3"], reference[f"{size}_pool3_f64"]),
        "logits_vs_float64": (out["logits"], reference[f"{size}_logits_f64"]),
    }
    for i in range(3):
        pairs[f"block{i}_mean"] = (
            out[f"block{i}"].mean(axis=(1, 2)),
            reference[f"{size}_block{i}_mean"],
        )
    return pairs


def relative_difference(actual, expected):
    """max |actual - expected| / max |expected|, in float64."""
    expected = np.asarray(expected, np.float64)
    difference = np.abs(np.asarray(actual, np.float64) - expected).max()
    return float(difference) / float(np.abs(expected).max())
