"""keras_ssl.losses."""
