"""pix2pix: paired image-to-image translation with a conditional GAN.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017, as junyanz/pytorch-CycleGAN-and-pix2pix
trains it. With input x, target y, generator G and a PatchGAN D that sees
the input and an output concatenated along channels:

    L_D = 1/2 [ BCE(D(x, y), 1) + BCE(D(x, G(x)), 0) ]
    L_G = BCE(D(x, G(x)), 1) + lambda ||y - G(x)||_1,   lambda = 100

BCE on logits, averaged over every patch of D's output map (the
non-saturating loss of `keras_ssl.losses.gan`). G is the U-Net, D the
70x70 PatchGAN with batch norm; both Adam(2e-4, beta_1 0.5). One `fit`
step = one D update on the detached G(x), then one G update through the
updated D, as upstream. `gan_weight=0` gives the paper's L1-only ablation
(D is then not trained). The paper's batch size is 1 (and it jitters
286 -> 256 crops with flips: see `keras_ssl.data.paired`).

Inference. `translate(images)` runs G in inference mode by default:
dropout off and batch norm with its moving statistics, so an image's
translation does not depend on the rest of the batch or on chance, and the
result equals `model.generator(x)` and an exported SavedModel.
`translate(images, mode="paper")` is the paper's and the authors' test.py
choice instead: dropout on (the noise of the conditional GAN) and batch
statistics of each image alone (batch 1, as trained); it is stochastic,
seeded, and leaves the moving statistics unchanged.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.patch_discriminator import patch_discriminator
from keras_ssl.architectures.unet import unet_generator
from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import backend_step
from keras_ssl.methods.adversarial import AdversarialModel
from keras_ssl.methods.image_methods import (
    MeanTrackers,
    SubNetworks,
    check_functional,
    float_images,
    uint8_images,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.training.callbacks.nan_guard import NaNGuard
from keras_ssl.training.distribute import num_replicas
from keras_ssl.utils.imports import loaded_tensorflow
from keras_ssl.utils.validation import check_choice, check_int, check_weight

TRANSLATE_MODES = ("eval", "paper")


def to_float_images(images, name="images"):
    """(float32 images in [-1, 1], whether they came as uint8)."""
    return float_images(images, name), np.asarray(images).dtype == np.uint8


to_uint8 = uint8_images


def preview_columns(*columns):
    """uint8 columns with equal channels (greyscale repeated to RGB if mixed)."""
    columns = [to_uint8(c) for c in columns]
    if len({c.shape[-1] for c in columns}) > 1:
        columns = [np.repeat(c, 3, axis=-1) if c.shape[-1] == 1 else c for c in columns]
    return columns


def unpack_pair(data, name="the data"):
    """`(a, b)` from a batch `(a, b)`, `((a, b),)` or `a` alone (b None)."""
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is None and isinstance(x, tuple | list) and len(x) == 2:
        x, y = x
    if isinstance(x, tuple | list):
        raise ValueError(
            f"{name} must be (input, target) image pairs. Received: a tuple of {len(x)}"
        )
    return x, y


def check_pair_shapes(model, a, b, a_shape, b_shape):
    for value, shape, role in ((a, a_shape, "inputs"), (b, b_shape, "targets")):
        got = tuple(value.shape[1:]) if value is not None else None
        if got is None or len(value.shape) != 4 or got != tuple(shape):
            raise ValueError(
                f"{type(model).__name__} trains on (inputs, targets) batches "
                f"of shapes (B, {', '.join(map(str, a_shape))}) and "
                f"(B, {', '.join(map(str, b_shape))}). Received: {role} of "
                f"shape {None if value is None else tuple(value.shape)}"
            )


def first_batch(x, y):
    """The first (a, b) batch of what `fit` got, when cheaply available."""
    tf = loaded_tensorflow()
    if tf is not None and isinstance(x, tf.data.Dataset):
        return unpack_pair(next(iter(x.take(1))))
    if isinstance(x, np.ndarray) or (tf is not None and isinstance(x, tf.Tensor)):
        return x[:2], None if y is None else y[:2]
    return None


def _layers(model, kind):
    return [layer for layer in model._flatten_layers() if isinstance(layer, kind)]


def inference_state(model, dropout_seeds=False):
    """Moving BN statistics (and dropout seed states), to restore after use."""
    variables = [
        v
        for layer in _layers(model, keras.layers.BatchNormalization)
        for v in (layer.moving_mean, layer.moving_variance)
    ]
    if dropout_seeds:
        variables += [
            layer.seed_generator.state for layer in _layers(model, keras.layers.Dropout)
        ]
    return [(v, ops.convert_to_numpy(v)) for v in variables]


def _shape(model, index=0, output=False):
    tensors = model.outputs if output else model.inputs
    return tuple(int(d) for d in tensors[index].shape[1:])


@keras.saving.register_keras_serializable(package="keras_ssl")
class Pix2Pix(SubNetworks, MeanTrackers, AdversarialModel):
    """pix2pix conditional GAN trained with `model.fit` on (input, target).

    Args:
        generator: a functional `keras.Model` from input images
            (B, H, W, Cin) to output images (B, H, W, Cout) in [-1, 1].
        discriminator: a functional `keras.Model` from (B, H, W, Cin + Cout)
            (input and output concatenated) to a map (or vector) of logits.
        l1_weight: lambda of the L1 term (paper: 100).
        gan_weight: weight of G's adversarial term (1; 0 = L1 only).

    `fit` takes batches `(inputs, targets)` of float images in [-1, 1]
    (e.g. `keras_ssl.data.paired`) and logs `d_loss`, `g_loss`, `g_gan`,
    `g_l1`. `call(inputs)` is G's output.

    Example:

    >>> import numpy as np
    >>> model = build_pix2pix(32, width=4, d_width=4)
    >>> model.compile()
    >>> a = np.random.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    >>> history = model.fit(a, -a, batch_size=1, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_gan', 'g_l1', 'g_loss']
    >>> model.translate(a).shape
    (2, 32, 32, 3)
    """

    NETWORKS = ("generator", "discriminator")

    def __init__(
        self,
        generator,
        discriminator,
        l1_weight=100.0,
        gan_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = check_functional(generator, "generator")
        self.discriminator = check_functional(discriminator, "discriminator")
        self.l1_weight = check_weight(l1_weight, "l1_weight")
        self.gan_weight = check_weight(gan_weight, "gan_weight")
        self.input_shape_ = _shape(generator)
        self.output_shape_ = _shape(generator, output=True)
        expected = self.input_shape_[:-1] + (
            self.input_shape_[-1] + self.output_shape_[-1],
        )
        if _shape(discriminator) != expected:
            raise ValueError(
                "The discriminator must take input and output images "
                f"concatenated: shape (B, {', '.join(map(str, expected))}). "
                f"Received: discriminator input shape {_shape(discriminator)}"
            )
        self.track(("d_loss", "g_loss", "g_gan", "g_l1"))
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.networks_config(),
            "l1_weight": self.l1_weight,
            "gan_weight": self.gan_weight,
        }

    # ---------------------------------------------------------------- compile
    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on (inputs, targets); checks the first batch."""
        if self.g_optimizer is None:
            raise RuntimeError(
                f"{type(self).__name__} must be compiled before fit: call "
                "model.compile()."
            )
        first = first_batch(x, y)
        if first is not None:
            check_pair_shapes(self, *first, self.input_shape_, self.output_shape_)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, NaNGuard) for c in callbacks):
            callbacks.append(NaNGuard())
        return super().fit(x, y, callbacks=callbacks, **kwargs)

    # ----------------------------------------------------------------- losses
    def discriminate(self, inputs, outputs, training=False):
        """D's logits for (input, output) pairs."""
        pair = ops.concatenate([inputs, ops.cast(outputs, inputs.dtype)], axis=-1)
        return self.discriminator(pair, training=training)

    def discriminator_loss(self, inputs, targets, fakes, training=False):
        """L_D = 1/2 [BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)]."""
        real = self.discriminate(inputs, targets, training=training)
        fake = self.discriminate(inputs, fakes, training=training)
        return 0.5 * gan_losses.non_saturating_discriminator_loss(real, fake)

    def generator_loss(self, inputs, targets, fakes, training=False):
        """L_G = gan_weight BCE(D(x, G(x)), 1) + l1_weight |y - G(x)|; terms."""
        l1 = ops.mean(
            ops.abs(ops.cast(targets, "float32") - ops.cast(fakes, "float32"))
        )
        if self.gan_weight > 0:
            fake = self.discriminate(inputs, fakes, training=training)
            gan = gan_losses.non_saturating_generator_loss(fake)
        else:
            gan = ops.zeros((), "float32")
        loss = self.gan_weight * gan + self.l1_weight * l1
        return loss, {"g_gan": gan, "g_l1": l1}

    # -------------------------------------------------------------- training
    def call(self, inputs, training=False):
        inputs, _ = unpack_pair(inputs)
        return self.generator(inputs, training=training)

    def _discriminator_update(self, inputs, targets, fakes, scale):
        """One D update on detached fakes; L_D."""

        def compute():
            d_loss = self.discriminator_loss(inputs, targets, fakes, training=True)
            return self.d_optimizer.scale_loss(d_loss * scale), d_loss

        d_vars = self.discriminator.trainable_variables
        _, d_loss, gradients = backend_step.value_and_gradients(compute, d_vars)
        backend_step.apply_gradients(self.d_optimizer, gradients, d_vars)
        return d_loss

    @backend_step.stateless_on_jax
    def train_step(self, data):
        inputs, targets = unpack_pair(data)
        if targets is None:
            raise ValueError(
                "Pix2Pix trains on (inputs, targets) pairs. Received: inputs only"
            )
        inputs = ops.cast(inputs, "float32")
        targets = ops.cast(targets, "float32")
        scale = 1.0 / num_replicas()

        # G's forward pass feeds the D update, then G's loss through the
        # updated D, as upstream (one G(x) per step): the D update runs
        # inside G's gradient computation.
        def compute():
            fakes = self.generator(inputs, training=True)
            d_loss = None
            if self.gan_weight > 0:
                d_loss = self._discriminator_update(
                    inputs, targets, ops.stop_gradient(fakes), scale
                )
            g_loss, terms = self.generator_loss(inputs, targets, fakes, training=True)
            return self.g_optimizer.scale_loss(g_loss * scale), (g_loss, terms, d_loss)

        g_vars = self.generator.trainable_variables
        _, (g_loss, terms, d_loss), gradients = backend_step.value_and_gradients(
            compute, g_vars
        )
        backend_step.apply_gradients(self.g_optimizer, gradients, g_vars)
        logs = {} if d_loss is None else {"d_loss": d_loss}
        logs.update(terms, g_loss=g_loss)
        return self.record(logs)

    @backend_step.stateless_on_jax
    def test_step(self, data):
        inputs, targets = unpack_pair(data)
        fakes = self.generator(inputs, training=False)
        g_loss, terms = self.generator_loss(inputs, targets, fakes)
        d_loss = self.discriminator_loss(inputs, targets, fakes)
        return self.record({**terms, "g_loss": g_loss, "d_loss": d_loss})

    # ------------------------------------------------------------- inference
    def translate(self, images, mode="eval", seed=None, batch_size=32):
        """G's outputs for `images`: uint8 in -> uint8 out, float -> float.

        Args:
            images: (N, H, W, Cin), uint8 in [0, 255] or float in [-1, 1].
            mode: `"eval"` (default; dropout off, moving batch statistics,
                deterministic) or `"paper"` (dropout on and each image
                normalised with its own statistics, as the pix2pix paper and
                the authors' test.py; stochastic, reproducible with `seed`).
                See the module docstring.
            seed: seed of the dropout in `"paper"` mode.
            batch_size: images per forward pass in `"eval"` mode.
        """
        check_choice(mode, "mode", TRANSLATE_MODES)
        batch_size = check_int(batch_size, "batch_size")
        array, was_uint8 = to_float_images(images)
        if tuple(array.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"images must have shape (N, {', '.join(map(str, self.input_shape_))}) "
                f"(the generator's input). Received: {array.shape}"
            )
        outputs = translate_with(self.generator, array, mode, seed, batch_size)
        return to_uint8(outputs) if was_uint8 else outputs

    def preview(self, images):
        """Columns input | output | target as uint8 arrays (for sample sheets).

        A 1-channel input with a 2-channel output is read as the authors'
        colorization mode (`keras_ssl.data.paired` task `"lightness_to_ab"`:
        L in, ab out): output and target are shown as the RGB images they
        make with the input's lightness.

        Args:
            images: a batch `(inputs, targets)`, or inputs alone (then two
                columns).
        """
        inputs, targets = unpack_pair(images)
        array, _ = to_float_images(inputs)
        columns = [self.generator(array, training=False)]
        if targets is not None:
            columns.append(to_float_images(targets)[0])
        if array.shape[-1] == 1 and self.output_shape_[-1] == 2:
            # The task's colour conversion lives with its (tf.data) pipeline.
            from keras_ssl.data import paired

            columns = [paired.lab_pair_to_images(array, c) for c in columns]
        return preview_columns(array, *columns)


