"""One module per paper; each registers a `build_<method>` factory by name."""

from keras_ssl.methods.cgan import ConditionalGAN, build_cgan
from keras_ssl.methods.context_prediction import (
    ContextPrediction,
    build_context_prediction,
)
from keras_ssl.methods.deeppermnet import DeepPermNet, build_deeppermnet
from keras_ssl.methods.exemplar import Exemplar, build_exemplar
from keras_ssl.methods.gan import GAN, build_gan
from keras_ssl.methods.jigsaw import Jigsaw, build_jigsaw
from keras_ssl.methods.multitask import MultiTask, build_multitask
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import (
    build_method,
    get_builder,
    list_methods,
    register_method,
)
from keras_ssl.methods.rotation_auxiliary import (
    RotationAuxiliary,
    build_rotation_auxiliary,
)
from keras_ssl.methods.rotation_decoupling import (
    RotationDecoupling,
    build_rotation_decoupling,
)
from keras_ssl.methods.rotnet import RotNet, build_rotnet
from keras_ssl.methods.s3gan import S3GAN, build_s3gan, cluster_labels, mask_labels
from keras_ssl.methods.ssgan import SSGAN, build_ssgan

__all__ = [
    "GAN",
    "S3GAN",
    "SSGAN",
    "ConditionalGAN",
    "ContextPrediction",
    "DeepPermNet",
    "Exemplar",
    "Jigsaw",
    "MultiTask",
    "PretextTask",
    "RotNet",
    "RotationAuxiliary",
    "RotationDecoupling",
    "build_cgan",
    "build_context_prediction",
    "build_deeppermnet",
    "build_exemplar",
    "build_gan",
    "build_jigsaw",
    "build_method",
    "build_multitask",
    "build_rotation_auxiliary",
    "build_rotation_decoupling",
    "build_rotnet",
    "build_s3gan",
    "build_ssgan",
    "cluster_labels",
    "get_builder",
    "list_methods",
    "mask_labels",
    "register_method",
]
