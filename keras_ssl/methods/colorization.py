"""Colorization: predicting the colours of a greyscale image.

Reference: Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016.

The network sees only the lightness L of an image and predicts, at reduced
resolution (1/4 for the paper's network), a distribution Z over the
quantised ab plane (`keras_ssl.ops.ab_bins`, or the released 313 bins) per
pixel. Targets are the soft encoding of the true ab (`soft_encode_ab`: a
Gaussian of sigma 5 over the 5 nearest bins), and the loss is the
class-rebalanced cross-entropy

    L = -1/(HW) sum_{h,w} v(Z_hw) sum_q Z_hwq log Ẑ_hwq,
    v = w_{argmax_q Z_hwq},  w ∝ ((1 - λ) p + λ / Q)^-1,  E_p[w] = 1,

with λ = 0.5 and p the prior over bins. Colours are decoded with the
annealed mean (T = 0.38). `objective="regression"` is the paper's L2
baseline: the network regresses ab / 110 directly.

Defaults vs the paper: the prior p is the smoothed empirical distribution of
ab over the training set in the paper; here it is estimated during training
as a moving average (momentum 0.99) of the soft-encoded targets, starting
from uniform, unless `prior=` gives one (e.g. `keras_ssl.ops.
estimate_ab_prior`), which then stays fixed. The soft encoding with sigma 5
is the smoothing. The paper trains with Adam (lr 3e-5, beta 0.9/0.99, weight
decay 1e-3) on ImageNet at 256 px; `compile()` defaults to Adam 1e-3, for the
short runs small networks get. Any encoder works: it receives the greyscale
image (R = G = B with the image's L, so it never sees colour) and must
return a feature map; the head is a 1x1 convolution at that map's
resolution, where the targets are the area-averaged ab.
`build_colorization(encoder="eccv16")` builds the authors' network, whose
released weights load with `keras_ssl.zoo.load("colorization_eccv16")`.
"""

import keras
import numpy as np
from keras import layers, ops

from keras_ssl.architectures.colorization_eccv16 import AB_SCALE, colorization_eccv16
from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.losses.colorization import ab_regression_loss, rebalanced_cross_entropy
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.color import (
    annealed_mean,
    check_bins,
    greyscale,
    images_to_lab,
    lab_to_images,
    lab_to_rgb,
    nearest_bin,
    rebalancing_weights,
    soft_encode_ab,
)
from keras_ssl.ops.resize import resize_images as resize
from keras_ssl.utils.validation import check_bool, check_choice, check_int, check_number

COLOR_METRICS = ("color_error", "psnr")


@keras.saving.register_keras_serializable(package="keras_ssl")
class LabChannels(layers.Layer):
    """Lab channels of RGB images in [-1, 1].

    Args:
        channels: `"L"` (B, H, W, 1), `"ab"` (B, H, W, 2) or `"Lab"`.
        normalize: L as (L - 50) / 100 and ab as ab / 110 (the scales of
            Zhang et al.'s networks); otherwise Lab units.

    Example:

    >>> import numpy as np
    >>> layer = LabChannels("L", normalize=False)
    >>> float(layer(np.ones((1, 2, 2, 3), "float32"))[0, 0, 0, 0])
    100.0
    """

    def __init__(self, channels="L", normalize=True, **kwargs):
        super().__init__(**kwargs)
        self.channels = check_choice(channels, "channels", ("L", "ab", "Lab"))
        self.normalize = check_bool(normalize, "normalize")

    def call(self, images):
        lab = images_to_lab(images)
        lightness, ab = lab[..., :1], lab[..., 1:]
        if self.normalize:
            lightness = (lightness - 50.0) / 100.0
            ab = ab / AB_SCALE
        if self.channels == "L":
            return lightness
        if self.channels == "ab":
            return ab
        return ops.concatenate([lightness, ab], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + ({"L": 1, "ab": 2, "Lab": 3}[self.channels],)

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels, "normalize": self.normalize})
        return config


def color_quality(lab, ab_small):
    """`(color_error, psnr)` of predicted ab against the true colours.

    The prediction `ab_small` (B, h, w, 2) is upsampled bilinearly to the
    image size; `color_error` is the mean Euclidean ab distance over pixels
    (Lab units), `psnr` the mean over images of the PSNR (dB) of the RGB
    image made of the true L and the predicted ab against the original.
    """
    ab = resize(ab_small, tuple(lab.shape[1:3]))
    error = ops.mean(ops.sqrt(ops.sum(ops.square(ab - lab[..., 1:]), -1) + 1e-12))
    predicted = lab_to_rgb(ops.concatenate([lab[..., :1], ab], -1))
    original = lab_to_rgb(lab)
    mse = ops.mean(ops.square(predicted - original), axis=(1, 2, 3))
    psnr = ops.mean(10.0 * ops.log(1.0 / ops.maximum(mse, 1e-10)) / np.log(10.0))
    return error, psnr


