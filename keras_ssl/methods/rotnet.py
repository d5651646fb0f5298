"""RotNet: learning features by predicting image rotations.

Reference: Gidaris, Singh & Komodakis, "Unsupervised Representation Learning
by Predicting Image Rotations", ICLR 2018.

Every image x of a batch is rotated by r * 90 degrees for r = 0..3 and a
4-way classifier on the pooled encoder features predicts r:

    L = -1/(4B) sum_b sum_r log softmax(h(pool(f(rot_r(x_b)))))_r

Defaults vs the paper: the encoder is the paper's 4-block NIN (width 192);
the head is one linear layer on globally pooled features (the paper's NIN
classifier). `compile()` defaults to the paper's SGD with Nesterov momentum
0.9, learning rate 0.1 and weight decay 5e-4; Keras' `weight_decay` is
decoupled (w -= lr * wd * w) where the paper's PyTorch code adds wd * w to the
gradient, which differs only through the momentum. The paper decays the
learning rate at epochs 60/120/160 of 200; pass a schedule to `compile` for
that. All four rotations of every image are used (the paper's best setting),
so a batch of B images trains on 4B examples.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.rotation import rotation_batch


def _images_of(data, image_shape=None):
    if isinstance(data, dict):
        data = data["images"]
    elif isinstance(data, list | tuple):
        data = data[0]
    if image_shape is not None and None not in image_shape:
        # Datasets of undecoded-size images carry no static H, W; the encoder
        # fixes them, and static shapes keep the rotation ops in-graph.
        data = ops.reshape(data, (-1,) + tuple(image_shape))
    return data


@keras.saving.register_keras_serializable(package="keras_ssl")
class RotNet(keras.Model):
    """Rotation prediction (RotNet) around any image encoder.

    Reference: Gidaris, Singh & Komodakis, ICLR 2018.

    Args:
        encoder: a `keras.Model` from square images (B, H, W, C) in [-1, 1]
            to a feature map or a vector; exposed as `.encoder`.
        **kwargs: `keras.Model` arguments (name, ...).

    `call(images)` returns the (4B, 4) rotation logits of the four rotated
    copies of `images` (ordered as `keras_ssl.ops.rotation_batch`).
    `fit` takes batches of images, or `(images, labels)` whose labels are
    ignored, and logs `pretext_loss` and `pretext_accuracy`.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = RotNet(nin_encoder((16, 16, 3), num_blocks=3, width=8))
    >>> model.compile(optimizer="adam")
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['pretext_accuracy', 'pretext_loss']
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.pooling, self.feature_dim = vector_pooling(encoder)
        shape = tuple(encoder.inputs[0].shape)
        if len(shape) != 4 or (
            shape[1] is not None and shape[2] is not None and shape[1] != shape[2]
        ):
            raise ValueError(
                "RotNet needs an encoder of square images (B, H, H, C) so that "
                f"rotated copies have the same shape. Received: encoder input "
                f"shape={shape}"
            )
        self.encoder = encoder
        self.image_shape = shape[1:]
        self.rotation_head = keras.layers.Dense(4, name="rotation_head")
        self.rotation_head.build((None, self.feature_dim))
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

    def features(self, images, training=False):
        """Pooled encoder features (B, D) of images in [-1, 1]."""
        return self.pooling(self.encoder(images, training=training))

    def rotation_logits(self, images, training=False):
        """4-way rotation logits of (already rotated) images."""
        return self.rotation_head(self.features(images, training=training))

    def call(self, inputs, training=False):
        rotated, _ = rotation_batch(_images_of(inputs, self.image_shape))
        return self.rotation_logits(rotated, training=training)

    def pretext_loss(self, logits, labels):
        """Mean cross-entropy of the rotation logits against the labels."""
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
        )

    def pretext_accuracy(self, logits, labels):
        """Fraction of rotations predicted correctly."""
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        return ops.mean(ops.cast(ops.equal(predicted, labels), "float32"))

    def compile(self, optimizer=None, **kwargs):
        """Configure training; `optimizer` defaults to the paper's SGD.

        Args:
            optimizer: a Keras optimizer or its name. Default: SGD, Nesterov
                momentum 0.9, learning rate 0.1, weight decay 5e-4.
            **kwargs: other `keras.Model.compile` arguments.
        """
        if optimizer is None:
            optimizer = keras.optimizers.SGD(
                learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # `compile` is overridden only to supply a default optimizer, so the
        # saved compile arguments apply unchanged (optimizer state included).
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _step(self, data, training):
        rotated, labels = rotation_batch(_images_of(data, self.image_shape))
        logits = self.rotation_logits(rotated, training=training)
        loss = self.pretext_loss(logits, labels)
        return loss, self.pretext_accuracy(logits, labels)

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
        config.update({"encoder": keras.saving.serialize_keras_object(self.encoder)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@register_method("rotnet")
def build_rotnet(image_size=32, channels=3, encoder="nin", encoder_config=None):
    """RotNet with the paper's CIFAR encoder, a 4-block NIN, by default.

    Args:
        image_size: side of the square input images.
        channels: image channels.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`,
            `"resnet34"`, `"resnet50"`) or a `keras.Model`.
        encoder_config: keyword arguments of the named encoder's builder,
            e.g. `{"width": 64, "num_blocks": 4}` for NIN.

    Example:

    >>> model = build_rotnet(32, encoder_config={"width": 8, "num_blocks": 3})
    >>> tuple(model.encoder.output.shape)
    (None, 8, 8, 8)
    """
    if not isinstance(image_size, int) or image_size < 4:
        raise ValueError(
            f"image_size must be an int >= 4. Received: image_size={image_size}"
        )
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    return RotNet(encoder, name="rotnet")
