"""One module per paper; each registers a `build_<method>` factory by name."""

from keras_ssl.methods.registry import (
    build_method,
    get_builder,
    list_methods,
    register_method,
)
from keras_ssl.methods.context_prediction import (
    ContextPrediction,
    build_context_prediction,
)
from keras_ssl.methods.deeppermnet import DeepPermNet, build_deeppermnet
from keras_ssl.methods.jigsaw import Jigsaw, build_jigsaw
from keras_ssl.methods.rotnet import RotNet, build_rotnet
from keras_ssl.methods.exemplar import Exemplar, build_exemplar
from keras_ssl.methods.multitask import MultiTask, build_multitask
from keras_ssl.methods.rotation_auxiliary import (
    RotationAuxiliary,
    build_rotation_auxiliary,
)
from keras_ssl.methods.rotation_decoupling import (
    RotationDecoupling,
    build_rotation_decoupling,
)
from keras_ssl.methods.gan import GAN, build_gan
from keras_ssl.methods.ssgan import SSGAN, build_ssgan
from keras_ssl.methods.cgan import ConditionalGAN, build_cgan
from keras_ssl.methods.s3gan import S3GAN, build_s3gan, cluster_labels, mask_labels

__all__ = [
    "GAN",
    "build_gan",
    "SSGAN",
    "build_ssgan",
    "ConditionalGAN",
    "build_cgan",
    "S3GAN",
    "build_s3gan",
    "cluster_labels",
    "mask_labels",
    "ContextPrediction",
    "build_context_prediction",
    "DeepPermNet",
    "build_deeppermnet",
    "Jigsaw",
    "build_jigsaw",
    "RotNet",
    "build_rotnet",
    "Exemplar",
    "build_exemplar",
    "MultiTask",
    "build_multitask",
    "RotationAuxiliary",
    "build_rotation_auxiliary",
    "RotationDecoupling",
    "build_rotation_decoupling",
    "build_method", "get_builder", "list_methods", "register_method"]
