"""Evaluating frozen representations: linear probe and weighted kNN."""

import keras
import numpy as np

from keras_ssl.evaluation._sources import (
    _adapt_to_model,
    is_dataset,
    is_infinite,
    to_float_images,
)
from keras_ssl.ops import l2_normalize
from keras_ssl.utils.validation import check_int, check_number

# Zhang et al. 2017 (split-brain) and VISSL pool each AlexNet block to about
# 9,000 dims: conv1 10x10x96 = 9,600, conv2 6x6x256 = 9,216, conv3 and conv4
# 5x5x384 = 9,600. The largest square grid within 9,600 reproduces all of
# them.
DEFAULT_MAX_DIMS = 9600


def adaptive_average_pool(activations, max_dims=DEFAULT_MAX_DIMS):
    """Average-pools (B, H, W, C) to (B, s*s*C) with the largest s that fits.

    `s` is the largest grid size (at most min(H, W)) with s*s*C <= max_dims,
    at least 1 (global average pooling). Bins follow adaptive average
    pooling: bin i covers rows floor(i*H/s) to ceil((i+1)*H/s). (B, D)
    inputs are returned unchanged.

    Example:

    >>> import numpy as np
    >>> adaptive_average_pool(np.ones((2, 13, 13, 256), "float32")).shape
    (2, 9216)
    """
    x = np.asarray(activations)
    if x.ndim == 2:
        return x
    if x.ndim != 4:
        raise ValueError(
            "activations must have shape (B, H, W, C) or (B, D). Received: "
            f"shape {x.shape}"
        )
    _, height, width, channels = x.shape
    size = 1
    while size + 1 <= min(height, width) and (size + 1) ** 2 * channels <= max_dims:
        size += 1
    cells = []
    for i in range(size):
        r0, r1 = (i * height) // size, -(-((i + 1) * height) // size)
        for j in range(size):
            c0, c1 = (j * width) // size, -(-((j + 1) * width) // size)
            cells.append(x[:, r0:r1, c0:c1, :].mean(axis=(1, 2)))
    return np.stack(cells, axis=1).reshape(x.shape[0], -1)


def _labeled_batches(data, name, batch_size):
    if isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"{name} images and labels must have the same length. Received: "
                f"{x.shape[0]} images and {y.shape[0]} labels"
            )
        for i in range(0, x.shape[0], batch_size):
            yield x[i : i + batch_size], y[i : i + batch_size]
        return
    if is_dataset(data):
        spec = data.element_spec
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError(
                f"{name} must be a dataset of (images, labels). Received: "
                f"element_spec={spec}"
            )
        if is_infinite(data):
            raise ValueError(
                f"{name} must be finite (no repeat()). Received: an infinite dataset"
            )
        if len(spec[0].shape) in (1, 3):
            data = data.batch(batch_size)
        for x, y in data:
            yield x.numpy(), y.numpy()
        return
    raise TypeError(
        f"{name} must be a tf.data.Dataset of (images, labels) or a tuple "
        f"(images, labels) of arrays. Received: {type(data).__name__}"
    )


