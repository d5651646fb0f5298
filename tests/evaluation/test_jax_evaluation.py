"""`keras_ssl.evaluation` computes under the JAX backend, in a fresh process
that cannot import TensorFlow, what it computes under TensorFlow.

The parent (TensorFlow) builds tiny models, saves their weights with real
CIFAR-10 images to an .npz, and runs `evaluate_all` on them; the child runs
the same function under `KERAS_BACKEND=jax` on the same file.
"""

import textwrap

import numpy as np

from tests.helpers import WITHOUT_TENSORFLOW, cifar10_images
from tests.methods.test_jax_training import results_under_jax

SCRIPT = WITHOUT_TENSORFLOW + textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np

    assert keras.backend.backend() == "jax", keras.backend.backend()
    from tests.evaluation.test_jax_evaluation import evaluate_all

    results = evaluate_all(np.load(sys.argv[1]))
    assert "tensorflow" not in sys.modules
    print("RESULTS " + json.dumps(results))
    """
)


def tiny_models():
    """`{name: model}`: an image encoder and a classifier (the extractor)."""
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    encoder = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(6, 3, strides=2, activation="relu")(inputs)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    classifier = keras.Model(inputs, layers.Dense(5, name="logits")(x))
    return {"encoder": encoder, "classifier": classifier}


def evaluate_all(data):
    """Every evaluation of `keras_ssl.evaluation` on the models and images of
    `data`, as plain numbers."""
    from keras_ssl import evaluation
    from keras_ssl.methods import KNNMonitor, build_instance_discrimination

    models = tiny_models()
    for name, model in models.items():
        model.set_weights([data[f"{name}_{i}"] for i in range(len(model.weights))])
    train = data["train_images"], data["train_labels"]
    test = data["test_images"], data["test_labels"]
    extractor = evaluation.domain_extractor(models["classifier"])
    # Darker images, so that the two sets differ.
    real, fake = data["test_images"], data["train_images"][:32] * 0.5 - 0.3
    results = {
        "linear_probe": evaluation.linear_probe(
            models["encoder"], train, test, epochs=30, batch_size=64, seed=0
        )["output"],
        "knn": evaluation.knn_accuracy(models["encoder"], train, test, k=5),
        "fid": evaluation.fid(fake, real, extractor, batch_size=16, verbose=False),
        "kid": evaluation.kid(
            fake, real, extractor, num_subsets=5, subset_size=16, seed=0, verbose=False
        ),
        "inception_score": evaluation.inception_score_of(
            fake, extractor, splits=2, verbose=False
        ),
        "ood_auroc": evaluation.ood_auroc(
            lambda x: -extractor(x)["logits"][:, 0], real, fake
        ),
    }

    class Generator:
        def generate(self, n, seed=None):
            return fake[seed % 2 * 16 :][:n]

    monitor = evaluation.MetricMonitor(
        real, extractor, num_samples=32, batch_size=16, kid_subset_size=16,
        kid_subsets=5,
    )  # fmt: skip
    monitor.set_model(Generator())
    monitor.on_train_begin()
    logs = {}
    monitor.on_epoch_end(0, logs)
    results.update({f"monitor_{key}": value for key, value in logs.items()})
    method = build_instance_discrimination(
        16, num_examples=64, encoder=models["encoder"], embedding_dim=8,
        num_negatives=8, augment=False, seed=0,
    )  # fmt: skip
    method.set_weights([data[f"method_{i}"] for i in range(len(method.weights))])
    knn_monitor = KNNMonitor(train, test, k=5)
    knn_monitor.set_model(method)
    logs = {}
    knn_monitor.on_epoch_end(0, logs)
    results["knn_monitor"] = logs["knn_accuracy"]
    return results


def test_evaluation_under_jax_matches_tensorflow(tmp_path):
    from keras_ssl.methods import build_instance_discrimination

    images, labels = cifar10_images(96, size=16, labels=True)
    arrays = {
        "train_images": images[:64],
        "train_labels": labels[:64].astype("int32"),
        "test_images": images[64:],
        "test_labels": labels[64:].astype("int32"),
    }
    models = tiny_models()
    models["method"] = build_instance_discrimination(
        16, num_examples=64, encoder=models["encoder"], embedding_dim=8,
        num_negatives=8, augment=False, seed=0,
    )  # fmt: skip
    for name, model in models.items():
        arrays.update({f"{name}_{i}": w for i, w in enumerate(model.get_weights())})
    path = tmp_path / "expected.npz"
    np.savez(path, **arrays)
    expected = evaluate_all(np.load(path))
    results = results_under_jax(tmp_path, SCRIPT, arrays)
    assert results.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(
            results[name], value, rtol=1e-4, atol=1e-6, err_msg=name
        )
    assert 0.0 <= expected["knn"] <= 1.0 and expected["fid"] > 0
