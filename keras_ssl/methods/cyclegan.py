"""CycleGAN: unpaired image-to-image translation with cycle consistency.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017, as
junyanz/pytorch-CycleGAN-and-pix2pix trains it. Two generators G: A -> B and
F: B -> A, two PatchGANs D_A (judges domain A) and D_B (judges domain B),
least-squares GAN losses (LSGAN, Mao et al. 2017):

    L_G = (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2
          + lambda (|F(G(a)) - a| + |G(F(b)) - b|)                 (cycle)
          + lambda_idt lambda (|G(b) - b| + |F(a) - a|)          (identity)
    L_D_B = 1/2 [(D_B(b) - 1)^2 + D_B(pool_B(G(a)))^2], L_D_A likewise,

means over pixels and patches; lambda = 10, lambda_idt = 0.5. G's LSGAN
term is upstream's MSE (twice `keras_ssl.losses.gan`'s halved
least-squares generator loss). D trains on a pool of the last 50 generated
images (`keras_ssl.layers.ImagePool`). One Adam(2e-4, beta_1 0.5) updates
both generators and one both discriminators; one `fit` step = one G update,
then one D update, as upstream. The learning rate is constant, then decays
linearly to 0 (`LinearDecay`; the paper: 100 + 100 epochs).

Upstream names the discriminator of domain B "D_A" (it judges G_A's
outputs); here `discriminator_b` judges domain B.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.cyclegan_resnet import cyclegan_resnet_generator
from keras_ssl.architectures.patch_discriminator import patch_discriminator
from keras_ssl.layers.image_pool import ImagePool
from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import backend_step
from keras_ssl.methods.adversarial import AdversarialModel
from keras_ssl.methods.image_methods import (
    MeanTrackers,
    SubNetworks,
    check_functional,
)
from keras_ssl.methods.pix2pix import (
    _shape,
    check_pair_shapes,
    first_batch,
    preview_columns,
    to_float_images,
    to_uint8,
    translate_with,
    unpack_pair,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.training.callbacks.nan_guard import NaNGuard
from keras_ssl.training.distribute import num_replicas
from keras_ssl.utils.validation import check_choice, check_int, check_number

PAPER_LEARNING_RATE = 2e-4
DIRECTIONS = ("a_to_b", "b_to_a")


@keras.saving.register_keras_serializable(package="keras_ssl")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate, then a linear decay to 0 (CycleGAN, pix2pix).

        lr(step) = initial * min(1, max(0, 1 - (step - constant_steps)
                                             / decay_steps))

    so lr is `initial` for the first `constant_steps` steps and reaches 0
    after `constant_steps + decay_steps`. The paper: 100 epochs constant,
    100 decaying; upstream decays once per epoch (by 1 / (decay epochs + 1)),
    this schedule every step.

    Args:
        initial_learning_rate: the constant value (paper: 2e-4).
        constant_steps: steps before the decay starts.
        decay_steps: steps of the decay (>= 1).

    Example:

    >>> schedule = LinearDecay(2e-4, constant_steps=100, decay_steps=100)
    >>> [round(float(schedule(s)), 6) for s in (0, 100, 150, 200, 300)]
    [0.0002, 0.0002, 0.0001, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps):
        self.initial_learning_rate = check_number(
            initial_learning_rate, "initial_learning_rate", minimum=0
        )
        self.constant_steps = check_int(constant_steps, "constant_steps", minimum=0)
        self.decay_steps = check_int(decay_steps, "decay_steps")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        progress = (step - self.constant_steps) / self.decay_steps
        factor = ops.clip(1.0 - progress, 0.0, 1.0)
        return self.initial_learning_rate * factor

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


def paper_adam(constant_steps=None, decay_steps=None):
    """Adam(2e-4, 0.5, 0.999), with `LinearDecay` when both steps are given."""
    learning_rate = PAPER_LEARNING_RATE
    if constant_steps is not None or decay_steps is not None:
        if constant_steps is None or decay_steps is None:
            raise ValueError(
                "The linear decay needs both constant_steps and decay_steps. "
                f"Received: constant_steps={constant_steps!r}, "
                f"decay_steps={decay_steps!r}"
            )
        learning_rate = LinearDecay(PAPER_LEARNING_RATE, constant_steps, decay_steps)
    return keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.999)


def _l1(x, y):
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(y, "float32")))


@keras.saving.register_keras_serializable(package="keras_ssl")
class CycleGAN(SubNetworks, MeanTrackers, AdversarialModel):
    """CycleGAN trained with `model.fit` on (a, b) batches of two domains.

    Args:
        generator_ab, generator_ba: functional `keras.Model`s A -> B, B -> A
            (images in [-1, 1]).
        discriminator_a, discriminator_b: functional `keras.Model`s judging
            images of domain A and of domain B (logit maps).
        cycle_weight: lambda of the cycle losses (10).
        identity_weight: lambda_idt, relative to `cycle_weight` (0.5; 0
            turns the identity loss off; it needs equal channels in A, B).
        pool_size: images in each discriminator's pool (50; 0: none).
        seed: seed of the pools' draws.

    `.generator` is `generator_ab`. `fit` takes `(a, b)` batches (unpaired:
    any a with any b) and logs `d_loss`, `g_loss`, `g_gan`, `cycle`,
    `identity`. `call(a)` is G(a).

    Example:

    >>> import numpy as np
    >>> model = build_cyclegan(32, width=4, num_blocks=1, pool_size=4)
    >>> model.compile()
    >>> a = np.random.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    >>> history = model.fit(a, -a, batch_size=1, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['cycle', 'd_loss', 'g_gan', 'g_loss', 'identity']
    >>> model.translate(a, direction="b_to_a").shape
    (2, 32, 32, 3)
    """

    NETWORKS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        cycle_weight=10.0,
        identity_weight=0.5,
        pool_size=50,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator_ab = check_functional(generator_ab, "generator_ab")
        self.generator_ba = check_functional(generator_ba, "generator_ba")
        self.discriminator_a = check_functional(discriminator_a, "discriminator_a")
        self.discriminator_b = check_functional(discriminator_b, "discriminator_b")
        self.cycle_weight = check_number(cycle_weight, "cycle_weight", minimum=0)
        self.identity_weight = check_number(
            identity_weight, "identity_weight", minimum=0
        )
        self.pool_size = check_int(pool_size, "pool_size", minimum=0)
        self.seed = seed
        self.shape_a = _shape(generator_ab)
        self.shape_b = _shape(generator_ab, output=True)
        checks = (
            ("generator_ba input", _shape(generator_ba), self.shape_b),
            ("generator_ba output", _shape(generator_ba, output=True), self.shape_a),
            ("discriminator_a input", _shape(discriminator_a), self.shape_a),
            ("discriminator_b input", _shape(discriminator_b), self.shape_b),
        )
        for what, got, expected in checks:
            if got != expected:
                raise ValueError(
                    f"CycleGAN's networks must agree on the domains' shapes: "
                    f"{what} should be {expected} (from generator_ab). "
                    f"Received: {got}"
                )
        if self.identity_weight > 0 and self.shape_a != self.shape_b:
            raise ValueError(
                "The identity loss feeds domain B images to G: A -> B, so it "
                "needs equal shapes in A and B; pass identity_weight=0. "
                f"Received: A {self.shape_a}, B {self.shape_b}"
            )
        seeds = (None, None) if seed is None else (seed, seed + 1)
        self.pool_a = ImagePool(pool_size, seed=seeds[0], name="pool_a")
        self.pool_b = ImagePool(pool_size, seed=seeds[1], name="pool_b")
        self.pool_a.build((None,) + self.shape_a)
        self.pool_b.build((None,) + self.shape_b)
        self.track(("d_loss", "g_loss", "g_gan", "cycle", "identity"))
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    @property
    def generator(self):
        """`generator_ab`, the A -> B translator."""
        return self.generator_ab

    @property
    def generator_variables(self):
        return (
            self.generator_ab.trainable_variables
            + self.generator_ba.trainable_variables
        )

    @property
    def discriminator_variables(self):
        return (
            self.discriminator_a.trainable_variables
            + self.discriminator_b.trainable_variables
        )

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(self.networks_config())
        config.update(
            cycle_weight=self.cycle_weight,
            identity_weight=self.identity_weight,
            pool_size=self.pool_size,
            seed=self.seed,
        )
        return config

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        constant_steps=None,
        decay_steps=None,
        **kwargs,
    ):
        """One optimizer for both G, one for both D.

        Default: the paper's Adam(2e-4, 0.5, 0.999), constant, or with
        `constant_steps` and `decay_steps` a `LinearDecay` schedule (the
        paper: 100 epochs each, in steps).
        """
        super().compile(
            g_optimizer=g_optimizer or paper_adam(constant_steps, decay_steps),
            d_optimizer=d_optimizer or paper_adam(constant_steps, decay_steps),
            **kwargs,
        )

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on (a, b) batches; checks the first batch."""
        if self.g_optimizer is None:
            raise RuntimeError(
                "CycleGAN must be compiled before fit: call model.compile()."
            )
        first = first_batch(x, y)
        if first is not None:
            check_pair_shapes(self, *first, self.shape_a, self.shape_b)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, NaNGuard) for c in callbacks):
            callbacks.append(NaNGuard())
        return super().fit(x, y, callbacks=callbacks, **kwargs)

    # ----------------------------------------------------------------- losses
    def generator_loss(self, real_a, real_b, training=False):
        """L_G and its terms (`g_gan`, `cycle`, `identity`), in `keras.ops`."""
        fake_b = self.generator_ab(real_a, training=training)
        fake_a = self.generator_ba(real_b, training=training)
        rec_a = self.generator_ba(fake_b, training=training)
        rec_b = self.generator_ab(fake_a, training=training)
        # Upstream's LSGAN generator term is the unhalved MSE.
        gan = 2.0 * (
            gan_losses.least_squares_generator_loss(
                self.discriminator_b(fake_b, training=training)
            )
            + gan_losses.least_squares_generator_loss(
                self.discriminator_a(fake_a, training=training)
            )
        )
        cycle = self.cycle_weight * (_l1(rec_a, real_a) + _l1(rec_b, real_b))
        identity = ops.zeros((), "float32")
        if self.identity_weight > 0:
            identity = (
                self.identity_weight
                * self.cycle_weight
                * (
                    _l1(self.generator_ab(real_b, training=training), real_b)
                    + _l1(self.generator_ba(real_a, training=training), real_a)
                )
            )
        terms = {"g_gan": gan, "cycle": cycle, "identity": identity}
        return gan + cycle + identity, terms, (fake_a, fake_b)

    def discriminator_loss(self, real_a, real_b, fake_a, fake_b, training=False):
        """L_D_A + L_D_B (LSGAN, each halved) on real and (pooled) fakes."""
        loss_a = gan_losses.least_squares_discriminator_loss(
            self.discriminator_a(real_a, training=training),
            self.discriminator_a(fake_a, training=training),
        )
        loss_b = gan_losses.least_squares_discriminator_loss(
            self.discriminator_b(real_b, training=training),
            self.discriminator_b(fake_b, training=training),
        )
        return loss_a + loss_b

    # -------------------------------------------------------------- training
    def call(self, inputs, training=False):
        real_a, _ = unpack_pair(inputs)
        return self.generator_ab(real_a, training=training)

    def _minimize(self, optimizer, variables, compute_loss, scale):
        """One update of `variables` on `compute_loss() -> (loss, aux)`."""

        def compute():
            loss, aux = compute_loss()
            return optimizer.scale_loss(loss * scale), (loss, aux)

        _, (loss, aux), gradients = backend_step.value_and_gradients(compute, variables)
        backend_step.apply_gradients(optimizer, gradients, variables)
        return loss, aux

    @backend_step.stateless_on_jax
    def train_step(self, data):
        real_a, real_b = unpack_pair(data)
        if real_b is None:
            raise ValueError(
                "CycleGAN trains on (a, b) batches of both domains. Received: "
                "one domain only"
            )
        real_a = ops.cast(real_a, "float32")
        real_b = ops.cast(real_b, "float32")
        scale = 1.0 / num_replicas()

        def generator_loss():
            g_loss, terms, fakes = self.generator_loss(real_a, real_b, training=True)
            return g_loss, (terms, fakes)

        g_loss, (terms, (fake_a, fake_b)) = self._minimize(
            self.g_optimizer, self.generator_variables, generator_loss, scale
        )
        fake_a = self.pool_a(ops.stop_gradient(fake_a), training=True)
        fake_b = self.pool_b(ops.stop_gradient(fake_b), training=True)

        def discriminator_loss():
            loss = self.discriminator_loss(
                real_a, real_b, fake_a, fake_b, training=True
            )
            return loss, None

        d_loss, _ = self._minimize(
            self.d_optimizer, self.discriminator_variables, discriminator_loss, scale
        )
        return self.record({**terms, "g_loss": g_loss, "d_loss": d_loss})

    # ------------------------------------------------------------- inference
    def translate(self, images, direction="a_to_b", batch_size=32):
        """Translate `images`: uint8 in -> uint8 out, float in [-1, 1] -> float.

        Runs the generator in inference mode; with instance norm (no running
        statistics) and no dropout, as CycleGAN trains, that is exactly the
        training-mode output and the authors' test.py result.

        Args:
            images: (N, H, W, C) of domain A (`"a_to_b"`) or B (`"b_to_a"`).
            direction: `"a_to_b"` (G) or `"b_to_a"` (F).
            batch_size: images per forward pass.
        """
        check_choice(direction, "direction", DIRECTIONS)
        batch_size = check_int(batch_size, "batch_size")
        generator = self.generator_ab if direction == "a_to_b" else self.generator_ba
        expected = _shape(generator)
        array, was_uint8 = to_float_images(images)
        if tuple(array.shape[1:]) != expected:
            raise ValueError(
                f"images for direction={direction!r} must have shape "
                f"(N, {', '.join(map(str, expected))}). Received: {array.shape}"
            )
        outputs = translate_with(generator, array, "eval", None, batch_size)
        return to_uint8(outputs) if was_uint8 else outputs

    def preview(self, images):
        """Columns input | output | target as uint8 arrays (for sample sheets).

        Unpaired data has no target, so the third column is the cycle
        reconstruction F(G(a)); with a batch `(a, b)` the rows of b follow,
        translated the other way: b | F(b) | G(F(b)).
        """
        real_a, real_b = unpack_pair(images)
        rows = [(real_a, self.generator_ab, self.generator_ba)]
        if real_b is not None:
            rows.append((real_b, self.generator_ba, self.generator_ab))
        columns = [[], [], []]
        for real, forward, backward in rows:
            array, _ = to_float_images(real)
            fake = forward(array, training=False)
            for column, value in zip(columns, (array, fake, backward(fake))):
                column.append(value)
        flat = preview_columns(*[value for column in columns for value in column])
        per_column = len(rows)
        columns = [flat[i : i + per_column] for i in range(0, len(flat), per_column)]
        return [np.concatenate(c) for c in columns]


