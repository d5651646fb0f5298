"""Feature extractors for FID, KID and IS.

"fid_inception" (`fid_inception_extractor`, the default of the metrics) is
the FID Inception network of published numbers, with pytorch-fid's weights
converted once and cached; "inception_keras" (`inception_extractor`) is
Keras' InceptionV3, not comparable with papers; `domain_extractor` exposes
a classifier trained on the target domain (offline).

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

from keras_ssl.evaluation._sources import is_dataset, to_float_images
from keras_ssl.utils.validation import check_int, check_number

_CLASSIFIER_VERSION = 1


EXTRACTORS = ("fid_inception", "inception_keras")

FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    + FID_WEIGHTS_FILENAME
)
_DEFAULT_POINTER = "fid_inception-default.txt"
_built = {}


class WeightsUnavailableError(FileNotFoundError):
    """An extractor's weights are neither cached nor given; says how to get them."""


def inception_extractor(weights="imagenet"):
    """Keras' InceptionV3 as an extractor ("inception_keras"): not the FID net.

    `keras.applications.InceptionV3` with the 2048-d global average pool as
    features and its 1000 logits before the softmax; images in [-1, 1]
    (InceptionV3's own input range) of any size are resized to 299x299 with
    bilinear resizing (no antialiasing).

    **Not comparable with published FID / IS.** Those use the 2015-12-05
    TensorFlow graph (`fid_inception_extractor`), which has other weights,
    1008 classes and average pools that do not count the padding. Use this
    one only to compare models with each other, and say so.

    Args:
        weights: "imagenet" (downloaded once by Keras into
            `~/.keras/models`), None (random weights: shapes only), or the
            path of a local full-model InceptionV3 weights file.

    Returns:
        A Keras model mapping images to {"features": (B, 2048),
        "logits": (B, 1000)}.

    Raises:
        WeightsUnavailableError: "imagenet" weights that cannot be
            downloaded (offline); the message says what to do instead.

    Example:

    >>> extractor = inception_extractor(weights=None)
    >>> {key: tuple(output.shape) for key, output in extractor.output.items()}
    {'features': (None, 2048), 'logits': (None, 1000)}
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
    try:
        base = keras.applications.InceptionV3(
            include_top=True,
            weights=weights if weights is None or weights == "imagenet" else None,
            input_shape=(299, 299, 3),
            classifier_activation=None,
        )
    except Exception as error:  # Keras raises a bare Exception when offline
        if weights != "imagenet":
            raise
        raise WeightsUnavailableError(
            "Keras' InceptionV3 ImageNet weights could not be downloaded "
            f"({type(error).__name__}: {error}). Offline, either pass a local "
            "InceptionV3 weights file (inception_extractor(weights=PATH)), or "
            "use the FID Inception network (extractor 'fid_inception', the one "
            "papers use) or the domain extractor (keras-ssl evaluate "
            "--extractor domain)."
        ) from None
    if weights is not None and weights != "imagenet":
        base.load_weights(os.fspath(weights))
    heads = keras.Model(
        base.inputs,
        {"features": base.get_layer("avg_pool").output, "logits": base.outputs[0]},
        name="inception_v3_heads",
    )
    inputs = keras.Input(shape=(None, None, 3), name="images")
    resized = keras.layers.Resizing(299, 299, interpolation="bilinear")(inputs)
    model = keras.Model(inputs, heads(resized), name="inception_extractor")
    model.extractor_id = "inception_keras" + ("" if weights else ":random")
    return model


def _torch_hub_checkpoints():
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "torch"
    )
    return os.path.join(os.path.expanduser(torch_home), "hub", "checkpoints")


def _original_candidates():
    """Where a downloaded `pt_inception-2015-12-05` file is looked for."""
    from keras_ssl.zoo import weights as weights_lib

    return [
        os.path.join(weights_lib.cache_dir(), FID_WEIGHTS_FILENAME),
        # pytorch-fid's own download (torch.hub's cache).
        os.path.join(_torch_hub_checkpoints(), FID_WEIGHTS_FILENAME),
    ]


def _converted_dir():
    from keras_ssl.zoo import weights as weights_lib

    return os.path.join(weights_lib.cache_dir(), "converted")


def _atomic_write(path, write, suffix=""):
    """`write(temporary_path)`, then the file moves to `path` in one step.

    The temporary file sits in the same folder and `os.replace` renames it:
    readers see the old state or the complete new file, never a partial one.
    mkstemp creates the file private (0600); the caches are shared (0644).
    """
    handle, temporary = tempfile.mkstemp(
        suffix=suffix, prefix=".tmp-", dir=os.path.dirname(path) or "."
    )
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _write_text(path, text):
    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)

    _atomic_write(path, write)


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError:
        return None


def _intact(path):
    """A converted file whose sha256 matches the digest recorded beside it."""
    from keras_ssl.zoo import weights as weights_lib

    recorded = _read_text(path + ".sha256")
    return (
        recorded is not None
        and os.path.isfile(path)
        and recorded == weights_lib.sha256_of(path)
    )


def _read_original(path):
    if path.endswith(".npz"):
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    return path  # the converter reads .pth files (torch, weights_only=True)


def _convert_and_cache(path):
    """Converted `.weights.h5` of an original file, converting it once."""
    from keras_ssl import convert
    from keras_ssl.architectures.fid_inception import fid_inception_v3
    from keras_ssl.zoo import weights as weights_lib

    digest = weights_lib.sha256_of(path)
    directory = _converted_dir()
    target = os.path.join(directory, f"fid_inception-{digest[:16]}.weights.h5")
    network = None
    if not _intact(target):
        network = fid_inception_v3(name="fid_inception_extractor")
        try:
            convert.convert("pytorch_fid_inception", _read_original(path), network)
        except ImportError as error:
            raise ImportError(
                f"{error}. It is needed once, to convert {path}; the converted "
                f"weights are then cached in {directory}."
            ) from error
        os.makedirs(directory, exist_ok=True)
        _atomic_write(target, network.save_weights, suffix=".weights.h5")
        _write_text(target + ".sha256", weights_lib.sha256_of(target))
        _write_text(
            target[: -len(".weights.h5")] + ".json",
            json.dumps(
                {"original": os.path.basename(path), "original_sha256": digest},
                indent=2,
            ),
        )
    if os.path.basename(path) == FID_WEIGHTS_FILENAME:
        os.makedirs(directory, exist_ok=True)
        _write_text(os.path.join(directory, _DEFAULT_POINTER), os.path.basename(target))
    return target, network


def _missing_weights_error(download_error=None):
    directory = _converted_dir()
    looked = ", ".join(_original_candidates())
    lines = [
        "The FID Inception weights are not available: no converted weights "
        f"in {directory} and no {FID_WEIGHTS_FILENAME} at {looked}.",
    ]
    if download_error is not None:
        lines.append(f"Downloading failed ({download_error}).")
    lines.append(
        "Two ways out: (1) download pytorch-fid's weights file "
        f"{FID_WEIGHTS_URL} (95 MB) and pass it: keras-ssl evaluate "
        "--fid-weights PATH, or fid_inception_extractor(weights=PATH) (the "
        'conversion needs torch once: pip install "keras-ssl[convert]"; the '
        "converted weights are cached); (2) use an offline extractor: "
        "keras-ssl evaluate --extractor domain (FIDs on their own scale, not "
        "comparable with papers)."
    )
    return WeightsUnavailableError(" ".join(lines))


def _resolve_weights(weights, download):
    """(path of converted weights, the network just converted or None)."""
    if weights != "default":
        if not isinstance(weights, str | os.PathLike):
            raise TypeError(
                "weights must be 'default', None or a file path. "
                f"Received: weights={weights!r}"
            )
        path = os.path.expanduser(os.fspath(weights))
        if not os.path.isfile(path):
            raise WeightsUnavailableError(
                f"FID Inception weights file not found: {path}. Pass "
                f"pytorch-fid's {FID_WEIGHTS_FILENAME} ({FID_WEIGHTS_URL}), a "
                ".npz of its state dict or converted .weights.h5."
            )
        if path.endswith(".weights.h5"):
            return path, None
        return _convert_and_cache(path)
    directory = _converted_dir()
    pointed = _read_text(os.path.join(directory, _DEFAULT_POINTER))
    if pointed and _intact(os.path.join(directory, pointed)):
        return os.path.join(directory, pointed), None
    for candidate in _original_candidates():
        if os.path.isfile(candidate):
            return _convert_and_cache(candidate)
    if download:
        from keras_ssl.zoo import weights as weights_lib

        try:
            path = weights_lib.download(FID_WEIGHTS_URL, fname=FID_WEIGHTS_FILENAME)
        except Exception as error:  # offline: Keras raises a bare Exception
            raise _missing_weights_error(f"{type(error).__name__}: {error}") from None
        return _convert_and_cache(path)
    raise _missing_weights_error()


def fid_inception_weights(weights="default", download=False):
    """Local converted `.weights.h5` of the FID Inception network.

    Args:
        weights: "default": the cached conversion of pytorch-fid's
            `pt_inception-2015-12-05-6726825d.pth`, converting the file
            once if it lies in `keras_ssl.zoo.weights.cache_dir()` or in
            torch.hub's checkpoint folder (where pytorch-fid puts it); or
            the path of that `.pth` file (converted once, cached by its
            sha256), of a `.npz` of the same state dict, or of converted
            `.weights.h5`.
        download: with "default" and nothing cached, download the `.pth`
            from pytorch-fid's release into the cache first.

    Returns:
        The path of the converted weights.

    Raises:
        WeightsUnavailableError: nothing found; the message says what is
            missing and how to get it, or to use the domain extractor.
    """
    return _resolve_weights(weights, download)[0]


def fid_inception_extractor(weights="default", download=False):
    """The FID Inception network as an extractor ("fid_inception").

    pytorch-fid's port of the 2015-12-05 TensorFlow Inception graph, the
    network behind published FID, KID and IS numbers (see
    `keras_ssl.architectures.fid_inception_v3`): images in [-1, 1] of any
    size are resized to 299x299 (half-pixel bilinear, no antialiasing),
    the features are the 2048-d `pool3` average and the logits the 1008
    class logits. Weights are pytorch-fid's `.pth` release, converted once
    (torch needed that once) and cached with their sha256 under
    `keras_ssl.zoo.weights.cache_dir()/converted`.

    Args:
        weights: "default" (the cached conversion; see
            `fid_inception_weights`), a path (`.pth`, `.npz` state dict or
            converted `.weights.h5`), or None for random weights (timing
            and shapes only: FIDs with it mean nothing).
        download: with "default" and nothing cached, download the `.pth`
            from pytorch-fid's release first.

    Returns:
        A Keras model mapping images to {"features": (B, 2048),
        "logits": (B, 1008)}.

    Raises:
        WeightsUnavailableError: the weights are not available; the message
            names what is missing and the ways out.

    Example:

    >>> extractor = fid_inception_extractor(weights=None)
    >>> {key: tuple(output.shape) for key, output in extractor.output.items()}
    {'features': (None, 2048), 'logits': (None, 1008)}
    """
    from keras_ssl.architectures.fid_inception import fid_inception_v3

    path, model = (
        (None, None) if weights is None else _resolve_weights(weights, download)
    )
    key = ("fid_inception", path)
    if key in _built:
        return _built[key]
    if model is None:
        model = fid_inception_v3(name="fid_inception_extractor")
        if path is not None:
            model.load_weights(path)
    if path is None:
        model.extractor_id = "fid_inception:random"
    else:
        from keras_ssl.zoo import weights as weights_lib

        digest = _read_text(path + ".sha256") or weights_lib.sha256_of(path)
        # Which weights: statistics computed with other weights do not mix.
        model.extractor_id = f"fid_inception:{digest[:16]}"
    _built.clear()  # keep one network (95 MB) alive at most
    _built[key] = model
    return model


def get_extractor(extractor, weights="default"):
    """An extractor from its name, or `extractor` itself when not a string.

    Args:
        extractor: "fid_inception" (`fid_inception_extractor`, the network
            of published FIDs), "inception_keras" (`inception_extractor`,
            Keras' InceptionV3: not comparable with papers), or any
            extractor (callable or Keras model), returned unchanged.
        weights: for a name: "default" or a weights path (see the two
            functions).

    Example:

    >>> get_extractor(len) is len
    True
    """
    if not isinstance(extractor, str):
        if extractor is None or not callable(extractor):
            raise TypeError(
                f"extractor must be one of {EXTRACTORS}, a callable or a Keras "
                f"model. Received: extractor={extractor!r}"
            )
        return extractor
    if extractor == "fid_inception":
        return fid_inception_extractor(weights)
    if extractor == "inception_keras":
        weights = "imagenet" if weights == "default" else weights
        key = ("inception_keras", weights)
        if key not in _built:
            model = inception_extractor(weights)
            _built.clear()  # keep one network alive at most
            _built[key] = model
        return _built[key]
    raise ValueError(
        f"extractor must be one of {EXTRACTORS} (or a callable / Keras model; "
        "the domain extractor is built with domain_extractor(...)). "
        f"Received: extractor={extractor!r}"
    )


def extractor_id(extractor):
    """A short name of the extractor recorded with statistics, or None."""
    if isinstance(extractor, str):
        return extractor
    return getattr(extractor, "extractor_id", None)


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
    elif is_dataset(train_data):
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
    cosine decay and, if `augment`, random flips and 1/8 shifts. Under the
    TensorFlow backend the data are shuffled by `tf.data`; under other
    backends `fit` shuffles the arrays, and TensorFlow is not needed.

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
        check_int(value, name)
    check_number(learning_rate, "learning_rate", minimum=0, exclusive_minimum=True)
    images, labels = _read_training_data(train_data, batch_size)
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    check_int(num_classes, "num_classes")
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
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        data = {
            "x": tf.data.Dataset.from_tensor_slices((images, labels))
            .shuffle(images.shape[0], seed=seed)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE),
            "shuffle": False,
        }
    else:
        # Other backends need no TensorFlow: `fit` shuffles the arrays
        # itself (NumPy's global state, which `seed` sets).
        data = {"x": images, "y": labels, "batch_size": batch_size, "shuffle": True}
    history = model.fit(
        **data, epochs=epochs, validation_data=validation_data, verbose=verbose
    )
    if use_cache:
        os.makedirs(cache_dir, exist_ok=True)
        _atomic_write(path, model.save, suffix=".keras")
        record = dict(config, history=_plain(history.history))
        _write_text(path[: -len(".keras")] + ".json", json.dumps(record, indent=2))
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
