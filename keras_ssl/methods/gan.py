"""GAN: unconditional adversarial training with `model.fit`.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, with the
ResNet networks of SN-GAN (Miyato et al., ICLR 2018) as compare_gan trains
them (Kurach, Lucic et al., "A Large-Scale Study on Regularization and
Normalization in GANs", ICML 2019).

Objective, with D's logit `D(x)`, G's image `G(z)`, z ~ N(0, I):

    L_D = E_x[f_real(D(x))] + E_z[f_fake(D(G(z)))] (+ lambda * GP for WGAN-GP)
    L_G = E_z[g(D(G(z)))]

where (f_real, f_fake, g) are the chosen loss's terms (`keras_ssl.losses`):
non-saturating (softplus(-t), softplus(t), softplus(-t)), hinge (relu(1-t),
relu(1+t), -t), least-squares or Wasserstein.

One `model.fit` step is one generator update after `n_disc` discriminator
updates. As in compare_gan, the real batch is split into `n_disc` equal
sub-batches, one per discriminator update, so each D update sees fresh real
images; each update draws fresh noise of the sub-batch size, and the G update
draws noise for one sub-batch. The paper's CIFAR setting (D batch 64, 5 D
steps) is therefore a dataset batch of 320 with `n_disc=5`. The batch must be
divisible by `n_disc` (checked on the first batch before training; a smaller
final batch of an epoch loses its `batch % n_disc` last images).
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.gan_networks import gan_networks
from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import backend_step
from keras_ssl.methods.adversarial import AdversarialModel
from keras_ssl.methods.registry import register_method
from keras_ssl.training import ema as ema_lib
from keras_ssl.training.callbacks.nan_guard import NaNGuard
from keras_ssl.training.distribute import num_replicas, replica_share
from keras_ssl.utils.imports import loaded_tensorflow
from keras_ssl.utils.validation import check_int, check_weight


def _slice_outputs(outputs, start, stop=None):
    return {name: value[start:stop] for name, value in outputs.items()}


@keras.saving.register_keras_serializable(package="keras_ssl")
class GAN(AdversarialModel):
    """Unconditional GAN trained with `model.fit` (see the module docstring).

    Args:
        generator: a `keras.Model` from z (B, z_dim) to images in [-1, 1].
        discriminator: a `keras.Model` from images to a dict with "logits"
            (B, 1) (or to the logits tensor itself).
        loss: "non_saturating" (default, compare_gan CIFAR), "hinge",
            "least_squares" or "wasserstein".
        n_disc: discriminator updates per generator update.
        gp_weight: weight of the WGAN-GP gradient penalty on interpolates of
            real and fake images; defaults to 10 for "wasserstein", else 0.
        ema_decay: if set (e.g. 0.9999, compare_gan's BigGAN / S3GAN), keep
            an exponential moving average of G's weights in `ema_generator`
            (`keras_ssl.training.ema`); `generate` samples from it.
        ema_start_step: G updates up to this one copy G's weights into the
            average instead of averaging them (compare_gan's default and its
            BigGAN / S3GAN runs: 40,000; 0 averages from the first update).
        standing_statistics_batches: before sampling from the average
            (`generate`, and so FID / IS), its batch-norm statistics are
            recomputed from its own weights on this many batches of 64
            generated samples (`keras_ssl.training.ema.refresh_statistics`),
            once per training step reached; 0 keeps the raw G's statistics.
        seed: seed of the noise drawn in training.

    Example:

    >>> from keras_ssl.architectures.dcgan import dcgan_generator, dcgan_discriminator
    >>> gan = GAN(dcgan_generator(16, 8, 4), dcgan_discriminator(16, 4))
    >>> gan.compile()
    >>> gan.generate(2, seed=0).shape
    (2, 16, 16, 3)
    """

    def __init__(
        self,
        generator,
        discriminator,
        loss="non_saturating",
        n_disc=1,
        gp_weight=None,
        ema_decay=None,
        seed=None,
        ema_start_step=ema_lib.COMPARE_GAN_EMA_START_STEP,
        standing_statistics_batches=50,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, model in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
                raise TypeError(
                    f"{name} must be a built keras.Model (functional). "
                    f"Received: {name}={model!r}"
                )
        self.generator = generator
        self.discriminator = discriminator
        self.gan_loss = gan_losses.check_gan_loss(loss)
        self.n_disc = check_int(n_disc, "n_disc")
        if gp_weight is None:
            gp_weight = 10.0 if loss == "wasserstein" else 0.0
        self.gp_weight = check_weight(gp_weight, "gp_weight")
        ema_decay, ema_start_step, standing_statistics_batches = (
            ema_lib.check_ema_options(
                ema_decay, ema_start_step, standing_statistics_batches
            )
        )
        self.ema_decay = ema_decay
        self.ema_start_step = ema_start_step
        self.standing_statistics_batches = standing_statistics_batches
        self.seed = seed
        self.z_dim = int(generator.inputs[0].shape[-1])
        self.image_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])
        d_shape = tuple(discriminator.inputs[0].shape[1:])
        if d_shape != self.image_shape:
            raise ValueError(
                "The discriminator must take the generator's images. Received: "
                f"generator output shape {self.image_shape}, discriminator input "
                f"shape {d_shape}"
            )
        self.num_classes = None
        if type(self) is GAN and (
            len(generator.inputs) > 1 or len(discriminator.inputs) > 1
        ):
            raise ValueError(
                "GAN is unconditional: its generator takes z only and its "
                "discriminator images only; use ConditionalGAN or S3GAN for "
                "class-conditional networks. Received: generator inputs "
                f"{len(generator.inputs)}, discriminator inputs "
                f"{len(discriminator.inputs)}"
            )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        # The training step at which the EMA generator's statistics were last
        # computed from its own weights (`sampling_generator`).
        self._statistics_step = 0
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in self._tracked_names()
        }
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    # ----------------------------------------------------------------- config
    @property
    def conditional_generator(self):
        return len(self.generator.inputs) > 1

    @property
    def conditional_discriminator(self):
        return len(self.discriminator.inputs) > 1

    def _tracked_names(self):
        names = ["d_loss", "g_loss"]
        if self.gp_weight > 0:
            names.append("gradient_penalty")
        return names

    @property
    def metrics(self):
        return list(self.trackers.values())

    def batch_multiple(self):
        """The training batch must be a multiple of this."""
        return self.n_disc

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "loss": self.gan_loss,
            "n_disc": self.n_disc,
            "gp_weight": self.gp_weight,
            "ema_decay": self.ema_decay,
            "ema_start_step": self.ema_start_step,
            "standing_statistics_batches": self.standing_statistics_batches,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # ------------------------------------------------------------------ data
    def _unpack(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(images, (tuple, list)) and labels is None and len(images) == 2:
            images, labels = images
        return images, labels

    def check_labels(self, labels, check_values):
        """Raise a clear error when labels are missing or out of range.

        The unconditional GAN ignores labels; the conditional methods
        (`ConditionalGAN`, `S3GAN`) check them against `num_classes`.
        `check_values` is False inside the traced train step, where only
        the presence of labels can be checked.
        """

    def generation_labels(self, n, labels, rng):
        """Labels for `generate(n, labels)`: None for an unconditional G."""
        if labels is not None:
            raise ValueError(
                f"{type(self).__name__}'s generator is unconditional; labels must "
                f"be None. Received: labels of shape {np.shape(labels)}"
            )
        return None

    def check_batch(self, images, labels=None):
        """Validate one training batch (shapes, batch size, labels).

        `fit` calls it on the first batch, so that bad data fails before the
        first step with an error naming the problem.
        """
        shape = tuple(images.shape)
        if len(shape) != 4 or tuple(shape[1:]) != self.image_shape:
            raise ValueError(
                f"{type(self).__name__} expects image batches of shape "
                f"(B, {', '.join(str(d) for d in self.image_shape)}) (the "
                f"generator's output). Received: images of shape {shape}"
            )
        batch = shape[0]
        multiple = self.batch_multiple()
        if batch is not None and batch % multiple:
            raise ValueError(
                f"{type(self).__name__} needs a batch size divisible by "
                f"{multiple} ({self._multiple_reason()}). "
                f"Received: batch_size={batch}"
            )
        self.check_labels(labels, check_values=True)

    def _multiple_reason(self):
        return f"n_disc={self.n_disc} equal sub-batches"

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`; checks the first batch and adds a `NaNGuard`.

        A loss that becomes NaN or Inf stops `fit` with a
        `NonFiniteLossError` naming the loss and the step (the recipe runner
        passes its own `NaNGuard`, which knows the checkpoint folder).
        """
        if self.g_optimizer is None:
            raise RuntimeError(
                f"{type(self).__name__} must be compiled before fit: call "
                "model.compile() (optionally with g_optimizer= and d_optimizer=)."
            )
        first = self._first_batch(x, y, kwargs.get("batch_size"))
        if first is not None:
            self.check_batch(*first)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, NaNGuard) for c in callbacks):
            callbacks.append(NaNGuard())
        return super().fit(x, y, callbacks=callbacks, **kwargs)

    def _first_batch(self, x, y, batch_size):
        tf = loaded_tensorflow()
        if tf is not None and isinstance(x, tf.data.Dataset):
            element = next(iter(x.take(1)))
            images, labels = self._unpack(element)
            return images, labels
        if isinstance(x, np.ndarray) or (tf is not None and isinstance(x, tf.Tensor)):
            size = batch_size or 32
            labels = None if y is None else np.asarray(y)[:size]
            return x[:size], labels
        return None

    # ------------------------------------------------------------ networks
    def sample_inputs(self, batch_size):
        """Noise (and labels, for a conditional G) for `batch_size` fakes.

        Under a distribution strategy, `batch_size` is this replica's share
        and the values are this replica's slice of the global batch's draw.
        """
        z = replica_share(
            lambda n: keras.random.normal((n, self.z_dim), seed=self.seed_generator),
            batch_size,
        )
        labels = None
        if self.num_classes is not None:
            labels = replica_share(
                lambda n: keras.random.randint(
                    (n,), 0, self.num_classes, seed=self.seed_generator, dtype="int32"
                ),
                batch_size,
            )
        return z, labels

    def generate_images(self, z, labels=None, training=False, generator=None):
        """Images in [-1, 1] from noise (and labels) with `generator` (G)."""
        generator = generator or self.generator
        if self.conditional_generator:
            return generator([z, labels], training=training)
        return generator(z, training=training)

    def discriminate(self, images, labels=None, training=False):
        """D's outputs as a dict (with at least "logits")."""
        if self.conditional_discriminator:
            if labels is None:
                labels = ops.zeros((ops.shape(images)[0],), "int32")
            outputs = self.discriminator(
                [images, ops.cast(labels, "int32")], training=training
            )
        else:
            outputs = self.discriminator(images, training=training)
        if not isinstance(outputs, dict):
            outputs = {"logits": outputs}
        return outputs

    def call(self, inputs, training=False):
        """D's real/fake logits for a training batch (images or (images, labels))."""
        images, labels = self._unpack(inputs)
        return self.discriminate(images, labels, training=training)["logits"]

    # ---------------------------------------------------------------- losses
    def discriminator_loss(
        self,
        real_images,
        fake_images,
        real_labels=None,
        fake_labels=None,
        input_gradients=None,
        training=False,
    ):
        """D's loss `L_D` and its terms (a dict), in `keras.ops`.

        Real, fake and auxiliary images (`auxiliary_inputs`) go through D in
        one call (as compare_gan does), so spectral norm's power iteration
        advances once per update. `input_gradients` are D's input gradients
        at interpolated images for the gradient penalty (computed by the
        train step).
        """
        batch = ops.shape(real_images)[0]
        auxiliary = self.auxiliary_inputs(real_images, real_labels)
        images = [real_images, fake_images]
        labels = [real_labels, fake_labels]
        if auxiliary is not None:
            images.append(auxiliary[0])
            labels.append(auxiliary[1])
        outputs = self.discriminate(
            ops.concatenate(images, axis=0),
            self._concat_labels(*labels),
            training=training,
        )
        logits = outputs["logits"]
        adversarial = gan_losses.discriminator_loss(
            logits[:batch], logits[batch : 2 * batch], self.gan_loss
        )
        terms = {"d_adversarial_loss": adversarial}
        total = adversarial
        if auxiliary is not None:
            extra, extra_terms = self.auxiliary_discriminator_loss(
                _slice_outputs(outputs, 2 * batch), auxiliary[2]
            )
            total = total + extra
            terms.update(extra_terms)
        if input_gradients is not None:
            penalty = gan_losses.gradient_penalty(input_gradients)
            terms["gradient_penalty"] = penalty
            total = total + self.gp_weight * penalty
        extra, extra_terms = self.extra_discriminator_loss(outputs, batch, real_labels)
        terms.update(extra_terms)
        return total + extra, terms

    def generator_loss(self, fake_images, fake_labels=None, training=False):
        """G's loss `L_G` on generated images and its terms, in `keras.ops`."""
        batch = ops.shape(fake_images)[0]
        auxiliary = self.auxiliary_inputs(fake_images, fake_labels)
        images, labels = fake_images, fake_labels
        if auxiliary is not None:
            images = ops.concatenate([fake_images, auxiliary[0]], axis=0)
            labels = self._concat_labels(fake_labels, auxiliary[1])
        outputs = self.discriminate(images, labels, training=training)
        loss = gan_losses.generator_loss(outputs["logits"][:batch], self.gan_loss)
        terms = {"g_adversarial_loss": loss}
        if auxiliary is not None:
            extra, extra_terms = self.auxiliary_generator_loss(
                _slice_outputs(outputs, batch), auxiliary[2]
            )
            loss = loss + extra
            terms.update(extra_terms)
        return loss, terms

    # Hooks of the self-supervised / semi-supervised subclasses: the base
    # GAN has no auxiliary task and no extra terms.
    def auxiliary_inputs(self, images, labels):
        """Extra images D sees with a batch: `(images, labels, targets)` or None."""
        return None

    def auxiliary_discriminator_loss(self, outputs, targets):
        """Weighted D loss on the auxiliary images' outputs, and its terms."""
        return 0.0, {}

    def auxiliary_generator_loss(self, outputs, targets):
        """Weighted G loss on the auxiliary images' outputs, and its terms."""
        return 0.0, {}

    def extra_discriminator_loss(self, outputs, batch, real_labels):
        """Further D terms on the real images (the first `batch` outputs)."""
        return 0.0, {}

    @staticmethod
    def _concat_labels(*labels):
        if any(label is None for label in labels):
            return None
        return ops.concatenate([ops.cast(label, "int32") for label in labels], axis=0)

    # ------------------------------------------------------------ training
    def _input_gradients(self, real, fake, labels):
        """D's gradients w.r.t. interpolated images (WGAN-GP), differentiable."""
        alpha = replica_share(
            lambda n: keras.random.uniform((n,), seed=self.seed_generator),
            ops.shape(real)[0],
        )
        points = gan_losses.interpolate(real, fake, alpha)

        def total(points):
            return ops.sum(self.discriminate(points, labels, training=True)["logits"])

        return backend_step.input_gradients(total, points)

    def _split(self, images, labels):
        if self.n_disc == 1:
            return [(images, labels)]
        size = ops.shape(images)[0] // self.n_disc
        parts = []
        for i in range(self.n_disc):
            part_labels = None if labels is None else labels[i * size : (i + 1) * size]
            parts.append((images[i * size : (i + 1) * size], part_labels))
        return parts

    def _minimize(self, optimizer, variables, compute_loss):
        """One update of `variables` on `compute_loss() -> (loss, terms)`.

        The per-replica mean loss is divided by the number of replicas, as
        the replicas' gradients are summed, and scaled by the optimizer
        (`LossScaleOptimizer` under `mixed_float16`; the identity otherwise)
        inside the tape, so that small float16 gradients do not flush to 0.
        Gradients and the update come from `backend_step` (a
        `tf.GradientTape` on TensorFlow, `jax.value_and_grad` on JAX).
        """

        def scaled_loss():
            loss, terms = compute_loss()
            return optimizer.scale_loss(loss / num_replicas()), (loss, terms)

        _, (loss, terms), gradients = backend_step.value_and_gradients(
            scaled_loss, variables
        )
        backend_step.apply_gradients(optimizer, gradients, variables)
        return loss, terms

    def _update_trackers(self, values):
        # A term may come with "<name>_weight" (e.g. the number of labelled
        # images behind an accuracy), so that the epoch mean weighs by it.
        for name, tracker in self.trackers.items():
            if name in values:
                tracker.update_state(
                    values[name], sample_weight=values.get(f"{name}_weight")
                )

    def discriminator_step(self, real, real_labels=None):
        """One D update on a real (sub-)batch with fresh fakes; returns the logs."""
        z, fake_labels = self.sample_inputs(ops.shape(real)[0])
        fake = ops.stop_gradient(self.generate_images(z, fake_labels, training=True))

        def compute_loss():
            gradients = None
            if self.gp_weight > 0:
                gradients = self._input_gradients(real, fake, real_labels)
            return self.discriminator_loss(
                real, fake, real_labels, fake_labels, gradients, training=True
            )

        loss, terms = self._minimize(
            self.d_optimizer, self.discriminator.trainable_variables, compute_loss
        )
        return {**terms, "d_loss": loss}

    def generator_step(self, batch_size):
        """One G update on `batch_size` fresh fakes; returns the logs."""
        z, fake_labels = self.sample_inputs(batch_size)

        def compute_loss():
            fake = self.generate_images(z, fake_labels, training=True)
            return self.generator_loss(fake, fake_labels, training=True)

        loss, terms = self._minimize(
            self.g_optimizer, self.generator.trainable_variables, compute_loss
        )
        if self.ema_generator is not None:
            self._update_ema()
        return {**terms, "g_loss": loss}

    @backend_step.stateless_on_jax
    def train_step(self, data):
        images, labels = self._unpack(data)
        images = ops.cast(images, "float32")
        if keras.backend.backend() == "tensorflow":
            # Some pipelines lose the static image shape; the rotations need it.
            images = loaded_tensorflow().ensure_shape(
                images, (None,) + self.image_shape
            )
        self.check_labels(labels, check_values=False)
        labels = self.prepare_labels(images, labels)
        logs = {}
        for real, real_labels in self._split(images, labels):
            logs.update(self.discriminator_step(real, real_labels))
        logs.update(self.generator_step(ops.shape(real)[0]))
        self._update_trackers(logs)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def prepare_labels(self, images, labels):
        """Labels as the losses use them (S3GAN hides some); int32 or None."""
        if labels is None or self.num_classes is None:
            return None
        return ops.cast(labels, "int32")

    def _update_ema(self):
        """Average G into `ema_generator` after G's update (`training.ema`)."""
        ema_lib.update_average(
            self.ema_generator,
            self.generator,
            self.ema_decay,
            self.g_optimizer.iterations,
            self.ema_start_step,
        )

    # ------------------------------------------------------------ sampling
    def training_step_count(self):
        """G updates so far (the generator optimizer's `iterations`)."""
        if self.g_optimizer is None:
            return 0
        return int(ops.convert_to_numpy(self.g_optimizer.iterations))

    def refresh_ema_statistics(self):
        """Recompute `ema_generator`'s batch-norm statistics from its weights.

        `standing_statistics_batches` batches of 64 samples (z ~ N(0, I),
        uniform labels for a conditional G), always the same ones; see
        `keras_ssl.training.ema.refresh_statistics`. Returns the number of
        layers refreshed (0 without an EMA generator or with 0 batches).
        """
        count = 0
        if self.ema_generator is not None and self.standing_statistics_batches:

            def inputs(rng, n):
                z = rng.standard_normal((n, self.z_dim)).astype("float32")
                labels = self.generation_labels(n, None, rng)
                return [z, labels] if self.conditional_generator else z

            count = ema_lib.refresh_statistics(
                self.ema_generator,
                self.standing_statistics_batches,
                inputs=inputs,
                seed=0,
            )
        self._statistics_step = self.training_step_count()
        return count

    def sampling_generator(self):
        """The network `generate` samples from, ready for inference.

        The raw generator, or the EMA generator whose batch-norm statistics
        are refreshed (`refresh_ema_statistics`) whenever training has moved
        since they were last computed: once per step reached, not at every
        call. A model starts with statistics counted as current at step 0,
        so weights loaded into a fresh model (a zoo preset) keep theirs.
        """
        if self.ema_generator is None:
            return self.generator
        if self.training_step_count() != self._statistics_step:
            self.refresh_ema_statistics()
        return self.ema_generator

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """`n` images as uint8 (n, H, W, C) in [0, 255].

        Uses `sampling_generator()` (the EMA generator, with batch-norm
        statistics from its own weights, when there is one) in inference
        mode. The same `seed` gives the same images.

        Args:
            n: number of images.
            labels: class ids (n,) for a conditional generator; drawn
                uniformly (with `seed`) when None.
            seed: seed of the noise (and labels).
            batch_size: images generated per forward pass.
        """
        n = check_int(n, "n", minimum=0)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.z_dim)).astype("float32")
        labels = self.generation_labels(n, labels, rng)
        generator = self.sampling_generator()
        chunks = []
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            chunk_labels = None if labels is None else labels[start:stop]
            images = self.generate_images(
                z[start:stop], chunk_labels, training=False, generator=generator
            )
            chunks.append(ops.convert_to_numpy(ops.cast(images, "float32")))
        if not chunks:
            return np.zeros((0,) + self.image_shape, "uint8")
        images = np.concatenate(chunks, axis=0)
        return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


