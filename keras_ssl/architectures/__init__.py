"""Network builders: GAN generators and discriminators, representation encoders.

The GAN networks equal to the originals are chosen by `style=` in
`resnet_generator` / `resnet_discriminator` ("resnet_cifar", "resnet5",
"resnet_biggan" for compare_gan; "mimicry" for Mimicry's SNGAN / SSGAN /
cGAN-PD; "sngan" for the SN-GAN networks this package trained before); the
other builders (U-Net, PatchGAN, CycleGAN ResNet, NIN, colorization ECCV16,
FID Inception) equal the authors' networks of their papers.
"""

from keras_ssl.architectures.alexnet import alexnet_encoder
from keras_ssl.architectures.bigan import bigan_discriminator, bigan_encoder
from keras_ssl.architectures.cifar_resnet import cifar_resnet
from keras_ssl.architectures.colorization_eccv16 import colorization_eccv16
from keras_ssl.architectures.compare_gan_biggan import (
    accumulate_standing_statistics,
    biggan_discriminator,
    biggan_generator,
)
from keras_ssl.architectures.compare_gan_resnet import (
    compare_gan_discriminator,
    compare_gan_generator,
)
from keras_ssl.architectures.cyclegan_resnet import cyclegan_resnet_generator
from keras_ssl.architectures.dcgan import dcgan_discriminator, dcgan_generator
from keras_ssl.architectures.encoders import (
    ENCODER_NAMES,
    build_encoder,
    check_encoder_input,
    vector_pooling,
)
from keras_ssl.architectures.fid_inception import fid_inception_v3
from keras_ssl.architectures.gan_networks import gan_networks, gan_widths
from keras_ssl.architectures.mimicry_resnet import (
    mimicry_discriminator,
    mimicry_generator,
)
from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.architectures.patch_discriminator import patch_discriminator
from keras_ssl.architectures.resnet_gan import resnet_discriminator, resnet_generator
from keras_ssl.architectures.unet import unet_generator

__all__ = [
    "ENCODER_NAMES",
    "accumulate_standing_statistics",
    "alexnet_encoder",
    "bigan_discriminator",
    "bigan_encoder",
    "biggan_discriminator",
    "biggan_generator",
    "build_encoder",
    "check_encoder_input",
    "cifar_resnet",
    "colorization_eccv16",
    "compare_gan_discriminator",
    "compare_gan_generator",
    "cyclegan_resnet_generator",
    "dcgan_discriminator",
    "dcgan_generator",
    "fid_inception_v3",
    "gan_networks",
    "gan_widths",
    "mimicry_discriminator",
    "mimicry_generator",
    "nin_encoder",
    "patch_discriminator",
    "resnet_discriminator",
    "resnet_generator",
    "unet_generator",
    "vector_pooling",
]
