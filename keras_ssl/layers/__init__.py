"""keras_ssl.layers: the layers the papers need, in `keras.ops`."""

from keras_ssl.layers.channel_wise_dense import ChannelWiseDense
from keras_ssl.layers.class_projection import ClassProjection
from keras_ssl.layers.conditional_batch_normalization import (
    ConditionalBatchNormalization,
)
from keras_ssl.layers.discriminator_block import DiscriminatorBlock
from keras_ssl.layers.generator_block import GeneratorBlock
from keras_ssl.layers.memory_bank import MemoryBank
from keras_ssl.layers.self_attention_2d import SelfAttention2D
from keras_ssl.layers.self_modulated_batch_normalization import (
    SelfModulatedBatchNormalization,
)
from keras_ssl.layers.sinkhorn_normalization import SinkhornNormalization
from keras_ssl.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "ChannelWiseDense",
    "ClassProjection",
    "ConditionalBatchNormalization",
    "DiscriminatorBlock",
    "GeneratorBlock",
    "MemoryBank",
    "SelfAttention2D",
    "SelfModulatedBatchNormalization",
    "SinkhornNormalization",
    "SpectralNormalization",
]