def translate_with(generator, array, mode, seed, batch_size):
    if mode == "eval" or len(array) == 0:
        chunks = [
            ops.convert_to_numpy(generator(array[i : i + batch_size], training=False))
            for i in range(0, len(array), batch_size)
        ]
        if not chunks:
            return np.zeros((0,) + _shape(generator, output=True), "float32")
        return np.concatenate(chunks).astype("float32")
    # A seeded call leaves the dropout seeds as they were, an unseeded one
    # advances them (fresh noise each call).
    saved = inference_state(generator, dropout_seeds=seed is not None)
    if seed is not None:
        for index, layer in enumerate(_layers(generator, keras.layers.Dropout)):
            state = layer.seed_generator.state
            state.assign(ops.cast(ops.convert_to_tensor([seed, index]), state.dtype))
    try:
        outputs = [
            ops.convert_to_numpy(generator(array[i : i + 1], training=True))
            for i in range(len(array))
        ]
    finally:
        for variable, value in saved:
            variable.assign(value)
    return np.concatenate(outputs).astype("float32")


@register_method("pix2pix")
def build_pix2pix(
    image_size=256,
    channels=3,
    output_channels=3,
    width=64,
    d_width=None,
    num_downs=None,
    d_layers=3,
    norm="batch",
    dropout=0.5,
    l1_weight=100.0,
    gan_weight=1.0,
):
    """pix2pix with the paper's U-Net G and 70x70 PatchGAN D.

    Args:
        image_size: square size of input and output (256 in the paper);
            with `num_downs=None` a power of two >= 32.
        channels: input channels (e.g. 1 for greyscale -> colour).
        output_channels: output channels (2 for the authors' colorization
            mode, L -> ab: `keras_ssl.data.paired` task `"lightness_to_ab"`).
        width, d_width: ngf and ndf (64; `d_width` defaults to `width`).
        num_downs: U-Net depth (default log2(image_size)).
        d_layers: PatchGAN stride-2 layers (3 = 70x70; at 32x32 use 2 or 3).
        norm: `"batch"` (paper) or `"instance"`, for G and D.
        dropout: U-Net decoder dropout (0.5).
        l1_weight, gan_weight: see `Pix2Pix`.

    Example:

    >>> model = build_pix2pix(32, channels=1, width=4)
    >>> model.generator.output_shape, model.discriminator.output_shape
    ((None, 32, 32, 3), (None, 2, 2, 1))
    """
    generator = unet_generator(
        image_size,
        channels,
        output_channels,
        width=width,
        num_downs=num_downs,
        norm=norm,
        dropout=dropout,
    )
    discriminator = patch_discriminator(
        image_size,
        channels + output_channels,
        width=d_width or width,
        num_layers=d_layers,
        norm=norm,
    )
    return Pix2Pix(
        generator,
        discriminator,
        l1_weight=l1_weight,
        gan_weight=gan_weight,
        name="pix2pix",
    )
