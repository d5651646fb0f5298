"""Representation-learning methods train with `model.fit` under the JAX
backend, in a fresh process that cannot import TensorFlow.

As in `test_jax_training`: one Python process with `KERAS_BACKEND=jax` and
fast XLA flags trains tiny models of several methods a few steps on real
CIFAR-10 images saved by the parent, with TensorFlow blocked.
"""

import numpy as np
import pytest

from tests.helpers import WITHOUT_TENSORFLOW, cifar10_images
from tests.methods.test_jax_training import (
    RECORD_FIT,
    assert_trained,
    results_under_jax,
)

# Builds and trains each named method for 2 steps (16 images, batch 8) and
# prints one JSON line of `record_fit` results.
TRAIN = (
    WITHOUT_TENSORFLOW
    + RECORD_FIT
    + """
import json, sys
import keras

assert keras.backend.backend() == "jax", keras.backend.backend()
from keras_ssl.methods import build_method

data = np.load(sys.argv[1])
images, labels = data["images"], data["labels"]
indices = np.arange(len(images), dtype="int32")
size = images.shape[1]
tiny = {"encoder_config": {"width": 8, "num_blocks": 3}}
results = {}


def fit(name, model, x, y=None, **kwargs):
    # Keras draws a colour jitter from the outer layer's seed generator:
    # those of its sub-layers never move.
    skip = set()
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.RandomColorJitter):
            for sub in layer._flatten_layers(include_self=False):
                skip.update(id(v) for v in sub.variables)
    batch = {} if y is None and not isinstance(x, np.ndarray) else {"batch_size": 8}
    results[name] = record_fit(model, x, y, skip=skip, **batch, **kwargs)


def build(name, **options):
    return build_method(name, image_size=size, **{**tiny, **options})


for name in sys.argv[2].split(","):
    if name == "exemplar":
        fit(name, build(name, embedding_dim=8, num_views=2, seed=0), images)
    elif name == "multitask":
        model = build(name, tasks={"rotation": {}, "exemplar": {"num_views": 2}})
        fit(name, model, images)
    elif name == "rotation_decoupling":
        model = build(
            name, num_examples=len(images), embedding_dim=8, num_negatives=8, seed=0
        )
        fit(name, model, images, indices)
    elif name.startswith("instance_discrimination"):
        # The augmentation layers are Keras' own and slow to compile: only
        # the `_augmented` run has them.
        model = build(
            "instance_discrimination", num_examples=len(images), embedding_dim=8,
            num_negatives=8, encoder="nin", seed=0,
            augment=name.endswith("_augmented"),
        )
        fit(name, model, images, indices)
        if name.endswith("_augmented"):
            results[name]["evaluate"] = model.evaluate(
                images, indices, batch_size=8, verbose=0, return_dict=True
            )
    elif name == "transitive_invariance":
        from keras_ssl.methods.transitive_invariance import TransitiveGraphUpdate

        model = build(name, embedding_dim=8, seed=0)
        model.compile()
        data_, callbacks = model.training_data(images, batch_size=8, every=1)
        fit(name, model, data_, callbacks=callbacks)
        graph = callbacks[0].graph
        results[name]["rebuilds"] = graph.rebuilds
    elif name == "rotation_auxiliary":
        fit(name, build(name, num_classes=10), images, labels)
    elif name in ("jigsaw", "deeppermnet"):
        options = {"num_permutations": 4} if name == "jigsaw" else {}
        if name == "deeppermnet":
            options["noise_factor"] = 0.1  # the Sinkhorn layer draws noise
        fit(name, build(name, tile_units=8, hidden_units=8, seed=0, **options),
            images)
    elif name == "context_prediction":
        fit(name, build(name, patch_units=8, hidden_units=8, seed=0), images)
    elif name in ("colorization", "split_brain"):
        fit(name, build(name), images)
    elif name == "colorization_proxy":
        fit(name, build(name, hidden_units=8, num_pixels=16, seed=0), images)
    else:
        raise ValueError(name)
print("RESULTS " + json.dumps(results))
"""
)

# Non-trainable variables a step leaves alone (fixed inputs of the loss).
FIXED = {
    "rotation_decoupling": ("copy_weights",),
    "colorization": ("bins",),
    "split_brain": ("bins",),
}


def train_under_jax(tmp_path, names, size):
    images, labels = cifar10_images(16, size=size, labels=True)
    arrays = {"images": images, "labels": labels.astype("int32")}
    return results_under_jax(tmp_path, TRAIN, arrays, ",".join(names))


# Slow: the default run covers gan and rotnet on JAX, and that every
# method module imports without TensorFlow (test_backend_agnostic_import).
@pytest.mark.slow
def test_memory_bank_methods_train_under_jax(tmp_path):
    # The memory bank is assigned after the optimizer step: in a method's
    # own step (NPID) and in `PretextTask.after_train_step` (decoupling).
    names = ["rotation_decoupling", "instance_discrimination"]
    results = train_under_jax(tmp_path, names, size=16)
    for name in names:
        assert_trained(results[name], fixed=FIXED.get(name, ()))
    logs = results["rotation_decoupling"]["logs"]
    assert {"loss", "nce_loss", "mse_loss"} <= set(logs)
    assert set(results["instance_discrimination"]["logs"]) == {
        "nce_loss",
        "positive_similarity",
    }


@pytest.mark.slow
def test_pretext_methods_train_under_jax(tmp_path):
    names = [
        "exemplar",
        "instance_discrimination_augmented",
        "multitask",
        "transitive_invariance",
        "rotation_auxiliary",
        "jigsaw",
        "deeppermnet",
        "context_prediction",
        "colorization",
        "colorization_proxy",
        "split_brain",
    ]
    results = train_under_jax(tmp_path, names, size=32)
    for name in names:
        assert_trained(results[name], fixed=FIXED.get(name, ()))
    evaluated = results["instance_discrimination_augmented"]["evaluate"]
    assert set(evaluated) == {"nce_loss", "positive_similarity"}
    assert np.isfinite(evaluated["nce_loss"])
    assert results["transitive_invariance"]["rebuilds"] >= 2
    assert "exemplar_loss" in results["multitask"]["logs"]
