"""Feature extractors for FID, KID and IS.

The extractor protocol: any callable or Keras model that maps float32 images
(B, H, W, C) in [-1, 1] to features (B, D), or to a dict with "features"
(B, D) and "logits" (B, K) (logits are needed only for the Inception Score).
A Keras model with a fixed input size gets images resized to it.
"""

import hashlib
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_ssl.evaluation._sources import to_float_images

_CLASSIFIER_VERSION = 1


def inception_extractor(weights="imagenet"):
    """Keras' InceptionV3 as an extractor: 2048-d pool features and logits.

    The FID/IS network of Heusel et al. 2017 and Salimans et al. 2016.
    Images in [-1, 1] (InceptionV3's own input range) of any size are resized
    to 299x299 with bilinear resizing (no antialiasing, like
    `tf.image.resize_bilinear` in the original FID code). The features are
    the global average pool ("pool_3"); the logits are the 1000 ImageNet
    logits before the softmax.

    This is not the 2015 TensorFlow graph behind published FIDs (that one
    has 1008 classes and slightly different weights and resizing), so values
    are close to but not identical with papers; compare models with one
    extractor only.

    Args:
        weights: "imagenet" (downloaded once by Keras into
            `~/.keras/models`), None (random weights: shapes only), or the
            path of a local full-model InceptionV3 weights file.

    Returns:
        A Keras model mapping images to {"features": (B, 2048),
        "logits": (B, 1000)}.

    Example:

    >>> import numpy as np
    >>> extractor = inception_extractor(weights=None)
    >>> out = extractor.predict_on_batch(np.zeros((1, 32, 32, 3), "float32"))
    >>> out["features"].shape, out["logits"].shape
    ((1, 2048), (1, 1000))
    """
    if not (
        weights is None
        or weights == "imagenet"
        or (isinstance(weights, str | os.PathLike) and os.path.exists(weights))
    ):
        raise ValueError(
            "weights must be 'imagenet', None or the path of an existing "
            f"weights file. Received: weights={weights!r}"
        )
    base = keras.applications.InceptionV3(
        include_top=True,
        weights=weights if weights is None or weights == "imagenet" else None,
        input_shape=(299, 299, 3),
        classifier_activation=None,
    )
    if weights is not None and weights != "imagenet":
        base.load_weights(os.fspath(weights))
    heads = keras.Model(
        base.inputs,
        {"features": base.get_layer("avg_pool").output, "logits": base.outputs[0]},
        name="inception_v3_heads",
    )
    inputs = keras.Input(shape=(None, None, 3), name="images")
    resized = keras.layers.Resizing(299, 299, interpolation="bilinear")(inputs)
    return keras.Model(inputs, heads(resized), name="inception_extractor")


def default_cache_dir():
    """`$KERAS_SSL_HOME` or `~/.keras/keras_ssl`."""
    root = os.environ.get("KERAS_SSL_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras", "keras_ssl"
    )
    return os.path.join(root, "domain_classifiers")


