"""Turning generators, arrays and datasets into batches of float images,
and running feature extractors on them (the extractor protocol).

Nothing here imports TensorFlow: a `tf.data.Dataset` or `tf.Tensor` can only
exist in a process that already imported it (`loaded_tensorflow`), so arrays
are evaluated under any backend.
"""

import inspect

import keras
import numpy as np

from keras_ssl.utils.imports import loaded_tensorflow
from keras_ssl.utils.validation import check_int

# Progress bars are shown by default from this many samples on.
_AUTO_PROGRESS_SAMPLES = 5000
DEFAULT_GENERATOR_SAMPLES = 10000
# A generator is asked for this many samples per call (chunk i with seed
# seed + i), whatever the batch size, so seeded samples and the metrics on
# them do not depend on `batch_size`.
GENERATION_CHUNK = 100


def to_float_images(images, name):
    """uint8 [0, 255] or float [-1, 1] (N, H, W, C) -> float32 [-1, 1]."""
    array = keras.ops.convert_to_numpy(images)
    if array.ndim != 4:
        raise ValueError(
            f"{name} must be images of shape (N, H, W, C). Received: {name} "
            f"with shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} must be uint8 in [0, 255] or float in [-1, 1]. "
            f"Received: {name} with dtype {array.dtype}"
        )
    array = array.astype(np.float32, copy=False)
    if array.size:
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"{name} must be finite. Received: {name} containing NaN or Inf"
            )
        low, high = float(array.min()), float(array.max())
        if low < -1.001 or high > 1.001:
            raise ValueError(
                f"float {name} must be in [-1, 1] (uint8 images are taken as "
                f"[0, 255]). Received: values in [{low:.4g}, {high:.4g}]"
            )
    return array


def is_dataset(value):
    """Whether `value` is a `tf.data.Dataset` (False where TF was never imported)."""
    tf = loaded_tensorflow()
    return tf is not None and isinstance(value, tf.data.Dataset)


def is_tensor(value):
    """Whether `value` is a tensor of the backend (or a `tf.Tensor`)."""
    if keras.ops.is_tensor(value):
        return True
    tf = loaded_tensorflow()
    return tf is not None and tf.is_tensor(value)


def is_infinite(dataset):
    """Whether a `tf.data.Dataset` repeats forever."""
    tf = loaded_tensorflow()
    return int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY


def _is_generator(source):
    return (
        callable(getattr(source, "generate", None))
        and not isinstance(source, np.ndarray)
        and not is_dataset(source)
    )


def _accepts_seed(function):
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _images_of_element(element, name):
    if isinstance(element, dict):
        for key in ("images", "image"):
            if key in element:
                return element[key]
        raise ValueError(
            f"A dataset {name} of dicts must have an 'images' or 'image' key. "
            f"Received: keys {sorted(element)}"
        )
    if isinstance(element, tuple | list):
        return element[0]
    return element


def _check_count(num_samples, name):
    if num_samples is None:
        return None
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise TypeError(
            f"num_samples for {name} must be a positive integer or None. "
            f"Received: num_samples={num_samples!r}"
        )
    if num_samples < 1:
        raise ValueError(
            f"num_samples for {name} must be positive. "
            f"Received: num_samples={num_samples}"
        )
    return int(num_samples)


def image_batches(source, name, num_samples=None, batch_size=100, seed=None):
    """Returns (target, iterator of float32 [-1, 1] image batches).

    `source` is a generator model (anything with `generate(n)`), an array
    (or a tuple whose first item is the array), or a `tf.data.Dataset` of
    images, `(images, labels)` or `{"images": ...}`, batched or not.
    `target` is the number of images that will be produced, or None when it
    is not known in advance. Every batch has `batch_size` images but the
    last; a generator is called in chunks of `GENERATION_CHUNK`.
    """
    num_samples = _check_count(num_samples, name)
    batch_size = check_int(batch_size, "batch_size")
    if _is_generator(source):
        target = num_samples or DEFAULT_GENERATOR_SAMPLES
        chunks = _generated(source, name, target, GENERATION_CHUNK, seed)
        return target, rebatch(chunks, batch_size)
    if is_dataset(source):
        target, chunks = _dataset_batches(source, name, num_samples, batch_size)
        return target, rebatch(chunks, batch_size)
    if isinstance(source, tuple) and source:
        source = source[0]
    if isinstance(source, np.ndarray) or is_tensor(source):
        array = keras.ops.convert_to_numpy(source)
        if array.ndim != 4:
            raise ValueError(
                f"{name} must be images of shape (N, H, W, C). Received: {name} "
                f"with shape {array.shape}"
            )
        if num_samples is not None and num_samples > array.shape[0]:
            raise ValueError(
                f"num_samples must be at most the {array.shape[0]} images of "
                f"{name}. Received: num_samples={num_samples}"
            )
        target = num_samples or array.shape[0]
        return target, (
            to_float_images(array[i : min(i + batch_size, target)], name)
            for i in range(0, target, batch_size)
        )
    raise TypeError(
        f"{name} must be a model with generate(n), an image array or a "
        f"tf.data.Dataset. Received: {name} of type {type(source).__name__}"
    )


