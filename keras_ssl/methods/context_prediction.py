"""Context prediction: the relative position of two patches of an image.

Reference: Doersch, Gupta & Efros, "Unsupervised Visual Representation
Learning by Context Prediction", ICCV 2015; colour countermeasures also in
Mundhenk, Ho & Chen, "Improvements to Context Based Self-Supervised
Learning", CVPR 2018.

For each image a centre patch c and one of its eight neighbours n_k
(k = 0..7, reading order) are cut with a gap between them and random jitter
(`keras_ssl.ops.context_patch_pairs`), a shared (siamese) encoder f embeds
both, a shared fully-connected layer g maps each embedding, and a classifier
h on the concatenation predicts k:

    L = -1/B sum_b log softmax(h([g(f(c_b)), g(f(n_{b,k_b}))]))_{k_b}

Chromatic aberration lets a network locate a patch from colour fringes alone,
so each patch goes through a countermeasure: `"project"` removes the
green-magenta axis (`keras_ssl.ops.project_color`), `"drop"` keeps one random
colour channel and replaces the others by weak noise
(`keras_ssl.ops.drop_color_channels`), None does nothing.

Defaults vs the paper: the paper cuts 96-pixel patches with a 48-pixel gap
and up to 7 pixels of jitter from ImageNet images; `build_context_prediction`
scales this to the image: patch = size // 4, gap = size // 16,
jitter = size // 32 (8, 2 and 1 pixels for 32-pixel images). The paper's
fc6-fc7-fc8 head becomes `patch_units` per patch and one hidden layer of
`hidden_units`; one pair per image is sampled (as in the paper). The default
countermeasure is projection. Optimizer default: Adam 1e-3.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_ssl.architectures.encoders import (
    build_encoder,
    check_encoder_input,
    vector_pooling,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.patches import (
    check_context_layout,
    context_patch_pairs,
    drop_color_channels,
    project_color,
)

_COUNTERMEASURES = ("project", "drop", None)


def _images_of(data, image_shape):
    if isinstance(data, dict):
        data = data["images"]
    elif isinstance(data, list | tuple):
        data = data[0]
    # Datasets of undecoded-size images carry no static H, W; patches need them.
    return ops.reshape(data, (-1,) + tuple(image_shape))


def _image_size(image_size):
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    image_size = tuple(image_size)
    if len(image_size) != 2 or not all(
        isinstance(v, int) and v > 0 for v in image_size
    ):
        raise ValueError(
            "image_size must be an int or a pair of positive ints. "
            f"Received: image_size={image_size}"
        )
    return image_size


@keras.saving.register_keras_serializable(package="keras_ssl")
class ContextPrediction(keras.Model):
    """Relative-position prediction (Doersch et al. 2015) around any encoder.

    Args:
        encoder: a `keras.Model` from patches (B, p, p, C) in [-1, 1] to a
            feature map or vector, shared by both patches; exposed as
            `.encoder`.
        image_size: side (or (height, width)) of the input images.
        patch_size: side p of each patch.
        gap: minimum pixels between the centre patch and its neighbours.
        jitter: maximum random shift of each patch.
        chromatic: colour countermeasure, `"project"`, `"drop"` or None.
        patch_units: width of the shared per-patch fully-connected layer.
        hidden_units: width of the layer on the concatenated pair.
        seed: seed of the random positions, jitter and channel dropping.
        **kwargs: `keras.Model` arguments.

    `call(images)` returns (B, 8) logits for deterministic pairs: centred
    layout, image `b` paired with neighbour `b % 8`, projection (if
    `chromatic` is set) but no random channel dropping.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = ContextPrediction(nin_encoder((8, 8, 3), 3, width=8),
    ...                           image_size=32, patch_size=8, gap=2, jitter=1,
    ...                           patch_units=8, hidden_units=16)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> tuple(model(images[:3]).shape)
    (3, 8)
    """

    def __init__(
        self,
        encoder,
        image_size=32,
        patch_size=8,
        gap=2,
        jitter=1,
        chromatic="project",
        patch_units=256,
        hidden_units=512,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = _image_size(image_size)
        check_context_layout(self.image_size, patch_size, gap, jitter)
        if chromatic not in _COUNTERMEASURES:
            raise ValueError(
                f"chromatic must be one of {_COUNTERMEASURES}. "
                f"Received: chromatic={chromatic!r}"
            )
        self.patch_size = patch_size
        self.gap = gap
        self.jitter = jitter
        self.chromatic = chromatic
        self.patch_units = patch_units
        self.hidden_units = hidden_units
        self.seed = seed
        self.pooling, self.feature_dim = vector_pooling(encoder)
        channels = encoder.inputs[0].shape[-1]
        if channels is None:
            raise ValueError(
                "encoder must declare its input channels. Received: encoder "
                f"input shape={tuple(encoder.inputs[0].shape)}"
            )
        self.channels = int(channels)
        if chromatic is not None and self.channels != 3:
            raise ValueError(
                "chromatic countermeasures need RGB patches (3 channels); use "
                f"chromatic=None. Received: chromatic={chromatic!r}, "
                f"channels={self.channels}"
            )
        check_encoder_input(encoder, (patch_size, patch_size, self.channels))
        self.encoder = encoder
        self.patch_dense = keras.layers.Dense(
            patch_units, activation="relu", name="patch_dense"
        )
        self.patch_dense.build((None, self.feature_dim))
        self.hidden_dense = keras.layers.Dense(
            hidden_units, activation="relu", name="hidden_dense"
        )
        self.hidden_dense.build((None, 2 * patch_units))
        self.classifier = keras.layers.Dense(8, name="classifier")
        self.classifier.build((None, hidden_units))
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="pretext_loss")
        self.accuracy_tracker = keras.metrics.Mean(name="pretext_accuracy")
        # Every sub-layer is built above; marking the model built lets `save`
        # and `compile_from_config` see its variables before any call.
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def build(self, input_shape=None):
        self.built = True

    @property
    def image_shape(self):
        return self.image_size + (self.channels,)

    def _countermeasure(self, patches, training):
        if self.chromatic == "project":
            return project_color(patches)
        if self.chromatic == "drop" and training:
            return drop_color_channels(patches, seed=self.seed_generator)
        return patches

    def pairs(self, images, training=False):
        """(centre, neighbour, position) patch pairs of a batch of images.

        With `training`, positions, layout and jitter are random; otherwise
        they are the deterministic pairs of `call`.
        """
        centre, neighbour, positions = context_patch_pairs(
            images,
            self.patch_size,
            self.gap,
            self.jitter,
            random=training,
            seed=self.seed_generator,
        )
        centre = self._countermeasure(centre, training)
        neighbour = self._countermeasure(neighbour, training)
        return centre, neighbour, positions

    def position_logits(self, centre, neighbour, training=False):
        """8-way relative-position logits (B, 8) of patch pairs."""
        both = ops.concatenate([centre, neighbour], axis=0)
        features = self.patch_dense(self.pooling(self.encoder(both, training=training)))
        first, second = ops.split(features, 2, axis=0)
        joint = ops.concatenate([first, second], axis=-1)
        return self.classifier(self.hidden_dense(joint))

    def call(self, inputs, training=False):
        centre, neighbour, _ = self.pairs(_images_of(inputs, self.image_shape))
        return self.position_logits(centre, neighbour, training=training)

    def pretext_loss(self, logits, positions):
        """Mean cross-entropy of the relative-position logits."""
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(
                positions, logits, from_logits=True
            )
        )

    def pretext_accuracy(self, logits, positions):
        """Fraction of relative positions predicted correctly (chance 1/8)."""
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        return ops.mean(ops.cast(ops.equal(predicted, positions), "float32"))

    def compile(self, optimizer=None, **kwargs):
        """Configure training; `optimizer` defaults to Adam(1e-3)."""
        if optimizer is None:
            optimizer = keras.optimizers.Adam(1e-3)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # `compile` is overridden only to supply a default optimizer, so the
        # saved compile arguments apply unchanged (optimizer state included).
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _step(self, data, training):
        images = _images_of(data, self.image_shape)
        centre, neighbour, positions = self.pairs(images, training=training)
        logits = self.position_logits(centre, neighbour, training=training)
        return self.pretext_loss(logits, positions), self.pretext_accuracy(
            logits, positions
        )

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss, accuracy = self._step(data, training=True)
            total = loss
            if self.losses:
                total = total + ops.sum(self.losses)
            scaled = total / replicas
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        loss, accuracy = self._step(data, training=False)
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "image_size": list(self.image_size),
                "patch_size": self.patch_size,
                "gap": self.gap,
                "jitter": self.jitter,
                "chromatic": self.chromatic,
                "patch_units": self.patch_units,
                "hidden_units": self.hidden_units,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@register_method("context_prediction")
def build_context_prediction(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    patch_size=None,
    gap=None,
    jitter=None,
    chromatic="project",
    patch_units=256,
    hidden_units=512,
    seed=None,
):
    """A ContextPrediction model whose patch encoder fits the patch size.

    `patch_size`, `gap` and `jitter` default to size // 4, size // 16 and
    size // 32 of the smaller image side. `encoder` is a name (`"nin"`,
    `"alexnet"`, `"resnet18"`, ...; built with `encoder_config` for inputs of
    any size, so that `.encoder` embeds patches during training and whole
    images afterwards; the default NIN has 3 blocks of width 64) or a
    `keras.Model` taking (p, p, channels) patches. Other arguments as in
    `ContextPrediction`; `chromatic` is forced to None for non-RGB images.

    Example:

    >>> model = build_context_prediction(32, encoder_config={"width": 8,
    ...                                                       "num_blocks": 3})
    >>> model.patch_size, model.gap, model.jitter
    (8, 2, 1)
    """
    size = _image_size(image_size)
    side = min(size)
    patch_size = side // 4 if patch_size is None else patch_size
    gap = side // 16 if gap is None else gap
    jitter = side // 32 if jitter is None else jitter
    check_context_layout(size, patch_size, gap, jitter)
    if channels != 3:
        chromatic = None
    if encoder == "nin" and encoder_config is None:
        encoder_config = {"width": 64, "num_blocks": 3}
    # Named encoders are built for any input size, so that the trained
    # `.encoder` also embeds whole images (linear probes, fine-tuning).
    shape = (
        (None, None, channels)
        if isinstance(encoder, str)
        else (patch_size, patch_size, channels)
    )
    encoder = build_encoder(encoder, shape, encoder_config)
    return ContextPrediction(
        encoder,
        image_size=size,
        patch_size=patch_size,
        gap=gap,
        jitter=jitter,
        chromatic=chromatic,
        patch_units=patch_units,
        hidden_units=hidden_units,
        seed=seed,
        name="context_prediction",
    )
