"""keras_ssl.layers: the layers the papers need, in `keras.ops`."""

from keras_ssl.layers.channel_wise_dense import ChannelWiseDense
from keras_ssl.layers.class_projection import ClassProjection
from keras_ssl.layers.conditional_batch_normalization import (
    ConditionalBatchNormalization,
)
from keras_ssl.layers.discriminator_block import DiscriminatorBlock
from keras_ssl.layers.generator_block import GeneratorBlock
from keras_ssl.layers.image_pool import ImagePool
from keras_ssl.layers.linear_conditional_batch_normalization import (
    LinearConditionalBatchNormalization,
)
from keras_ssl.layers.memory_bank import MemoryBank
from keras_ssl.layers.reflection_padding_2d import ReflectionPadding2D
from keras_ssl.layers.self_attention_2d import SelfAttention2D
from keras_ssl.layers.self_modulated_batch_normalization import (
    SelfModulatedBatchNormalization,
)
from keras_ssl.layers.sinkhorn_normalization import SinkhornNormalization
from keras_ssl.layers.spectral_normalization import SpectralNormalization
from keras_ssl.layers.standing_batch_normalization import StandingBatchNormalization
from keras_ssl.layers.zero_insertion_up_sampling_2d import ZeroInsertionUpSampling2D

__all__ = [
    "ChannelWiseDense",
    "ClassProjection",
    "ConditionalBatchNormalization",
    "DiscriminatorBlock",
    "GeneratorBlock",
    "ImagePool",
    "LinearConditionalBatchNormalization",
    "MemoryBank",
    "ReflectionPadding2D",
    "SelfAttention2D",
    "SelfModulatedBatchNormalization",
    "SinkhornNormalization",
    "SpectralNormalization",
    "StandingBatchNormalization",
    "ZeroInsertionUpSampling2D",
]

from keras_ssl.layers.mimicry_conditional_batch_normalization import (  # noqa: E402
    MimicryConditionalBatchNormalization,
)
from keras_ssl.layers.mimicry_spectral_normalization import (  # noqa: E402
    MimicrySpectralNormalization,
)
from keras_ssl.layers.torch_batch_normalization import (  # noqa: E402
    TorchBatchNormalization,
)
from keras_ssl.layers.torch_spectral_normalization import (  # noqa: E402
    TorchSpectralNormalization,
)

__all__ += [
    "MimicryConditionalBatchNormalization",
    "MimicrySpectralNormalization",
    "TorchBatchNormalization",
    "TorchSpectralNormalization",
]