GAN_OPTIONS = (
    "loss",
    "n_disc",
    "gp_weight",
    "ema_decay",
    "ema_start_step",
    "standing_statistics_batches",
    "seed",
)


def split_options(options):
    """`(GAN constructor options, network options)` from a builder's kwargs.

    The builders name only their paper's arguments; `loss`, `n_disc`,
    `gp_weight`, `ema_decay` (and `ema_start_step`,
    `standing_statistics_batches`) and `seed` go to the `GAN` model and every
    other option to `keras_ssl.architectures.gan_networks` (and on to the
    network builders).
    """
    model = {k: v for k, v in options.items() if k in GAN_OPTIONS}
    networks = {k: v for k, v in options.items() if k not in GAN_OPTIONS}
    return model, networks


def method_networks(
    image_size,
    channels,
    z_dim,
    width,
    options,
    generator_options=None,
    discriminator_options=None,
):
    """A method's G and D: its own network options, then the caller's.

    `options` are a builder's network options (after `split_options`);
    `generator_options` / `discriminator_options` are what the method needs
    of each network (e.g. SS-GAN's rotation head), which the caller's
    options of the same names extend or override.
    """
    options = dict(options)
    generator_options = {
        **(generator_options or {}),
        **(options.pop("generator_options", None) or {}),
    }
    discriminator_options = {
        **(discriminator_options or {}),
        **(options.pop("discriminator_options", None) or {}),
    }
    return gan_networks(
        image_size,
        channels,
        z_dim,
        width,
        generator_options=generator_options,
        discriminator_options=discriminator_options,
        **options,
    )


