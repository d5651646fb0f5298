import subprocess
import sys

from keras_ssl import __version__
from keras_ssl.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    assert "data" in capsys.readouterr().out


def test_data_info_digits(capsys):
    assert main(["data", "info", "digits"]) == 0
    out = capsys.readouterr().out
    assert "examples: 1438" in out and "classes (10)" in out


def test_data_info_bad_source_is_a_clear_error(capsys, tmp_path):
    assert main(["data", "info", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_console_script_version():
    out = subprocess.run(
        [sys.executable, "-m", "keras_ssl.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert __version__ in out