@register_method("cyclegan")
def build_cyclegan(
    image_size=256,
    channels=3,
    output_channels=None,
    width=64,
    d_width=None,
    num_blocks=None,
    d_layers=3,
    norm="instance",
    dropout=0.0,
    cycle_weight=10.0,
    identity_weight=0.5,
    pool_size=50,
    seed=None,
):
    """CycleGAN with the paper's ResNet generators and 70x70 PatchGANs.

    Args:
        image_size: square size of both domains (a multiple of 4; 256 or
            128 in the paper).
        channels: channels of domain A; `output_channels` of domain B
            (default: the same).
        width, d_width: ngf and ndf (64; `d_width` defaults to `width`).
        num_blocks: residual blocks (default 9 from 256 up, else 6).
        d_layers: PatchGAN stride-2 layers (3 = 70x70).
        norm: `"instance"` (paper) or `"batch"`.
        dropout: dropout in the residual blocks (CycleGAN: 0).
        cycle_weight, identity_weight, pool_size, seed: see `CycleGAN`.

    Example:

    >>> model = build_cyclegan(32, width=4, num_blocks=2)
    >>> model.discriminator_b.output_shape
    (None, 2, 2, 1)
    """
    output_channels = channels if output_channels is None else output_channels
    if num_blocks is None:
        num_blocks = 9 if check_int(image_size, "image_size") >= 256 else 6
    d_width = d_width or width

    def generator(source, target, name):
        return cyclegan_resnet_generator(
            image_size,
            source,
            target,
            width=width,
            num_blocks=num_blocks,
            norm=norm,
            dropout=dropout,
            name=name,
        )

    def discriminator(channels_in, name):
        return patch_discriminator(
            image_size,
            channels_in,
            width=d_width,
            num_layers=d_layers,
            norm=norm,
            name=name,
        )

    return CycleGAN(
        generator(channels, output_channels, "generator_ab"),
        generator(output_channels, channels, "generator_ba"),
        discriminator(channels, "discriminator_a"),
        discriminator(output_channels, "discriminator_b"),
        cycle_weight=cycle_weight,
        identity_weight=identity_weight if channels == output_channels else 0.0,
        pool_size=pool_size,
        seed=seed,
        name="cyclegan",
    )