@register_method("gan")
def build_gan(image_size=32, channels=3, z_dim=128, width=None, **options):
    """An unconditional `GAN` with compare_gan's ResNet (or a DCGAN) networks.

    Like every builder, it returns an uncompiled model; `compile()` without
    arguments uses the paper's optimizers.

    Args:
        image_size: 32, 48, 64 or 128 (ResNet); 16, 32, 64 or 128 (DCGAN).
        channels: image channels (3 RGB, 1 grey).
        z_dim: latent size.
        width: network width (see `keras_ssl.architectures.gan_widths`; at
            32: D = width, G = 2 * width, paper 128).
        **options: `loss`, `n_disc`, `gp_weight`, `ema_decay`, `seed` (see
            `GAN`), and the options of `gan_networks` and of the network
            builders: `architecture` ("resnet" or "dcgan"), `g_width`,
            `d_width`, `spectral_norm`, `style`, `attention_resolution`, ...

    Example:

    >>> gan = build_gan(32, channels=1, width=8, z_dim=16)
    >>> gan.compile()
    >>> gan.generate(3, seed=1).shape
    (3, 32, 32, 1)
    """
    model_options, network_options = split_options(options)
    generator, discriminator = gan_networks(
        image_size, channels, z_dim, width, **network_options
    )
    return GAN(generator, discriminator, name="gan", **model_options)
