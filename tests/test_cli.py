import subprocess
import sys

from keras_ssl import __version__
from keras_ssl.cli import main
from keras_ssl.commands._quiet import is_command_line, is_native_log_line

NATIVE_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR",
    "I0000 00:00:1796146991.428677    3394 port.cc:153] oneDNN custom operations "
    "are on.",
    "I0000 00:00:1796146991.429090    3394 cudart_stub.cc:31] Could not find cuda "
    "drivers on your machine, GPU will not be used.",
    "E0000 00:00:1796147019.845685    4045 cuda_platform.cc:52] failed call to "
    "cuInit: INTERNAL: CUDA error",
    "2024-05-01 10:00:00.123456: E tensorflow/core/grappler/optimizers/"
    "meta_optimizer.cc:961] remapper failed: INVALID_ARGUMENT",
    "To enable the following instructions: AVX2 FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.",
)


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    assert "data" in capsys.readouterr().out


def test_data_info_digits(capsys):
    # --verbose is accepted after the subcommand too.
    assert main(["data", "info", "digits", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "examples: 1438" in out and "classes (10)" in out


def test_data_info_bad_source_is_a_clear_error(capsys, tmp_path):
    assert main(["data", "info", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_native_log_lines_and_the_command_are_recognised():
    assert all(is_native_log_line(line) for line in NATIVE_LINES)
    assert not is_native_log_line("UserWarning: something a user should see")
    assert not is_native_log_line("Traceback (most recent call last):")
    assert is_command_line(["/venv/bin/keras-ssl", "train"], [])
    assert is_command_line(["-m"], ["python", "-m", "keras_ssl.cli", "--help"])
    assert not is_command_line(["/venv/bin/pytest"], ["python", "-m", "pytest"])


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "keras_ssl.cli", *args],
        capture_output=True,
        text=True,
        check=True,
    )


def test_console_script_is_quiet_unless_verbose():
    quiet = _cli("--version")
    assert __version__ in quiet.stdout
    shown = [line for line in quiet.stderr.splitlines() if is_native_log_line(line)]
    assert not shown, shown
    assert "absl" not in quiet.stderr and "oneDNN" not in quiet.stderr
    # TensorFlow does print such lines here: --verbose keeps them.
    verbose = _cli("--verbose", "--version")
    assert __version__ in verbose.stdout
    assert any(is_native_log_line(line) for line in verbose.stderr.splitlines()), (
        verbose.stderr
    )
