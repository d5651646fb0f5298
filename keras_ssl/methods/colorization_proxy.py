"""Colorization as a proxy task: hue/chroma histograms from hypercolumns.

Reference: Larsson, Maire & Shakhnarovich, "Colorization as a Proxy Task for
Visual Understanding", CVPR 2017 (the model of their "Learning
Representations for Automatic Colorization", ECCV 2016).

From the greyscale image, a hypercolumn (the encoder's feature maps at
several depths, upsampled to the image and concatenated) feeds a small
per-pixel MLP that predicts a 32-bin hue and a 32-bin chroma distribution.
The targets are the hue and chroma histograms of the 7x7 neighbourhood of
the pixel (`keras_ssl.ops.hue_chroma_histograms`), and the loss is

    L = KL(y_C || ŷ_C) + λ_H c KL(y_H || ŷ_H),  λ_H = 5,

where c is the target chroma, since the hue of a grey pixel is undefined.

Training choices of the papers implemented here, those they single out for
the quality of the representation: the histogram (KL) loss rather than a
regression of colours; hypercolumns, so that early layers get a direct
training signal; sparse training, the loss evaluated at a few random pixels
per image (`num_pixels`, 128 in the papers) so that the hypercolumn head is
cheap and each image gives many decorrelated targets; a greyscale input so
that the features cannot copy colour; no labels anywhere, training from
scratch. Not reproduced: the papers' ImageNet-scale training (VGG-16 or
ResNet-152, many epochs) and their fine-tuning protocol (re-balancing the
activations of the pretrained network before fine-tuning).
"""

import re

import keras
from keras import layers, ops

from keras_ssl.losses.colorization import hue_chroma_kl_loss
from keras_ssl.methods.colorization import (
    COLOR_METRICS,
    color_quality,
    colorize_images,
    grey_encoder,
    preview_columns,
    resize,
)
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.color import (
    CHROMA_BINS,
    HUE_BINS,
    MAX_CHROMA,
    greyscale,
    hue_chroma_decode,
    hue_chroma_histograms,
    images_to_lab,
)
from keras_ssl.utils.validation import check_int, check_number

_BLOCK = re.compile(r"^block\d+$")


def default_hypercolumn_layers(encoder):
    """Names of the encoder layers a hypercolumn reads by default.

    The outputs of NIN's blocks (`block1` ... `blockN`) when the encoder has
    them, otherwise none (the encoder's output is always used).
    """
    return [layer.name for layer in encoder.layers if _BLOCK.match(layer.name)]