def _encoder_inputs(x, encoder=None):
    """Images (N, H, W, C) as the encoder takes them; other inputs as float32.

    Encoders over feature vectors (or any non-image input) get the data as
    it is, so the probes evaluate any encoder.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        return x.astype("float32")
    x = to_float_images(x, "images")
    return _adapt_to_model(encoder, x) if isinstance(encoder, keras.Model) else x


def _feature_function(encoder, layers):
    """Returns (names, function images -> list of activation arrays)."""
    if encoder is None:
        if layers is not None:
            raise ValueError(
                "layers needs an encoder model. Received: encoder=None with "
                f"layers={layers!r}"
            )
        return ["output"], lambda x: [x]
    if layers is None:
        if isinstance(encoder, keras.Model):
            return ["output"], lambda x: [
                encoder.predict_on_batch(_encoder_inputs(x, encoder))
            ]
        if callable(encoder):
            return ["output"], lambda x: [encoder(_encoder_inputs(x))]
        raise TypeError(
            "encoder must be a Keras model, a callable or None. Received: "
            f"{type(encoder).__name__}"
        )
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(encoder, keras.Model):
        raise TypeError(
            "layers needs a functional Keras encoder. Received: encoder of type "
            f"{type(encoder).__name__}"
        )
    available = [layer.name for layer in encoder.layers]
    unknown = [name for name in layers if name not in available]
    if unknown:
        raise ValueError(
            f"layers must name layers of the encoder {encoder.name}. Received: "
            f"unknown layers {unknown}; available: {available}"
        )
    probe = keras.Model(
        encoder.inputs, [encoder.get_layer(name).output for name in layers]
    )

    def run(x):
        outputs = probe.predict_on_batch(_encoder_inputs(x, encoder))
        return list(outputs) if isinstance(outputs, list | tuple) else [outputs]

    return list(layers), run


def _features_and_labels(encoder, layers, data, name, batch_size, max_dims):
    names, function = _feature_function(encoder, layers)
    parts = [[] for _ in names]
    labels = []
    for x, y in _labeled_batches(data, name, batch_size):
        outputs = function(x)
        for part, out in zip(parts, outputs):
            part.append(
                adaptive_average_pool(keras.ops.convert_to_numpy(out), max_dims)
                .astype(np.float32)
                .reshape(len(y), -1)
            )
        labels.append(np.asarray(y))
    if not labels:
        raise ValueError(f"{name} must not be empty. Received: no examples")
    labels = np.concatenate(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(
            f"{name} must have non-negative integer labels. Received: labels of "
            f"dtype {labels.dtype} with minimum {labels.min()}"
        )
    features = {}
    for layer_name, part in zip(names, parts):
        array = np.concatenate(part)
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"The features of layer {layer_name!r} on {name} must be finite. "
                "Received: NaN or Inf"
            )
        features[layer_name] = array
    return features, labels.astype(np.int32)


def linear_probe(
    encoder,
    train_data,
    test_data,
    layers=None,
    epochs=30,
    batch_size=256,
    learning_rate=0.03,
    weight_decay=5e-4,
    max_dims=DEFAULT_MAX_DIMS,
    num_classes=None,
    seed=None,
    verbose=0,
):
    """Linear evaluation of frozen features, per layer.

    The protocol of Zhang et al., "Split-Brain Autoencoders", CVPR 2017 (and
    VISSL): the encoder is frozen; each requested activation is average
    pooled to at most `max_dims` dims (`adaptive_average_pool`), standardised
    with the training mean and variance (the affine-free BN of VISSL's
    "BN + linear" head), and a linear softmax classifier, starting from zero
    weights, is trained on it with `model.fit` (Adam, cosine decay,
    decoupled weight decay). Features
    are computed once and held in memory: N x max_dims float32 per layer.

    Args:
        encoder: a Keras model or callable mapping images in [-1, 1] (uint8
            in [0, 255] accepted) to activations; None when the data already
            hold features.
        train_data: dataset of (images, labels) or a tuple of arrays.
        test_data: same, for the reported accuracy.
        layers: layer names of a functional `encoder` (a string or a list);
            None: the encoder's output, reported under "output".
        epochs: classifier training epochs.
        batch_size: batch size for features and classifier.
        learning_rate: peak Adam learning rate.
        weight_decay: AdamW weight decay.
        max_dims: pooling budget per layer.
        num_classes: None: largest label + 1.
        seed: seeds Keras' global random state (None leaves it alone).
        verbose: `fit` verbosity.

    Returns:
        dict mapping each layer name to its top-1 test accuracy in [0, 1].

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> x = (rng.normal(size=(200, 3)) + 4 * y[:, None]).astype("float32")
    >>> linear_probe(None, (x, y), (x, y), epochs=10, batch_size=100)["output"] > 0.9
    True
    """
    check_int(epochs, "epochs")
    check_int(batch_size, "batch_size")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    train_features, train_labels = _features_and_labels(
        encoder, layers, train_data, "train_data", batch_size, max_dims
    )
    test_features, test_labels = _features_and_labels(
        encoder, layers, test_data, "test_data", batch_size, max_dims
    )
    largest = int(max(train_labels.max(), test_labels.max()))
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(
            f"labels must be below num_classes={num_classes}. Received: label {largest}"
        )
    results = {}
    steps = -(-train_labels.shape[0] // batch_size) * epochs
    for name, features in train_features.items():
        mean = features.mean(axis=0)
        variance = features.var(axis=0)
        # A unit that is constant on the training set (a dead ReLU) would be
        # divided by ~0 and blow up on test inputs; leave it unscaled.
        variance = np.where(variance > 1e-8, variance, 1.0)
        model = keras.Sequential(
            [
                keras.Input((features.shape[1],)),
                keras.layers.Normalization(mean=mean, variance=variance),
                # Zero weights: the classifier (a convex problem) does not
                # depend on random draws, which differ between backends.
                keras.layers.Dense(num_classes, kernel_initializer="zeros"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(
                keras.optimizers.schedules.CosineDecay(learning_rate, steps),
                weight_decay=weight_decay,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(
            features,
            train_labels,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=verbose,
        )
        logits = model.predict(test_features[name], batch_size=1024, verbose=0)
        results[name] = float(np.mean(np.argmax(logits, axis=1) == test_labels))
    return results


def _normalized(features):
    features = features.reshape(features.shape[0], -1).astype(np.float32)
    return keras.ops.convert_to_numpy(l2_normalize(features))


def knn_accuracy(
    encoder,
    train_data,
    test_data,
    k=200,
    temperature=0.1,
    num_classes=None,
    batch_size=256,
):
    """Weighted k-nearest-neighbour top-1 accuracy of frozen features.

    Wu et al., "Unsupervised Feature Learning via Non-Parametric Instance
    Discrimination", CVPR 2018 (and lightly's kNN monitor): features are
    L2-normalised, each test example takes its `k` most cosine-similar
    training examples, and neighbour i votes for its class with weight
    exp(s_i / temperature). Spatial activations (B, H, W, C) are globally
    average pooled first.

    Args:
        encoder: Keras model or callable mapping images in [-1, 1] to
            features; None when the data already hold features.
        train_data: dataset of (images, labels) or a tuple of arrays (the
            memory bank).
        test_data: same, the queries.
        k: neighbours; at most the number of training examples.
        temperature: vote temperature (NPID's CIFAR code: 0.1).
        num_classes: None: largest label + 1.
        batch_size: images per encoder call and queries per chunk.

    Returns:
        Top-1 accuracy in [0, 1].

    Example:

    >>> import numpy as np
    >>> centers = np.eye(4, 8) * 5
    >>> y = np.arange(100) % 4
    >>> x = centers[y] + np.random.default_rng(0).normal(size=(100, 8))
    >>> knn_accuracy(None, (x, y), (x, y), k=10) > 0.9
    True
    """
    check_int(k, "k")
    check_number(temperature, "temperature", minimum=0, exclusive_minimum=True)
    # A pooling budget of 0 means global average pooling of spatial maps.
    train_features, train_labels = _features_and_labels(
        encoder, None, train_data, "train_data", batch_size, 0
    )
    test_features, test_labels = _features_and_labels(
        encoder, None, test_data, "test_data", batch_size, 0
    )
    bank = _normalized(train_features["output"])
    queries = _normalized(test_features["output"])
    if k > bank.shape[0]:
        raise ValueError(
            f"k must be at most the {bank.shape[0]} training examples. Received: k={k}"
        )
    if bank.shape[1] != queries.shape[1]:
        raise ValueError(
            "train and test features must have the same dimension. Received: "
            f"{bank.shape[1]} and {queries.shape[1]}"
        )
    largest = int(max(train_labels.max(), test_labels.max()))
    num_classes = largest + 1 if num_classes is None else num_classes
    correct = 0
    for start in range(0, queries.shape[0], batch_size):
        similarity = queries[start : start + batch_size] @ bank.T
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.exp(np.take_along_axis(similarity, top, axis=1) / temperature)
        votes = np.zeros((similarity.shape[0], num_classes))
        rows = np.repeat(np.arange(similarity.shape[0]), k)
        np.add.at(votes, (rows, train_labels[top].ravel()), weights.ravel())
        predictions = votes.argmax(axis=1)
        correct += int(np.sum(predictions == test_labels[start : start + batch_size]))
    return correct / queries.shape[0]