def rebatch(chunks, batch_size):
    """Regroups arrays of any lengths into batches of `batch_size` rows."""
    pending, count = [], 0
    for chunk in chunks:
        pending.append(chunk)
        count += chunk.shape[0]
        while count >= batch_size:
            joined = pending[0] if len(pending) == 1 else np.concatenate(pending)
            yield joined[:batch_size]
            rest = joined[batch_size:]
            pending, count = ([rest] if rest.shape[0] else []), rest.shape[0]
    if count:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


def _generated(model, name, target, batch_size, seed):
    with_seed = seed is not None and _accepts_seed(model.generate)
    done = 0
    index = 0
    while done < target:
        n = min(batch_size, target - done)
        # One seed per fixed-size chunk keeps a seeded evaluation
        # reproducible whatever the extractor's batch size.
        images = (
            model.generate(n, seed=seed + index) if with_seed else model.generate(n)
        )
        images = to_float_images(images, f"{name}.generate({n})")
        if images.shape[0] != n:
            raise ValueError(
                f"{name}.generate(n) must return n images. Received: "
                f"{images.shape[0]} images for n={n}"
            )
        done += n
        index += 1
        yield images


def _dataset_batches(dataset, name, num_samples, batch_size):
    spec = _images_of_element(dataset.element_spec, name)
    if len(spec.shape) == 3:
        dataset = dataset.batch(batch_size)
    elif len(spec.shape) != 4:
        raise ValueError(
            f"The images of the dataset {name} must have rank 3 (unbatched) or "
            f"4 (batched). Received: element shape {spec.shape}"
        )
    if is_infinite(dataset) and num_samples is None:
        raise ValueError(
            f"The dataset {name} repeats forever, so num_samples must be given. "
            "Received: num_samples=None"
        )

    def batches():
        done = 0
        for element in dataset:
            images = to_float_images(_images_of_element(element, name), name)
            if num_samples is not None:
                images = images[: num_samples - done]
            done += images.shape[0]
            if images.shape[0]:
                yield images
            if num_samples is not None and done >= num_samples:
                return
        if num_samples is not None and done < num_samples:
            raise ValueError(
                f"num_samples must be at most the {done} images of the dataset "
                f"{name}. Received: num_samples={num_samples}"
            )

    return num_samples, batches()


def _adapt_to_model(model, images):
    shape = None
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return images
    if len(shape) != 4:
        return images
    height, width, channels = shape[1:]
    if channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if (
        height is not None
        and width is not None
        and images.shape[1:3] != (height, width)
    ):
        images = keras.ops.convert_to_numpy(
            keras.ops.image.resize(images, (height, width), interpolation="bilinear")
        )
    return images


def run_extractor(extractor, images):
    """Applies an extractor and returns (features, logits or None) arrays.

    The extractor protocol: any callable or Keras model mapping float32
    images (B, H, W, C) in [-1, 1] to features (B, D), or to a dict with
    "features" (B, D) and, for the Inception Score, "logits" (B, K). A Keras
    model with a fixed input size gets the images resized (bilinear) to it,
    and single-channel images are repeated to three channels if it wants
    three.
    """
    if isinstance(extractor, keras.Model):
        images = _adapt_to_model(extractor, images)
        outputs = extractor.predict_on_batch(images)
    elif callable(extractor):
        outputs = extractor(images)
    else:
        raise TypeError(
            "extractor must be a callable or a Keras model mapping images to "
            f"features. Received: extractor of type {type(extractor).__name__}"
        )
    logits = None
    if isinstance(outputs, dict):
        if "features" not in outputs:
            raise ValueError(
                "An extractor returning a dict must have a 'features' key. "
                f"Received: keys {sorted(outputs)}"
            )
        logits = outputs.get("logits")
        outputs = outputs["features"]
    features = keras.ops.convert_to_numpy(outputs)
    if features.ndim != 2 or features.shape[0] != images.shape[0]:
        raise ValueError(
            f"extractor must return features of shape ({images.shape[0]}, D) for "
            f"{images.shape[0]} images. Received: shape {features.shape}"
        )
    if logits is not None:
        logits = keras.ops.convert_to_numpy(logits)
    return features, logits


def stream(source, extractor, name, num_samples, batch_size, seed, verbose, on_batch):
    """Runs `extractor` over `source`, calling on_batch(features, logits)."""
    target, batches = image_batches(source, name, num_samples, batch_size, seed)
    if verbose == "auto":
        verbose = target is None or target >= _AUTO_PROGRESS_SAMPLES
    progress = keras.utils.Progbar(target, unit_name="image") if verbose else None
    done = 0
    for images in batches:
        features, logits = run_extractor(extractor, images)
        on_batch(features, logits)
        done += images.shape[0]
        if progress is not None:
            progress.update(done)
    if progress is not None and target is None:
        progress.update(done, finalize=True)
    if done == 0:
        raise ValueError(f"{name} produced no images.")
    return done
