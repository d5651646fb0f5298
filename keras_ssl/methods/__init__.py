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
from keras_ssl.methods.tile_task import TileTask
from keras_ssl.methods.transitive_invariance import (
    TransitiveInvariance,
    build_transitive_invariance,
)

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
    "TileTask",
    "TransitiveInvariance",
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
    "build_transitive_invariance",
    "cluster_labels",
    "get_builder",
    "list_methods",
    "mask_labels",
    "register_method",
]

from keras_ssl.methods.bigan import BiGAN, build_bigan  # noqa: E402
from keras_ssl.methods.context_encoder import (  # noqa: E402
    ContextEncoder,
    build_context_encoder,
)
from keras_ssl.methods.instance_discrimination import (  # noqa: E402
    InstanceDiscrimination,
    KNNMonitor,
    build_instance_discrimination,
)

__all__ += [
    "BiGAN",
    "ContextEncoder",
    "InstanceDiscrimination",
    "KNNMonitor",
    "build_bigan",
    "build_context_encoder",
    "build_instance_discrimination",
]

from keras_ssl.methods.cyclegan import CycleGAN, LinearDecay, build_cyclegan  # noqa: E402
from keras_ssl.methods.pix2pix import Pix2Pix, build_pix2pix  # noqa: E402

__all__ += ["CycleGAN", "LinearDecay", "Pix2Pix", "build_cyclegan", "build_pix2pix"]

from keras_ssl.methods.colorization import Colorization, build_colorization  # noqa: E402
from keras_ssl.methods.colorization_proxy import (  # noqa: E402
    ColorizationProxy,
    build_colorization_proxy,
)
from keras_ssl.methods.split_brain import SplitBrain, build_split_brain  # noqa: E402

__all__ += [
    "Colorization",
    "ColorizationProxy",
    "SplitBrain",
    "build_colorization",
    "build_colorization_proxy",
    "build_split_brain",
]
