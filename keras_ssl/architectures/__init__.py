"""keras_ssl.architectures."""
