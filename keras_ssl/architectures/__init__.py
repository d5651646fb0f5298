"""keras_ssl.architectures."""

from keras_ssl.architectures.alexnet import alexnet_encoder  # noqa: E402
from keras_ssl.architectures.cifar_resnet import cifar_resnet  # noqa: E402
from keras_ssl.architectures.nin import nin_encoder  # noqa: E402
from keras_ssl.architectures.encoders import (  # noqa: E402
    ENCODER_NAMES,
    build_encoder,
    check_encoder_input,
    vector_pooling,
)
from keras_ssl.architectures.resnet_gan import (  # noqa: E402
    resnet_discriminator,
    resnet_generator,
)
from keras_ssl.architectures.dcgan import (  # noqa: E402
    dcgan_discriminator,
    dcgan_generator,
)
