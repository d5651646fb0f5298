"""RotNet: learning features by predicting image rotations.

Reference: Gidaris, Singh & Komodakis, "Unsupervised Representation Learning
by Predicting Image Rotations", ICLR 2018.

Every image x of a batch is rotated by r * 90 degrees for r = 0..3 and a
4-way classifier on the pooled encoder features predicts r:

    L = -1/(4B) sum_b sum_r log softmax(h(pool(f(rot_r(x_b)))))_r

Defaults vs the paper: the encoder is the paper's 4-block NIN (width 192,
layer for layer the authors' `NetworkInNetwork`; `keras_ssl.convert`'s
`rotnet_pth` format loads their checkpoints); the head is one linear layer on
globally pooled features (the paper's NIN classifier). `compile()` defaults
to the paper's SGD: Nesterov momentum 0.9, learning rate 0.1 and weight decay
5e-4 added to the gradient as PyTorch does
(`keras_ssl.training.CoupledWeightDecaySGD`). Keras' own `weight_decay` is
decoupled (w -= lr * wd * w after the step, outside the momentum), which with
momentum 0.9 is about ten times weaker: 1000 steps of pure decay leave w at
0.951 of its value against 0.608 for the coupled decay. The paper decays the
learning rate at epochs 60/120/160 of 200 and trains on random crops (4-pixel
padding) and horizontal flips; the `rotnet_cifar10` preset's recipe has
both. All four rotations of every image are used (the paper's best setting),
so a batch of B images trains on 4B examples. The paper's CIFAR-10 number
(89.06%) is the accuracy of a non-linear classifier on block 2
(`keras_ssl.evaluation.conv_block_classifier`), not of a linear probe.
"""

import keras

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.rotation import rotation_batch
from keras_ssl.training.coupled_weight_decay import CoupledWeightDecaySGD


@keras.saving.register_keras_serializable(package="keras_ssl")
class RotNet(PretextTask):
    """Rotation prediction (RotNet) around any image encoder.

    Reference: Gidaris, Singh & Komodakis, ICLR 2018.

    Args:
        encoder: a `keras.Model` from square images (B, H, W, C) in [-1, 1]
            to a feature map or a vector; exposed as `.encoder`.
        **kwargs: `keras.Model` arguments (name, ...).

    `call(images)` returns the (4B, 4) rotation logits of the four rotated
    copies of `images` (ordered as `keras_ssl.ops.rotation_batch`).
    `fit` takes batches of images, or `(images, labels)` whose labels are
    ignored, and logs `pretext_loss` and `pretext_accuracy`. Training
    mechanics (`compile`, `train_step`, serialization) come from
    `PretextTask`.

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

    chance_accuracy = 0.25  # four rotations

    def __init__(self, encoder, **kwargs):
        super().__init__(encoder, **kwargs)
        shape = tuple(encoder.inputs[0].shape)
        if len(shape) != 4 or (
            shape[1] is not None and shape[2] is not None and shape[1] != shape[2]
        ):
            raise ValueError(
                "RotNet needs an encoder of square images (B, H, H, C) so that "
                f"rotated copies have the same shape. Received: encoder input "
                f"shape={shape}"
            )
        self.image_shape = shape[1:]
        self.rotation_head = keras.layers.Dense(4, name="rotation_head")
        self.rotation_head.build((None, self.feature_dim))

    def default_optimizer(self):
        """The paper's SGD, which `compile()` uses when no optimizer is given.

        Nesterov momentum 0.9, learning rate 0.1, weight decay 5e-4 coupled
        to the gradient (PyTorch's SGD, which the authors used).
        """
        return CoupledWeightDecaySGD(
            learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
        )

    def rotation_logits(self, images, training=False):
        """4-way rotation logits of (already rotated) images."""
        return self.rotation_head(self.features(images, training=training))

    def call(self, inputs, training=False):
        rotated, _ = rotation_batch(self.batch_images(inputs))
        return self.rotation_logits(rotated, training=training)

    def pretext_logs(self, images, training=False):
        """Rotation cross-entropy and accuracy over the four rotated copies."""
        rotated, labels = rotation_batch(images)
        logits = self.rotation_logits(rotated, training=training)
        return {
            "pretext_loss": self.pretext_loss(logits, labels),
            "pretext_accuracy": self.pretext_accuracy(logits, labels),
        }


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
