"""keras_ssl.evaluation: FID, IS, KID, linear probe, kNN and OOD AUROC.

Generative metrics stream images through a feature extractor. The extractor
protocol: any callable or Keras model mapping float32 images (B, H, W, C) in
[-1, 1] to features (B, D), or to a dict with "features" (B, D) and "logits"
(B, K) (logits only for the Inception Score). The default, "fid_inception"
(`fid_inception_extractor()`), is the FID Inception network of published
FIDs (pytorch-fid's weights, converted once and cached);
"inception_keras" (`inception_extractor()`) is Keras' InceptionV3, not
comparable with papers; `domain_extractor(train_domain_classifier(...))` is
an offline alternative trained on the target domain ("FID (domain
features)").

Arrays are evaluated under any backend, without TensorFlow; `tf.data`
datasets are read where TensorFlow is installed. `conv_block_classifier`
augments with `tf.image` under the TensorFlow backend and with NumPy under
the others.
"""

from keras_ssl.evaluation.conv_classifier import (
    conv_block_classifier,
    nin_conv_block_classifier,
)
from keras_ssl.evaluation.extractors import (
    EXTRACTORS,
    FID_WEIGHTS_URL,
    WeightsUnavailableError,
    default_cache_dir,
    domain_extractor,
    extractor_id,
    fid_inception_extractor,
    fid_inception_weights,
    get_extractor,
    inception_extractor,
    train_domain_classifier,
)
from keras_ssl.evaluation.feature_statistics import FeatureStatistics
from keras_ssl.evaluation.generative import (
    compute_statistics,
    extract_features,
    fid,
    inception_score_of,
    kid,
)
from keras_ssl.evaluation.metric_monitor import MetricMonitor
from keras_ssl.evaluation.metrics import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
)
from keras_ssl.evaluation.ood import auroc, ood_auroc
from keras_ssl.evaluation.representation import (
    adaptive_average_pool,
    knn_accuracy,
    linear_probe,
)

__all__ = [
    "EXTRACTORS",
    "FID_WEIGHTS_URL",
    "WeightsUnavailableError",
    "FeatureStatistics",
    "MetricMonitor",
    "adaptive_average_pool",
    "auroc",
    "compute_statistics",
    "conv_block_classifier",
    "default_cache_dir",
    "domain_extractor",
    "extract_features",
    "extractor_id",
    "fid_inception_extractor",
    "fid_inception_weights",
    "fid",
    "frechet_distance",
    "get_extractor",
    "inception_extractor",
    "inception_score",
    "inception_score_of",
    "kernel_inception_distance",
    "kid",
    "knn_accuracy",
    "linear_probe",
    "nin_conv_block_classifier",
    "ood_auroc",
    "train_domain_classifier",
]
