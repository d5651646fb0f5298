"""A training process for the fault-injection and multi-worker tests.

    python -m tests.training.worker '<recipe as JSON>' [seconds_per_step]

Trains `ToyGAN` with `keras_ssl.training.run`; an optional sleep per step
gives a test time to kill the process mid-run.
"""

import json
import sys
import time

import keras

from keras_ssl.training import run
from tests.training.toy_methods import build_toy_gan


class SlowDown(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


def main(argv):
    keras.config.disable_traceback_filtering()
    config = json.loads(argv[0])
    extra = [SlowDown(float(argv[1]))] if len(argv) > 1 else []
    summary = run(config, method_factory=build_toy_gan, extra_callbacks=extra)
    print(json.dumps({k: v for k, v in summary.items() if k != "model"}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