def to_float_images(images):
    """float32 numpy images in [-1, 1] from uint8 [0, 255] or float [-1, 1]."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype("float32") / 127.5 - 1.0
    return images.astype("float32")


def to_uint8(images):
    """uint8 [0, 255] numpy images from float images in [-1, 1]."""
    images = np.asarray(ops.convert_to_numpy(images), "float32")
    return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype("uint8")


def colorize_images(predict_ab_small, images, network_size=None, batch_size=32):
    """Colour images with a function from images at `network_size` to ab.

    Images are resized to `network_size` (their own size when None or
    partly None), `predict_ab_small` maps them to low-resolution ab, which
    is upsampled to the original size and joined with the original L.
    Returns uint8 RGB of the input's shape.
    """
    images = to_float_images(images)
    single = images.ndim == 3
    if single:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            "images must be RGB (N, H, W, 3) or (H, W, 3), uint8 in [0, 255] or "
            f"float in [-1, 1]. Received: shape={images.shape}"
        )
    height, width = images.shape[1:3]
    if network_size is None or None in tuple(network_size):
        network_size = (max(8, height // 8 * 8), max(8, width // 8 * 8))
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = ops.convert_to_tensor(images[start : start + batch_size])
        ab = predict_ab_small(resize(batch, network_size))
        ab = resize(ab, (height, width))
        lab = images_to_lab(batch)
        outputs.append(to_uint8(lab_to_images(ops.concatenate([lab[..., :1], ab], -1))))
    result = np.concatenate(outputs)
    return result[0] if single else result


def preview_columns(colorize, images, count=None):
    """`[greyscale input, colorized, original]`, uint8 arrays (N, H, W, 3).

    The first `count` images (all when None), uint8 or float in [-1, 1].
    """
    images = to_float_images(images)[:count]
    grey = to_uint8(greyscale(images))
    return [grey, np.asarray(colorize(images)), to_uint8(images)]


@keras.saving.register_keras_serializable(package="keras_ssl")
class Colorization(PretextTask):
    """Zhang et al.'s colorization around any encoder of greyscale images.

    Reference: Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016.

    Args:
        encoder: a `keras.Model` from RGB images (B, H, W, 3) in [-1, 1] to a
            feature map (B, h, w, D); it is fed the greyscale image.
            Exposed as `.encoder`.
        bins: ab bin centres (Q, 2) (a list or array), None for
            `keras_ssl.ops.ab_bins(10)`, or an int Q for a table that weights
            will fill (the authors' release carries its own 313 bins).
        objective: `"classification"` (the paper) or `"regression"` (its L2
            baseline).
        prior: a fixed prior (Q,) over the bins for the rebalancing, or None
            to estimate it during training (see the module docstring).
        rebalance: weight pixels by rarity of their colour (the paper);
            False gives the plain cross-entropy.
        mix: λ of the rebalancing weights.
        prior_momentum: momentum of the estimated prior.
        sigma, neighbours: the soft encoding's Gaussian and its support.
        temperature: the annealed mean's T for colours and metrics.
        **kwargs: `keras.Model` arguments (name, ...).

    `call(images)` returns the head's output (B, h, w, Q) (logits) or
    (B, h, w, 2) (ab / 110) for `objective="regression"`. `fit` logs
    `pretext_loss`, `pretext_accuracy` (pixels whose most likely bin is the
    target's), `color_error` (mean ab distance, Lab units) and `psnr` (dB).

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = Colorization(nin_encoder((16, 16, 3), num_blocks=3, width=8))
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['color_error', 'pretext_accuracy', 'pretext_loss', 'psnr']
    >>> model.colorize(images[:2]).shape
    (2, 16, 16, 3)
    """

    metric_names = PretextTask.metric_names + COLOR_METRICS

    def __init__(
        self,
        encoder,
        bins=None,
        objective="classification",
        prior=None,
        rebalance=True,
        mix=0.5,
        prior_momentum=0.99,
        sigma=5.0,
        neighbours=5,
        temperature=0.38,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        shape = tuple(encoder.outputs[0].shape)
        if len(shape) != 4:
            raise ValueError(
                "Colorization needs an encoder that returns a feature map "
                f"(B, h, w, D). Received: encoder output shape={shape}"
            )
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        if self.image_shape[-1] != 3:
            raise ValueError(
                "Colorization needs an encoder of RGB images (B, H, W, 3). "
                f"Received: encoder input shape={self.image_shape}"
            )
        self.objective = check_choice(
            objective, "objective", ("classification", "regression")
        )
        if isinstance(bins, int) and not isinstance(bins, bool):
            table = np.zeros((check_int(bins, "bins", minimum=2), 2), "float32")
        else:
            table = check_bins(bins)
        self.bins_config = (
            bins
            if bins is None or isinstance(bins, int)
            else (np.asarray(table).tolist())
        )
        self.num_bins = int(table.shape[0])
        self.rebalance = check_bool(rebalance, "rebalance")
        self.mix = check_number(mix, "mix", minimum=0, maximum=1)
        self.prior_momentum = check_number(
            prior_momentum, "prior_momentum", minimum=0, maximum=1
        )
        self.sigma = check_number(sigma, "sigma", minimum=0, exclusive_minimum=True)
        self.neighbours = check_int(
            neighbours, "neighbours", minimum=1, maximum=self.num_bins
        )
        self.temperature = check_number(
            temperature, "temperature", minimum=0, exclusive_minimum=True
        )
        if prior is None:
            initial = np.full((self.num_bins,), 1.0 / self.num_bins, "float32")
        else:
            initial = np.asarray(prior, "float32").reshape(-1)
            if initial.shape != (self.num_bins,) or (initial < 0).any():
                raise ValueError(
                    f"prior must be {self.num_bins} non-negative numbers, one per "
                    f"bin. Received: prior of shape {initial.shape}"
                )
            initial = initial / initial.sum()
        self.fixed_prior = None if prior is None else initial.tolist()
        self.bins = self.add_weight(
            name="bins",
            shape=(self.num_bins, 2),
            initializer=keras.initializers.Constant(np.asarray(table)),
            trainable=False,
        )
        self.prior = self.add_weight(
            name="prior",
            shape=(self.num_bins,),
            initializer=keras.initializers.Constant(initial),
            trainable=False,
            aggregation="mean",
        )
        outputs = self.num_bins if self.objective == "classification" else 2
        self.head = layers.Conv2D(outputs, 1, name="head")
        self.head.build((None, None, None, shape[-1]))

    def call(self, inputs, training=False):
        return self.head_outputs(self.batch_images(inputs), training=training)

    def head_outputs(self, images, training=False):
        """The head's output for the greyscale version of `images`."""
        features = self.encoder(greyscale(images), training=training)
        return self.head(features)

    def decode(self, outputs, temperature=None):
        """ab (B, h, w, 2), Lab units, of the head's outputs."""
        if self.objective == "regression":
            return outputs * AB_SCALE
        return annealed_mean(
            outputs, self.bins, self.temperature if temperature is None else temperature
        )

    def rebalancing_weights(self):
        """The current rebalancing weights (Q,) from the prior."""
        return rebalancing_weights(self.prior, self.mix)

    def pretext_logs(self, images, training=False):
        """Loss, bin accuracy, colour error and PSNR of a batch."""
        lab = images_to_lab(images)
        outputs = self.head_outputs(images, training=training)
        ab = resize(lab[..., 1:], tuple(outputs.shape[1:3]), "area")
        if self.objective == "classification":
            targets = soft_encode_ab(ab, self.bins, self.sigma, self.neighbours)
            weights = None
            if self.rebalance:
                if training and self.fixed_prior is None:
                    batch_prior = ops.mean(ops.reshape(targets, (-1, self.num_bins)), 0)
                    self.prior.assign(
                        self.prior_momentum * self.prior
                        + (1.0 - self.prior_momentum) * batch_prior
                    )
                weights = self.rebalancing_weights()
            loss = rebalanced_cross_entropy(targets, outputs, weights)
            hit = ops.equal(ops.argmax(outputs, -1), ops.argmax(targets, -1))
        else:
            loss = ab_regression_loss(ab / AB_SCALE, outputs)
            hit = ops.equal(
                nearest_bin(outputs * AB_SCALE, self.bins), nearest_bin(ab, self.bins)
            )
        error, psnr = color_quality(lab, ops.stop_gradient(self.decode(outputs)))
        return {
            "pretext_loss": loss,
            "pretext_accuracy": ops.mean(ops.cast(hit, "float32")),
            "color_error": error,
            "psnr": psnr,
        }

    def predict_ab(self, lightness, temperature=None):
        """ab (B, H, W, 2) predicted for L images (B, H, W, 1) in [0, 100]."""
        lightness = ops.convert_to_tensor(lightness, "float32")
        lab = ops.concatenate([lightness, ops.zeros_like(lightness)], -1)
        lab = ops.concatenate([lab, ops.zeros_like(lightness)], -1)
        outputs = self.head(self.encoder(lab_to_images(lab), training=False))
        return resize(self.decode(outputs, temperature), tuple(lightness.shape[1:3]))

    def colorize(self, images, temperature=None, batch_size=32):
        """Colour photos: uint8 RGB of the same shape as `images`.

        Args:
            images: RGB (N, H, W, 3) or (H, W, 3), uint8 in [0, 255] or float
                in [-1, 1], of any size; only their lightness is used. They
                are resized to the network's input size (if it has one), and
                the predicted ab is upsampled back and joined with the
                full-resolution L, as the authors' demo does.
            temperature: annealed-mean T (default: the model's).
            batch_size: images per forward pass.
        """

        def predict(batch):
            return self.decode(self.head_outputs(batch), temperature)

        return colorize_images(predict, images, self.image_shape[:2], batch_size)

    def preview(self, images, count=None):
        """Columns `[greyscale input, colorized, original]` of uint8 images."""
        return preview_columns(self.colorize, images, count)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bins": self.bins_config,
                "objective": self.objective,
                "prior": self.fixed_prior,
                "rebalance": self.rebalance,
                "mix": self.mix,
                "prior_momentum": self.prior_momentum,
                "sigma": self.sigma,
                "neighbours": self.neighbours,
                "temperature": self.temperature,
            }
        )
        return config


