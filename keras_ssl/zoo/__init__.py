"""keras_ssl.zoo."""
