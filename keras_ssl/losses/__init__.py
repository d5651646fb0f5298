"""keras_ssl.losses: GAN losses and the other papers' losses, in `keras.ops`."""

from keras_ssl.losses.gan import (
    GAN_LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    interpolate,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    non_saturating_discriminator_loss,
    non_saturating_generator_loss,
    wasserstein_discriminator_loss,
    wasserstein_generator_loss,
)
from keras_ssl.losses.nce import memory_bank_nce_loss, nce_loss

__all__ = [
    "GAN_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "interpolate",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
    "memory_bank_nce_loss",
    "nce_loss",
]

from keras_ssl.losses.colorization import (  # noqa: E402
    ab_regression_loss,
    hue_chroma_kl_loss,
    rebalanced_cross_entropy,
)

__all__ += ["ab_regression_loss", "hue_chroma_kl_loss", "rebalanced_cross_entropy"]