def grey_encoder(encoder, image_size, channels, encoder_config, argument="encoder"):
    """An encoder of RGB images by name (built for 3 channels) or as given."""
    if channels != 3:
        raise ValueError(
            f"Colorization methods need RGB images. Received: channels={channels}"
        )
    return build_encoder(encoder, (image_size, image_size, 3), encoder_config, argument)


def eccv16_encoder(image_size, width=1.0):
    """The ECCV16 network up to its bin classifier, on RGB images in [-1, 1]."""
    trunk = colorization_eccv16(
        (image_size, image_size, 1), width=width, include_top=False
    )
    inputs = keras.Input((image_size, image_size, 3), name="images")
    lightness = LabChannels("L", normalize=False, name="lightness")(inputs)
    return keras.Model(inputs, trunk(lightness), name="eccv16_encoder")


@register_method("colorization")
def build_colorization(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    objective="classification",
    bins=None,
    prior=None,
    rebalance=True,
    mix=0.5,
    temperature=0.38,
    sigma=5.0,
    neighbours=5,
    width=None,
):
    """Colorization with a NIN encoder by default, or the authors' network.

    Args:
        image_size: side of the square training images.
        channels: must be 3.
        encoder: `"eccv16"` (Zhang et al.'s released network, prediction at
            1/4 resolution), an encoder name (`"nin"`, `"alexnet"`,
            `"resnet18"`, ...) or a `keras.Model` of RGB images.
        encoder_config: keyword arguments of the named encoder's builder.
        objective, bins, prior, rebalance, mix, temperature, sigma,
            neighbours: see `Colorization`.
        width: channel multiplier of `"eccv16"` (1: as released).

    Example:

    >>> model = build_colorization(32, encoder_config={"width": 8, "num_blocks": 3})
    >>> tuple(model(np.zeros((1, 32, 32, 3), "float32")).shape)
    (1, 8, 8, 261)
    """
    image_size = check_int(image_size, "image_size", minimum=8)
    if encoder == "eccv16":
        if encoder_config:
            raise ValueError(
                "encoder='eccv16' takes width=, not encoder_config. "
                f"Received: encoder_config={encoder_config}"
            )
        if channels != 3:
            raise ValueError(
                f"Colorization needs RGB images. Received: channels={channels}"
            )
        network = eccv16_encoder(image_size, 1.0 if width is None else width)
    else:
        if width is not None:
            raise ValueError(
                "width applies to encoder='eccv16'; use encoder_config for "
                f"{encoder!r}. Received: width={width}"
            )
        network = grey_encoder(encoder, image_size, channels, encoder_config)
    model = Colorization(
        network,
        bins=bins,
        objective=objective,
        prior=prior,
        rebalance=rebalance,
        mix=mix,
        temperature=temperature,
        sigma=sigma,
        neighbours=neighbours,
        name="colorization",
    )
    model.compile()
    return model


__all__ = ["Colorization", "LabChannels", "build_colorization"]
