"""pytest settings for the docstring examples (`--doctest-modules`).

The tests' own settings are in tests/conftest.py.
"""

import pytest


@pytest.fixture(autouse=True)
def _docstring_examples_run_eagerly(request):
    """Docstring examples run their `fit` / `predict` steps eagerly.

    An example checks that the call runs and shows what the docstring says;
    tracing its `tf.function`s costs seconds per example and is covered by
    the tests. Eager steps make the examples about four times cheaper.
    """
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(False)
