"""Quiet TensorFlow's native log lines in the `keras-ssl` command.

TensorFlow's C++ code writes info, warning and error lines to standard error
(oneDNN, "Could not find cuda drivers", CPU instruction notes, "failed call
to cuInit", "remapper failed", absl's "All log messages before
absl::InitializeLog()"). They can only be silenced before TensorFlow is
imported, so `keras_ssl/__init__.py` calls `quiet_native_logs` before it
imports Keras. In the `keras-ssl` process, without `--verbose`, it sets
`TF_CPP_MIN_LOG_LEVEL=3` (unless already set) and imports TensorFlow with
file descriptor 2 captured, then writes back every captured line that is
not such a native log line (Python warnings, for instance). In any other
process it does nothing: a library does not change its user's logging.
This module imports nothing heavy.
"""

import contextlib
import importlib.util
import os
import re
import sys
import tempfile

VERBOSE_FLAG = "--verbose"
_COMMAND_NAMES = ("keras-ssl", "keras-ssl.exe", "keras-ssl-script.py")
_NATIVE_LOG_LINE = re.compile(
    # absl (TensorFlow >= 2.16): "I0000 00:00:1700000000.123456   1234 port.cc:153] ..."
    r"^[IWE]\d{4} \d{2}:\d{2}:\d+\.\d+\s+\d+ \S+:\d+\] "
    # older TensorFlow: "2024-01-01 12:00:00.000000: I tensorflow/...cc:42] ..."
    r"|^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+: [IWE] \S+:\d+\] "
    r"|^WARNING: All log messages before absl::InitializeLog\(\) is called"
    # the second line of cpu_feature_guard's note
    r"|^To enable the following instructions: .* compiler flags\.\s*$"
)


def is_command_line(argv=None, orig_argv=None):
    """Whether this process is the `keras-ssl` command (entry point or -m)."""
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if argv and os.path.basename(str(argv[0])) in _COMMAND_NAMES:
        return True
    return any(
        flag == "-m" and module == "keras_ssl.cli"
        for flag, module in zip(orig_argv, orig_argv[1:])
    )


def arguments(argv):
    """The arguments before a `--` terminator."""
    argv = list(argv)
    return argv[: argv.index("--")] if "--" in argv else argv


def is_native_log_line(line):
    """Whether `line` is one of TensorFlow's native (C++ / absl) log lines."""
    return bool(_NATIVE_LOG_LINE.match(line))


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2 (C++ writes too), then write back every line
    that is not a native TensorFlow log line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [
                line
                for line in text.splitlines(keepends=True)
                if not is_native_log_line(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_native_logs(argv=None, orig_argv=None):
    """Hide TensorFlow's native log lines when this process is the command.

    Does nothing in other processes (a library never changes its user's
    logging), with `--verbose` among the arguments, or when TensorFlow is
    already imported. Returns whether it quieted the logs.
    """
    argv = sys.argv if argv is None else argv
    if not is_command_line(argv, orig_argv) or VERBOSE_FLAG in arguments(argv[1:]):
        return False
    if "tensorflow" in sys.modules:
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if importlib.util.find_spec("tensorflow") is None:
        return True
    with filtered_stderr():
        import tensorflow  # noqa: F401

    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    return True
