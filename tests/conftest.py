import os

import pytest

# Quiet TensorFlow's start-up logs; tests run on the CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_pyfunc_call(pyfuncitem):
    """A test whose run happened in a fresh process passes without its body.

    See `tests.helpers.pass_elsewhere`.
    """
    reason = getattr(pyfuncitem, "passed_elsewhere", None)
    if reason:
        pyfuncitem.add_report_section("call", "isolation", reason)
        return True
    return None


@pytest.fixture(scope="session")
def fid_inception_network():
    """One `fid_inception_v3()` for every module that needs one.

    It has 24M parameters and takes seconds to build. Its weights are
    whatever the last conversion loaded: a test that reads them loads them
    itself first.
    """
    from keras_ssl.architectures import fid_inception_v3

    return fid_inception_v3()


@pytest.fixture(autouse=True)
def _seeded(request):
    """Each test starts from its own fixed seed (Python, NumPy, Keras).

    A test that checks learning or a statistic then gives the same verdict on
    every run and machine; the seed differs between tests so that they do not
    all draw the same numbers.
    """
    import zlib

    import keras

    keras.utils.set_random_seed(zlib.crc32(request.node.nodeid.encode()) % 2**31)
    yield
