"""Network builders: GAN generators and discriminators, representation encoders."""

from keras_ssl.architectures.alexnet import alexnet_encoder
from keras_ssl.architectures.cifar_resnet import cifar_resnet
from keras_ssl.architectures.dcgan import dcgan_discriminator, dcgan_generator
from keras_ssl.architectures.encoders import (
    ENCODER_NAMES,
    build_encoder,
    check_encoder_input,
    vector_pooling,
)
from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.architectures.resnet_gan import resnet_discriminator, resnet_generator

__all__ = [
    "ENCODER_NAMES",
    "alexnet_encoder",
    "build_encoder",
    "check_encoder_input",
    "cifar_resnet",
    "dcgan_discriminator",
    "dcgan_generator",
    "nin_encoder",
    "resnet_discriminator",
    "resnet_generator",
    "vector_pooling",
]
