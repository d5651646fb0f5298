"""Adversarial losses of the GAN papers, in `keras.ops`.

Every loss takes discriminator logits (any shape, usually (B, 1)) and returns
a scalar: the mean over the batch. The discriminator maximises how well it
tells real from generated images; the generator minimises what the
discriminator says about its images.

- non-saturating (Goodfellow et al., NeurIPS 2014): D minimises
  `softplus(-D(x)) + softplus(D(G(z)))`, G minimises `softplus(-D(G(z)))`.
- hinge (Lim & Ye 2017; Miyato et al., SN-GAN, ICLR 2018): D minimises
  `relu(1 - D(x)) + relu(1 + D(G(z)))`, G minimises `-D(G(z))`.
- least-squares (Mao et al., LSGAN, ICCV 2017): D minimises
  `(D(x) - 1)^2 + D(G(z))^2`, G minimises `(D(G(z)) - 1)^2`, each halved.
- wasserstein (Arjovsky et al. 2017; Gulrajani et al., WGAN-GP, NeurIPS
  2017): D minimises `D(G(z)) - D(x)`, G minimises `-D(G(z))`; add
  `gradient_penalty` of the critic's input gradients on interpolates.
"""

from keras import ops

GAN_LOSSES = ("non_saturating", "hinge", "least_squares", "wasserstein")


def _mean(x):
    return ops.mean(ops.cast(x, "float32"))


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """`mean(softplus(-real)) + mean(softplus(fake))`: sigmoid cross-entropy.

    Example:

    >>> import numpy as np
    >>> float(non_saturating_discriminator_loss(np.zeros(2), np.zeros(2)))
    1.3862943649291992
    """
    return _mean(ops.softplus(-real_logits)) + _mean(ops.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """`mean(softplus(-fake))`: the generator's non-saturating loss."""
    return _mean(ops.softplus(-fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """`mean(relu(1 - real)) + mean(relu(1 + fake))`."""
    return _mean(ops.relu(1.0 - real_logits)) + _mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """`-mean(fake)`."""
    return -_mean(fake_logits)


def least_squares_discriminator_loss(real_logits, fake_logits):
    """`0.5 mean((real - 1)^2) + 0.5 mean(fake^2)` (LSGAN, a=0, b=c=1)."""
    return 0.5 * _mean(ops.square(real_logits - 1.0)) + 0.5 * _mean(
        ops.square(fake_logits)
    )


def least_squares_generator_loss(fake_logits):
    """`0.5 mean((fake - 1)^2)`."""
    return 0.5 * _mean(ops.square(fake_logits - 1.0))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """`mean(fake) - mean(real)`: the critic's loss (add a gradient penalty)."""
    return _mean(fake_logits) - _mean(real_logits)


def wasserstein_generator_loss(fake_logits):
    """`-mean(fake)`."""
    return -_mean(fake_logits)


_DISCRIMINATOR = {
    "non_saturating": non_saturating_discriminator_loss,
    "hinge": hinge_discriminator_loss,
    "least_squares": least_squares_discriminator_loss,
    "wasserstein": wasserstein_discriminator_loss,
}
_GENERATOR = {
    "non_saturating": non_saturating_generator_loss,
    "hinge": hinge_generator_loss,
    "least_squares": least_squares_generator_loss,
    "wasserstein": wasserstein_generator_loss,
}


def check_gan_loss(loss):
    """Return `loss` if it names a GAN loss, else raise a clear `ValueError`."""
    if loss not in GAN_LOSSES:
        raise ValueError(f"loss must be one of {GAN_LOSSES}. Received: loss={loss!r}")
    return loss


def discriminator_loss(real_logits, fake_logits, loss="non_saturating"):
    """The discriminator's loss named `loss` (one of `GAN_LOSSES`).

    Example:

    >>> import numpy as np
    >>> float(discriminator_loss(np.ones(3), -np.ones(3), loss="hinge"))
    0.0
    """
    return _DISCRIMINATOR[check_gan_loss(loss)](real_logits, fake_logits)


def generator_loss(fake_logits, loss="non_saturating"):
    """The generator's loss named `loss` (one of `GAN_LOSSES`)."""
    return _GENERATOR[check_gan_loss(loss)](fake_logits)


def interpolate(real, fake, alpha):
    """Points `alpha * real + (1 - alpha) * fake` on the lines between pairs.

    `alpha` has shape (B,) or broadcasts against `real`; WGAN-GP draws it
    uniformly in [0, 1] per example.
    """
    alpha = ops.cast(alpha, real.dtype)
    if len(alpha.shape) == 1:
        alpha = ops.reshape(alpha, (-1,) + (1,) * (len(real.shape) - 1))
    return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(gradients, target=1.0):
    """WGAN-GP penalty `mean((||g||_2 - target)^2)` over the batch.

    Args:
        gradients: (B, ...) gradients of the critic's output with respect to
            its inputs at interpolated points (computed by the train step,
            since differentiation is backend-specific).
        target: the norm the gradients are pushed towards (1 in the paper).

    Example:

    >>> import numpy as np
    >>> g = np.zeros((2, 4, 4, 3), "float32"); g[:, 0, 0, 0] = 1.0
    >>> float(gradient_penalty(g))
    0.0
    """
    gradients = ops.cast(gradients, "float32")
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    # The epsilon keeps the norm's gradient finite where the input gradient is 0.
    norms = ops.sqrt(ops.sum(ops.square(flat), axis=-1) + 1e-12)
    return ops.mean(ops.square(norms - target))