@keras.saving.register_keras_serializable(package="keras_ssl")
class ColorizationProxy(PretextTask):
    """Larsson et al.'s hue/chroma colorization around any encoder.

    Reference: Larsson, Maire & Shakhnarovich, CVPR 2017.

    Args:
        encoder: a `keras.Model` from RGB images (B, H, W, 3) in [-1, 1] to a
            feature map; fed the greyscale image. Exposed as `.encoder`.
        hypercolumn_layers: names of encoder layers whose outputs join the
            hypercolumn (with the encoder's output); None: the NIN blocks.
        hidden_units: width of the per-pixel MLP (1024 in the paper).
        num_pixels: pixels per image at which the loss is evaluated in
            training (all pixels in evaluation).
        hue_weight: λ_H.
        window: the histogram neighbourhood (7).
        seed: seed of the pixel sampling.
        **kwargs: `keras.Model` arguments.

    `fit` logs `pretext_loss` (the KL loss), `pretext_accuracy` (pixels whose
    most likely chroma bin is the target histogram's), `color_error` and
    `psnr` of the decoded colours (hue: circular mean, chroma: mean).

    Example:

    >>> import numpy as np
    >>> model = build_colorization_proxy(
    ...     16, encoder_config={"width": 8, "num_blocks": 3}, hidden_units=16)
    >>> images = np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> model.colorize(images).shape
    (4, 16, 16, 3)
    """

    metric_names = PretextTask.metric_names + COLOR_METRICS

    def __init__(
        self,
        encoder,
        hypercolumn_layers=None,
        hidden_units=256,
        num_pixels=128,
        hue_weight=5.0,
        window=7,
        seed=None,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        if self.image_shape[-1] != 3 or None in self.image_shape[:2]:
            raise ValueError(
                "ColorizationProxy needs an encoder of RGB images of a fixed size "
                f"(H, W, 3). Received: encoder input shape={self.image_shape}"
            )
        if hypercolumn_layers is None:
            hypercolumn_layers = default_hypercolumn_layers(encoder)
        self.hypercolumn_layers = list(hypercolumn_layers)
        outputs = [encoder.get_layer(name).output for name in self.hypercolumn_layers]
        outputs.append(encoder.outputs[0])
        for output in outputs:
            if len(output.shape) != 4:
                raise ValueError(
                    "Hypercolumn layers must output feature maps (B, h, w, D). "
                    f"Received: {output.name} of shape {tuple(output.shape)}"
                )
        # Shares the encoder's layers and weights; not tracked separately.
        self._hypercolumn = keras.Model(encoder.inputs, outputs)
        self.hidden_units = check_int(hidden_units, "hidden_units")
        self.num_pixels = check_int(num_pixels, "num_pixels")
        self.hue_weight = check_number(hue_weight, "hue_weight", minimum=0)
        self.window = check_int(window, "window")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        depth = sum(int(output.shape[-1]) for output in outputs)
        self.hidden = layers.Dense(self.hidden_units, activation="relu", name="hidden")
        self.hidden.build((None, depth))
        self.classifier = layers.Dense(HUE_BINS + CHROMA_BINS, name="hue_chroma")
        self.classifier.build((None, self.hidden_units))

    def hypercolumns(self, images, training=False):
        """(B, H, W, D): the feature maps upsampled to the image, concatenated."""
        maps = self._hypercolumn(greyscale(images), training=training)
        size = tuple(self.image_shape[:2])
        return ops.concatenate([resize(m, size) for m in keras.tree.flatten(maps)], -1)

    def predict_logits(self, columns):
        """`(hue_logits, chroma_logits)` of hypercolumns (..., D)."""
        logits = self.classifier(self.hidden(columns))
        return logits[..., :HUE_BINS], logits[..., HUE_BINS:]

    def call(self, inputs, training=False):
        columns = self.hypercolumns(self.batch_images(inputs), training=training)
        return ops.concatenate(self.predict_logits(columns), -1)

    def pretext_logs(self, images, training=False):
        lab = images_to_lab(images)
        hue, chroma, weight = hue_chroma_histograms(lab, window=self.window)
        columns = dense = self.hypercolumns(images, training=training)
        if training:
            height, width = self.image_shape[:2]
            count = height * width
            batch = ops.shape(images)[0]
            index = keras.random.randint(
                (batch, self.num_pixels, 1), 0, count, seed=self.seed_generator
            )

            def sample(x):
                flat = ops.reshape(x, (batch, count, x.shape[-1]))
                return ops.take_along_axis(flat, index, axis=1)

            columns, hue, chroma, weight = map(sample, (columns, hue, chroma, weight))
        hue_logits, chroma_logits = self.predict_logits(columns)
        loss = hue_chroma_kl_loss(
            hue, chroma, weight, hue_logits, chroma_logits, self.hue_weight
        )
        hit = ops.equal(ops.argmax(chroma_logits, -1), ops.argmax(chroma, -1))
        if training:
            # Colours of every pixel, for the logged metrics only.
            hue_logits, chroma_logits = self.predict_logits(ops.stop_gradient(dense))
        ab = hue_chroma_decode(hue_logits, chroma_logits, MAX_CHROMA)
        error, psnr = color_quality(lab, ops.stop_gradient(ab))
        return {
            "pretext_loss": loss,
            "pretext_accuracy": ops.mean(ops.cast(hit, "float32")),
            "color_error": error,
            "psnr": psnr,
        }

    def colorize(self, images, batch_size=32):
        """Colour photos: uint8 RGB of the same shape as `images`."""

        def predict(batch):
            hue_logits, chroma_logits = self.predict_logits(self.hypercolumns(batch))
            return hue_chroma_decode(hue_logits, chroma_logits, MAX_CHROMA)

        return colorize_images(predict, images, self.image_shape[:2], batch_size)

    def preview(self, images, count=None):
        """Columns `[greyscale input, colorized, original]` of uint8 images."""
        return preview_columns(self.colorize, images, count)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hypercolumn_layers": list(self.hypercolumn_layers),
                "hidden_units": self.hidden_units,
                "num_pixels": self.num_pixels,
                "hue_weight": self.hue_weight,
                "window": self.window,
                "seed": self.seed,
            }
        )
        return config


@register_method("colorization_proxy")
def build_colorization_proxy(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    hypercolumn_layers=None,
    hidden_units=256,
    num_pixels=128,
    hue_weight=5.0,
    seed=None,
):
    """ColorizationProxy with a NIN encoder (or another), Adam 1e-3.

    Args:
        image_size: side of the square training images.
        channels: must be 3.
        encoder: an encoder name or a `keras.Model` of RGB images.
        encoder_config: keyword arguments of the named encoder's builder.
        hypercolumn_layers, hidden_units, num_pixels, hue_weight, seed: see
            `ColorizationProxy`.
    """
    image_size = check_int(image_size, "image_size", minimum=8)
    network = grey_encoder(encoder, image_size, channels, encoder_config)
    model = ColorizationProxy(
        network,
        hypercolumn_layers=hypercolumn_layers,
        hidden_units=hidden_units,
        num_pixels=num_pixels,
        hue_weight=hue_weight,
        seed=seed,
        name="colorization_proxy",
    )
    model.compile()
    return model
