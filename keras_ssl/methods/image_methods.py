"""Pieces shared by the methods whose networks take or return images.

BiGAN, the context encoder, pix2pix and CycleGAN (and instance
discrimination, for its image conversions) take their networks as built
functional models, read image batches from `fit`, log a fixed set of mean
metrics, and accept uint8 or [-1, 1] float images at inference. Each of
those is written once here.
"""

import keras
import numpy as np
from keras import ops


def check_functional(model, name):
    """`model` if it is a built functional `keras.Model`, else a TypeError.

    Example:

    >>> check_functional(keras.layers.Dense(2), "encoder")
    Traceback (most recent call last):
    ...
    TypeError: encoder must be a built functional keras.Model. Received: ...
    """
    if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
        raise TypeError(
            f"{name} must be a built functional keras.Model. Received: {name}={model!r}"
        )
    return model


def float_images(images, name="images"):
    """float32 images in [-1, 1] from uint8 [0, 255] or float [-1, 1] arrays.

    Example:

    >>> float_images(np.full((1, 2, 2, 1), 255, "uint8"))[0, 0, 0]
    array([1.], dtype=float32)
    """
    array = np.asarray(ops.convert_to_numpy(images))
    if array.ndim != 4:
        raise ValueError(
            f"{name} must be a batch (N, H, W, C). Received: {name} of shape "
            f"{array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype("float32") / 127.5 - 1.0
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} must be uint8 in [0, 255] or float in [-1, 1]. "
            f"Received: dtype {array.dtype}"
        )
    return array.astype("float32")


def uint8_images(images):
    """uint8 [0, 255] numpy images from float images in [-1, 1] (clipped).

    Example:

    >>> uint8_images(np.array([[[[-1.0], [0.0], [2.0]]]]))[0, 0, :, 0]
    array([  0, 128, 255], dtype=uint8)
    """
    images = np.asarray(ops.convert_to_numpy(images), "float32")
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def batch_images(data, image_shape):
    """The float32 images of a `fit` batch: images, `(images, labels)` or a dict.

    Example:

    >>> x = np.zeros((2, 4, 4, 3), "float32")
    >>> tuple(batch_images((x, np.zeros(2)), (4, 4, 3)).shape)
    (2, 4, 4, 3)
    """
    if isinstance(data, dict):
        data = data["images"]
    elif isinstance(data, list | tuple):
        data = data[0]
    return ops.reshape(ops.cast(data, "float32"), (-1,) + tuple(image_shape))


def logits_of(outputs):
    """A discriminator's logits: its output, or the output's `"logits"`."""
    return outputs["logits"] if isinstance(outputs, dict) else outputs


class MeanTrackers:
    """Mixin for a `keras.Model` that logs the running means of named values.

    Call `self.track(names)` in the constructor; `self.record(logs)` in a
    step updates the trackers of the logged names and returns their means.
    `metrics` lists every tracker (so that Keras resets them each epoch).
    """

    def track(self, names):
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def record(self, logs):
        """Update the trackers of `logs`' names; their running means."""
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {n: t.result() for n, t in self.trackers.items() if n in logs}


class SubNetworks:
    """Mixin: the config of a `keras.Model` built from named sub-networks.

    Subclasses name their network arguments in `NETWORKS`; `get_config`
    merges `self.networks_config()` (each one serialised) and `from_config`
    deserialises them before calling the constructor.
    """

    NETWORKS = ()

    def networks_config(self):
        return {
            key: keras.saving.serialize_keras_object(getattr(self, key))
            for key in self.NETWORKS
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.NETWORKS:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
