"""SavedModel export with serving signatures in the TF Serving layout."""

from keras_ssl.export.saved_model import export_saved_model, resolve_servable
from keras_ssl.export.warmup import (
    WARMUP_FILENAME,
    prediction_log_bytes,
    write_warmup_requests,
)

__all__ = [
    "WARMUP_FILENAME",
    "export_saved_model",
    "prediction_log_bytes",
    "resolve_servable",
    "write_warmup_requests",
]
