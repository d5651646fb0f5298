"""keras_ssl.training."""
