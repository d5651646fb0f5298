"""A benchmark worker: one framework or backend in its own process.

The step benchmarks (`benchmark_peer_step.py`, `benchmark_jax_step.py`) run
each side in a subprocess and interleave timing rounds, so that the load of a
shared machine hits both sides alike. The protocol is one line each way: the
worker prints a JSON line when ready and after each round; the parent writes
the number of steps of the next round (0 ends the worker).
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorkerProcess:
    """`script --worker ...` in a subprocess, driven one round at a time.

    Args:
        name: label used in errors and results.
        script: the benchmark script (run with this Python).
        arguments: its command-line arguments (after the script path).
        env: extra environment variables.
    """

    def __init__(self, name, script, arguments, env):
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(script), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **env),
            cwd=ROOT,
        )
        self.info = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} exited: {self.process.wait()}")
        return json.loads(line)

    def round(self, steps):
        """Run `steps` steps; the worker's JSON reply."""
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("0\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)
