"""keras_ssl.data."""
