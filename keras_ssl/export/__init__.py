"""keras_ssl.export."""