def _read_training_data(train_data, batch_size):
    """Reads (images, labels) into float32 [-1, 1] and int32 arrays."""
    if isinstance(train_data, tuple) and len(train_data) == 2:
        images = to_float_images(train_data[0], "train_data images")
        labels = np.asarray(train_data[1])
    elif isinstance(train_data, tf.data.Dataset):
        spec = train_data.element_spec
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError(
                "train_data must be a dataset of (images, labels). Received: "
                f"element_spec={spec}"
            )
        if len(spec[0].shape) == 3:
            train_data = train_data.batch(batch_size)
        image_parts, label_parts = [], []
        for images, labels in train_data:
            image_parts.append(to_float_images(images, "train_data images"))
            label_parts.append(np.asarray(labels))
        if not image_parts:
            raise ValueError("train_data must not be empty. Received: no batches")
        images = np.concatenate(image_parts)
        labels = np.concatenate(label_parts)
    else:
        raise TypeError(
            "train_data must be a tf.data.Dataset of (images, labels) or a tuple "
            f"(images, labels) of arrays. Received: {type(train_data).__name__}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (
        images.shape[0],
    ):
        raise ValueError(
            "train_data labels must be integers of shape (N,) matching the "
            f"images. Received: labels with dtype {labels.dtype} and shape "
            f"{labels.shape} for {images.shape[0]} images"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(
            "train_data must be labeled: a domain classifier needs class "
            f"labels. Received: label {int(labels.min())} (an unlabeled folder?)"
        )
    return images, labels.astype(np.int32)


def _fingerprint(images, labels):
    # Independent of the order, so a shuffled pipeline over the same data
    # finds the same cached classifier.
    digests = sorted(
        hashlib.blake2b(
            image.tobytes() + int(label).to_bytes(4, "little"), digest_size=16
        ).digest()
        for image, label in zip(images, labels)
    )
    return hashlib.sha256(b"".join(digests)).hexdigest()


def _build_classifier(input_shape, num_classes, width, augment):
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    if augment:
        # Flips and small shifts are the standard CIFAR augmentation; as
        # layers they are active in fit only, never when extracting features.
        x = keras.layers.RandomFlip("horizontal")(x)
        x = keras.layers.RandomTranslation(0.125, 0.125, fill_mode="reflect")(x)
    for stage, channels in enumerate((width, 2 * width, 4 * width)):
        if stage:
            x = keras.layers.MaxPooling2D(2)(x)
        for _ in range(2):
            x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
            # Momentum 0.9 rather than 0.99: the moving statistics must settle
            # within the few hundred steps a small domain dataset gives.
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.ReLU()(x)
    features = keras.layers.GlobalAveragePooling2D(name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits, name="domain_classifier")


def _check_positive(name, value, kind=int):
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(
            f"{name} must be a positive {kind.__name__}. Received: {name}={value!r}"
        )


def train_domain_classifier(
    train_data,
    num_classes=None,
    epochs=15,
    width=32,
    batch_size=128,
    learning_rate=2e-3,
    augment=True,
    validation_data=None,
    cache_dir=None,
    use_cache=True,
    seed=None,
    verbose="auto",
):
    """Trains (or loads from the cache) a small CIFAR-style classifier.

    An offline stand-in for Inception when its weights cannot be downloaded:
    "FID (domain features)" is the Frechet distance in the penultimate
    features of a classifier trained on the target domain. The network is
    three VGG-style stages (two conv3x3-BN-ReLU each; `width`, 2x, 4x
    channels; max-pooling between), global average pooling (the features,
    `4 * width` dims) and a linear layer (the logits), trained with Adam,
    cosine decay and, if `augment`, random flips and 1/8 shifts.

    The trained model is cached as `<cache_dir>/domain_classifier-<key>.keras`
    where the key hashes the configuration and the content of the data
    (independent of its order); the file is written atomically, so
    concurrent runs never read a partial file. Keep the cache out of git.

    Args:
        train_data: `tf.data.Dataset` of (images, labels) in [-1, 1] (e.g.
            `keras_ssl.data.load(...)`), or a tuple (images, labels) of
            arrays (uint8 images are taken as [0, 255]). Read once into
            memory.
        num_classes: number of classes; None: max label + 1.
        epochs: training epochs.
        width: channels of the first stage.
        batch_size: training batch size.
        learning_rate: peak Adam learning rate.
        augment: random flips and shifts while training.
        validation_data: optional (images, labels) dataset or arrays passed
            to `fit`; not part of the cache key.
        cache_dir: cache folder; None: `$KERAS_SSL_HOME/domain_classifiers`
            or `~/.keras/keras_ssl/domain_classifiers`.
        use_cache: False trains without reading or writing the cache.
        seed: seeds Keras' global random state before building and training
            (None leaves it alone).
        verbose: `fit` verbosity; "auto" is Keras' default.

    Returns:
        The compiled Keras classifier (images -> logits); pass it to
        `domain_extractor`.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 3))
    >>> y = np.arange(32) % 2
    >>> model = train_domain_classifier((x.astype("float32"), y), epochs=1,
    ...     width=4, use_cache=False, verbose=0)
    >>> model.output_shape
    (None, 2)
    """
    for name, value in (
        ("epochs", epochs),
        ("width", width),
        ("batch_size", batch_size),
    ):
        _check_positive(name, value)
    _check_positive("learning_rate", float(learning_rate), float)
    images, labels = _read_training_data(train_data, batch_size)
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    _check_positive("num_classes", num_classes)
    if labels.max() >= num_classes:
        raise ValueError(
            f"train_data labels must be below num_classes={num_classes}. "
            f"Received: label {int(labels.max())}"
        )
    config = {
        "version": _CLASSIFIER_VERSION,
        "input_shape": list(images.shape[1:]),
        "num_classes": int(num_classes),
        "epochs": int(epochs),
        "width": int(width),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "augment": bool(augment),
        "seed": seed,
        "data": _fingerprint(images, labels),
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:20]
    cache_dir = os.fspath(cache_dir) if cache_dir is not None else default_cache_dir()
    path = os.path.join(cache_dir, f"domain_classifier-{key}.keras")
    if use_cache and os.path.exists(path):
        return keras.saving.load_model(path)

    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = _build_classifier(images.shape[1:], num_classes, width, augment)
    steps = -(-images.shape[0] // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=steps * epochs
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(images.shape[0], seed=seed)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    history = model.fit(
        dataset,
        epochs=epochs,
        validation_data=validation_data,
        shuffle=False,
        verbose=verbose,
    )
    if use_cache:
        os.makedirs(cache_dir, exist_ok=True)
        # A temporary file in the same folder and os.replace: readers see the
        # old state or the complete new file, never a partial one.
        handle, temporary = tempfile.mkstemp(
            suffix=".keras", prefix=".tmp-", dir=cache_dir
        )
        os.close(handle)
        try:
            model.save(temporary)
            # mkstemp creates the file private (0600); the cache is shared.
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
        record = dict(config, history=_plain(history.history))
        handle, temporary = tempfile.mkstemp(
            suffix=".json", prefix=".tmp-", dir=cache_dir
        )
        with os.fdopen(handle, "w") as file:
            json.dump(record, file, indent=2)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path[: -len(".keras")] + ".json")
    return model


def _plain(history):
    return {k: [float(v) for v in values] for k, values in history.items()}


def domain_extractor(model, feature_layer=None, logits_layer=None):
    """Exposes a classifier's penultimate features (and logits) as an extractor.

    Args:
        model: a functional Keras classifier, e.g. from
            `train_domain_classifier`.
        feature_layer: name of the layer whose output are the features.
            None: the layer named "features" if there is one, else the input
            of the last layer (the penultimate activation).
        logits_layer: name of the layer giving the logits. None: the layer
            named "logits" if there is one, else the model's output.

    Returns:
        A Keras model mapping images to {"features": ..., "logits": ...}.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> inputs = keras.Input((8, 8, 3))
    >>> pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    >>> clf = keras.Model(inputs, keras.layers.Dense(5)(pooled))
    >>> out = domain_extractor(clf).predict_on_batch(np.zeros((2, 8, 8, 3)))
    >>> out["features"].shape, out["logits"].shape
    ((2, 3), (2, 5))
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a Keras model. Received: {type(model).__name__}"
        )
    try:
        inputs = model.inputs
        names = [layer.name for layer in model.layers]
        if feature_layer is None:
            features = (
                model.get_layer("features").output
                if "features" in names
                else model.layers[-1].input
            )
        else:
            features = model.get_layer(feature_layer).output
        if logits_layer is None:
            logits = (
                model.get_layer("logits").output if "logits" in names else model.output
            )
        else:
            logits = model.get_layer(logits_layer).output
    except (AttributeError, ValueError) as error:
        raise ValueError(
            "model must be a built functional or Sequential Keras model with "
            f"the requested layers. Received: {model.name} ({error})"
        ) from error
    return keras.Model(
        inputs, {"features": features, "logits": logits}, name="domain_extractor"
    )
