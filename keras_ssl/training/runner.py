"""The recipe runner behind `keras-ssl train`: data, method, strategy, fit.

`run(config)` trains one method on one dataset as a recipe describes (see
`keras_ssl.training.config`), writing into `out/`:

    config.yaml                  the resolved recipe
    checkpoints/ckpt-<step>.npz  atomic checkpoints (model, optimizers, RNG)
    samples/step_<step>.png      sample grids on fixed noise (generators)
    samples/step_<step>_preview.png  input | output | target sheets of a
                                 fixed training batch (`model.preview`)
    samples/final.png, final_preview.png
    logs/                        TensorBoard scalars and sample images
    log.csv                      per-epoch losses and metrics
    final/model.keras            the trained method
    final/generator.keras        its generator / encoder, where it has them
    summary.json                 steps, time, replicas, last losses

Running again with the same `out` resumes from the newest checkpoint: the
model, every optimizer and the RNG states are restored and the data
pipeline skips the batches already seen, so the resumed run continues the
same sequence of steps as an uninterrupted one.

With several workers (`TF_CONFIG`), each worker runs the same command;
the chief writes to `out/`, the others to `out/workers/<task>/`, so a
shared file system is not required (each worker resumes from its own
checkpoints, which hold identical values).
"""

import copy
import inspect
import json
import math
import os
import sys
import time

import keras
import tensorflow as tf

from keras_ssl.training import callbacks as callbacks_lib
from keras_ssl.training import distribute
from keras_ssl.training.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint_header,
)
from keras_ssl.training.config import dump_config, resolve_config
from keras_ssl.training.precision import precision_policy, wrap_for_loss_scaling

SUBMODELS = ("generator", "ema_generator", "encoder")


def plan_segments(start_step, total_steps, steps_per_epoch):
    """Split steps `[start_step, total_steps)` into `fit` calls.

    Epoch `e` covers steps `[e * steps_per_epoch, (e + 1) * steps_per_epoch)`.
    A run that resumes mid-epoch first finishes that epoch in a shorter
    `fit`, then runs whole epochs; a last partial epoch gets its own call.

    Returns:
        A list of dicts with `start_step`, `initial_epoch`, `epochs` and
        `steps_per_epoch` (the arguments of one `fit` call).

    Example:

    >>> [s["steps_per_epoch"] for s in plan_segments(150, 420, 100)]
    [50, 100, 20]
    """
    segments = []
    step = start_step
    while step < total_steps:
        epoch, offset = divmod(step, steps_per_epoch)
        if offset == 0 and total_steps - step >= steps_per_epoch:
            full = (total_steps - step) // steps_per_epoch
            segments.append(
                {
                    "start_step": step,
                    "initial_epoch": epoch,
                    "epochs": epoch + full,
                    "steps_per_epoch": steps_per_epoch,
                }
            )
            step += full * steps_per_epoch
        else:
            count = min((epoch + 1) * steps_per_epoch, total_steps) - step
            segments.append(
                {
                    "start_step": step,
                    "initial_epoch": epoch,
                    "epochs": epoch + 1,
                    "steps_per_epoch": count,
                }
            )
            step += count
    return segments


def train(method, data, out=None, *, model=None, compile=None, **train_options):
    """Train `method` on `data`; a keyword-argument front end to `run`.

    Args:
        method: a registered method name (e.g. `"ssgan"`), or a callable
            `(image_size=, channels=, num_classes=, **model) -> keras.Model`.
        data: a data source for `keras_ssl.data.load` (a TFDS name, folder,
            `.zip` or `"digits"`), a dict of `data` options, or a batched
            `tf.data.Dataset` of `(images, labels)` at the global batch
            size.
        out: the run directory (checkpoints, samples, logs, final models).
        model: keyword arguments of the method's build function.
        compile: keyword arguments of `model.compile`.
        **train_options: any key of the `train` section (`steps`,
            `batch_size`, `checkpoint_every`, `strategy`, ...).

    Returns:
        The run summary (see `run`).

    Example:

    >>> import tempfile
    >>> summary = train("gan", "digits", out=tempfile.mkdtemp(), steps=2,
    ...                 batch_size=8, model={"width": 4, "z_dim": 8},
    ...                 verbose=0)  # doctest: +SKIP
    >>> summary["steps"]  # doctest: +SKIP
    2
    """
    dataset = None
    factory = None
    if isinstance(data, tf.data.Dataset):
        dataset, data = data, {"source": "<dataset>"}
    elif isinstance(data, str | os.PathLike):
        data = {"source": os.fspath(data)}
    elif not isinstance(data, dict):
        raise TypeError(
            "data must be a source name or path, a dict of data options or a "
            f"tf.data.Dataset. Received: data={data!r}"
        )
    if callable(method) and not isinstance(method, str):
        factory = method
        method = getattr(method, "__name__", "custom")
    config = {
        "method": method,
        "model": model or {},
        "compile": compile or {},
        "data": data,
        "train": train_options,
        "out": None if out is None else os.fspath(out),
    }
    return run(config, dataset=dataset, method_factory=factory)


def run(
    config, *, dataset=None, method_factory=None, extra_callbacks=None, print_fn=None
):
    """Run a training recipe; returns a summary dict.

    Args:
        config: a recipe dict, or a path to a YAML recipe; missing keys take
            their defaults from `keras_ssl.training.config.DEFAULTS`.
        dataset: optional batched `tf.data.Dataset` used instead of loading
            `config["data"]` (it is repeated; its batches must have the
            global batch size). Resumes are exact only if iterating it
            again gives the same batches.
        method_factory: optional callable used instead of the method
            registry (see `train`).
        extra_callbacks: more Keras callbacks. They run after the NaN guard,
            the checkpoint and the time limit, and before the sample grid
            and the loggers, so values they add to `logs` (e.g. FID from
            `keras_ssl.evaluation.MetricMonitor`) reach TensorBoard, the CSV
            log and the epoch summary.
        print_fn: where the per-epoch summary lines go (default `print`).

    Returns:
        A dict with `steps` (the global step reached), `start_step`,
        `stopped` (`"completed"`, `"max_hours"` or `"already_complete"`),
        `seconds`, `steps_per_second`, `replicas`, `logs` (the last epoch's
        logs), `checkpoint` and `out`.
    """
    config = resolve_config(config)
    train_cfg = config["train"]
    # MultiWorkerMirroredStrategy configures collectives at start-up, so it
    # has to exist before any other TensorFlow op runs.
    distribution = distribute.strategy(train_cfg["strategy"], train_cfg["devices"])
    if train_cfg["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    chief = distribute.is_chief(distribution)
    out = config["out"] or os.path.join("runs", config["method"])
    base = out if chief else os.path.join(out, "workers", _task_name(distribution))
    os.makedirs(base, exist_ok=True)
    checkpoint_dir = os.path.join(base, "checkpoints")
    print_fn = print_fn or (lambda line: print(line, flush=True))

    restore_from = latest_checkpoint(checkpoint_dir)
    start_step = 0
    if restore_from:
        header = read_checkpoint_header(restore_from)
        start_step = int(header["step"])
        _check_same_recipe(header.get("metadata", {}).get("config"), config)
    total_steps = train_cfg["steps"]
    batch_size = train_cfg["batch_size"]
    distribute.replica_batch_size(batch_size, distribution)
    dump_config(config, os.path.join(base, "config.yaml"))

    keras.utils.set_random_seed(train_cfg["seed"])
    # Methods with a memory bank over the dataset (`requires_indices`) train
    # on batches that number their examples; set once the model is built.
    indexed = {"on": False}
    if dataset is None:

        def make_dataset():
            # A fresh pipeline per `fit` call: a shuffled dataset reshuffles
            # for every new iterator over the same object, so reusing one
            # would make the batch sequence depend on how often training was
            # interrupted.
            return _load_data(
                config["data"], batch_size, train_cfg["seed"], indexed["on"]
            )

    else:
        given = dataset

        def make_dataset():
            return given.repeat()

    first = next(iter(make_dataset()))
    images = first[0] if isinstance(first, tuple | list) else first
    image_size, channels = int(images.shape[1]), int(images.shape[-1])
    # Image-to-image data: the targets' channels (2 for lightness_to_ab).
    targets = first[1] if isinstance(first, tuple | list) else None
    output_channels = None
    if targets is not None and len(targets.shape) == 4:
        output_channels = int(targets.shape[-1])
    if images.shape[0] != batch_size:
        raise ValueError(
            f"The dataset's batches must have train.batch_size={batch_size} "
            f"examples. Received: a batch of {images.shape[0]}"
        )

    policy = train_cfg["mixed_precision"]
    started = time.perf_counter()
    with precision_policy(policy):
        with distribution.scope():
            model = _build_model(
                config, method_factory, image_size, channels, policy, output_channels
            )
            if train_cfg["sync_batch_norm"]:
                distribute.synchronize_batch_norm(model)
            _build_before_fit(model, images)
            if isinstance(distribution, tf.distribute.MultiWorkerMirroredStrategy):
                _patch_for_multi_worker(model)
        if dataset is None and getattr(model, "requires_indices", False):
            indexed["on"] = True
            first = next(iter(make_dataset()))
        if restore_from and start_step >= total_steps:
            load_checkpoint(model, restore_from)
            segments = []
        else:
            segments = plan_segments(
                start_step, total_steps, train_cfg["steps_per_epoch"]
            )
        if restore_from:
            print_fn(f"Resuming from {restore_from} at step {start_step}.")
        cbs = _callbacks(
            config,
            base,
            checkpoint_dir,
            start_step,
            restore_from,
            print_fn,
            extra_callbacks,
            preview_batch=first,
        )
        verbose = train_cfg["verbose"]
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 0
        logs = {}
        for segment in segments:
            history = model.fit(
                make_dataset().skip(segment["start_step"]),
                initial_epoch=segment["initial_epoch"],
                epochs=segment["epochs"],
                steps_per_epoch=segment["steps_per_epoch"],
                callbacks=cbs["list"],
                verbose=verbose,
                shuffle=False,
            )
            logs = {k: float(v[-1]) for k, v in history.history.items() if v}
            if cbs["max_hours"] is not None and cbs["max_hours"].stopped:
                break
        seconds = time.perf_counter() - started
        checkpoint = cbs["checkpoint"]
        step = checkpoint.step
        if cbs["max_hours"] is not None and cbs["max_hours"].stopped:
            stopped = "max_hours"
            print_fn(
                f"Stopped after {train_cfg['max_hours']} h at step {step}; "
                f"checkpoint {checkpoint.last_saved_path}. Run the same command "
                "again to resume."
            )
        else:
            stopped = "completed" if segments else "already_complete"
            _save_final(model, base, cbs["samples"])
    trained = step - start_step
    summary = {
        "method": config["method"],
        "out": base,
        "steps": step,
        "start_step": start_step,
        "stopped": stopped,
        "seconds": seconds,
        "steps_per_second": trained / seconds if trained and seconds > 0 else None,
        "seconds_checkpointing": checkpoint.seconds_saving,
        "backend": keras.backend.backend(),
        "replicas": distribute.num_replicas(distribution),
        "global_batch_size": batch_size,
        "mixed_precision": policy,
        "jit_compile": bool(getattr(model, "jit_compile", False)),
        "logs": logs,
        "checkpoint": checkpoint.last_saved_path,
    }
    with open(os.path.join(base, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    summary["model"] = model
    return summary


def _task_name(distribution):
    resolver = distribution.cluster_resolver
    return f"{resolver.task_type}-{resolver.task_id}"


def _check_same_recipe(saved, config):
    if not saved:
        return
    for key in ("method", "model"):
        if saved.get(key) != config.get(key):
            raise ValueError(
                f"The checkpoint in {config['out']} was written with "
                f"{key}={saved.get(key)!r}, but this run asks for "
                f"{key}={config.get(key)!r}. Use another --out directory, or the "
                "same configuration to resume."
            )
    for key in ("source", "image_size", "channels"):
        if saved["data"].get(key) != config["data"].get(key):
            raise ValueError(
                f"The checkpoint in {config['out']} was trained on "
                f"data.{key}={saved['data'].get(key)!r}, but this run asks for "
                f"data.{key}={config['data'].get(key)!r}."
            )
    if saved["train"].get("batch_size") != config["train"].get("batch_size"):
        raise ValueError(
            f"The checkpoint in {config['out']} was trained with batch_size="
            f"{saved['train'].get('batch_size')}; resuming with batch_size="
            f"{config['train'].get('batch_size')} would change the data order."
        )


def _load_data(data_cfg, batch_size, seed, indexed=False):
    from keras_ssl import data as data_lib

    options = dict(data_cfg)
    source = options.pop("source")
    if data_lib.paired.is_source_spec(source):
        return _load_pairs(source, options, batch_size, seed)
    return data_lib.load(
        source,
        batch_size=batch_size,
        seed=seed,
        repeat=True,
        drop_remainder=True,
        indexed=indexed,
        **options,
    )


def _load_pairs(source, options, batch_size, seed):
    """(a, b) batches of an image-to-image source (pix2pix, CycleGAN).

    `source` is `"paired:..."`, `"unpaired:..."` or `"<task>:..."`; see
    `keras_ssl.data.paired.load_source`.
    """
    from keras_ssl.data import paired

    return paired.load_source(
        source,
        batch_size=batch_size,
        seed=seed,
        repeat=True,
        drop_remainder=True,
        **options,
    )


def _num_classes(data_cfg):
    from keras_ssl import data as data_lib

    if data_cfg["source"] == "<dataset>":
        return None
    try:
        return data_lib.info(data_cfg["source"], split=data_cfg["split"]).num_classes
    except (ValueError, FileNotFoundError, NotImplementedError):
        # Some sources only know their classes after download; methods that
        # need classes then say so when they are built.
        return None


def _num_examples(data_cfg):
    """Examples the runner's data holds (after `limit`), or None if unknown."""
    from keras_ssl import data as data_lib

    if data_cfg["source"] == "<dataset>":
        return None
    try:
        count = data_lib.info(data_cfg["source"], split=data_cfg["split"]).num_examples
    except (ValueError, FileNotFoundError, NotImplementedError):
        return None
    limit = data_cfg.get("limit")
    return min(count, limit) if limit else count


def _build_model(
    config, method_factory, image_size, channels, policy, output_channels=None
):
    if method_factory is None:
        from keras_ssl.methods import get_builder

        builder = get_builder(config["method"])
    else:
        builder = method_factory
    offered = {"image_size": image_size, "channels": channels}
    parameters = inspect.signature(builder).parameters
    if "num_classes" not in config["model"]:
        offered["num_classes"] = _num_classes(config["data"])
    if "num_examples" in parameters and "num_examples" not in config["model"]:
        # Memory-bank methods: one row per training example.
        count = _num_examples(config["data"])
        if count:
            offered["num_examples"] = count
    if output_channels is not None and "output_channels" in parameters:
        offered["output_channels"] = output_channels
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    # num_classes (and num_examples) only go to builders that name them: a
    # `**options` builder would otherwise make an unconditional method
    # class-conditional.
    named_only = ("num_classes", "num_examples", "output_channels")
    kwargs = {
        k: v
        for k, v in offered.items()
        if (k in parameters or (takes_any and k not in named_only))
        and k not in config["model"]
    }
    kwargs.update(config["model"])
    model = builder(**kwargs)
    compile_kwargs = {}
    for key, value in config["compile"].items():
        if isinstance(value, dict) and "class_name" in value:
            # deserialize() rewrites nested configs (schedules) in place; the
            # recipe must stay plain data for the checkpoint header.
            optimizer = keras.optimizers.deserialize(copy.deepcopy(value))
            value = wrap_for_loss_scaling(optimizer, policy)
        compile_kwargs[key] = value
    model.compile(**compile_kwargs)
    return model


def _build_before_fit(model, images):
    # Restoring a checkpoint needs every variable to exist before the first
    # step; under a real strategy Keras builds symbolically, but under the
    # default strategy it would only build while tracing the first step.
    if not model.built:
        model(images[:2] if images.shape[0] > 1 else images, training=False)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _patch_for_multi_worker(model):
    """Work around two Keras 3 bugs with MultiWorkerMirroredStrategy.

    Before each `fit`, Keras builds the model symbolically from the first
    batch, which it averages with `strategy.reduce`; that cannot reduce an
    `(images, labels)` tuple ("Attempt to convert a value (PerReplica...)").
    The model and its optimizers are already built, so the step is skipped.
    After each step, Keras averages the logs with `reduce(..., axis=0)`,
    which fails on scalars ("Invalid reduction dimension 0 for input with 0
    dimensions", tensorflow/tensorflow#72388); scalars are returned as
    shape-(1,) tensors, which that reduction turns back into scalars.
    """
    train_step = model.train_step

    def train_step_with_vector_logs(data):
        logs = train_step(data)
        return {
            name: tf.reshape(value, (1,)) if value.shape.rank == 0 else value
            for name, value in ((k, tf.convert_to_tensor(v)) for k, v in logs.items())
        }

    object.__setattr__(
        model, "_maybe_symbolic_build", lambda iterator=None, data_batch=None: None
    )
    object.__setattr__(model, "train_step", train_step_with_vector_logs)


def _callbacks(
    config,
    base,
    checkpoint_dir,
    start_step,
    restore_from,
    print_fn,
    extra=(),
    preview_batch=None,
):
    train_cfg = config["train"]
    every = train_cfg["checkpoint_every"] or None
    guard = callbacks_lib.NaNGuard(
        initial_step=start_step, checkpoint_dir=checkpoint_dir
    )
    checkpoint = callbacks_lib.TrainingCheckpoint(
        checkpoint_dir,
        every_n_steps=every,
        keep=train_cfg["keep_checkpoints"],
        initial_step=start_step,
        restore_from=restore_from,
        metadata={"config": config},
    )
    result = {"checkpoint": checkpoint, "max_hours": None, "samples": None}
    cbs = [guard, checkpoint]
    if train_cfg["max_hours"]:
        result["max_hours"] = callbacks_lib.MaxHours(
            train_cfg["max_hours"], checkpoint=checkpoint, initial_step=start_step
        )
        cbs.append(result["max_hours"])
    cbs.extend(extra or ())
    log_dir = os.path.join(base, "logs")
    result["samples"] = callbacks_lib.SampleGrid(
        os.path.join(base, "samples"),
        every_n_steps=train_cfg["sample_every"] or None,
        num_samples=train_cfg["num_samples"],
        seed=train_cfg["seed"],
        log_dir=log_dir,
        initial_step=start_step,
        preview_batch=preview_batch,
    )
    cbs.append(result["samples"])
    cbs.append(
        callbacks_lib.ScalarLogger(
            log_dir, every_n_steps=train_cfg["log_every"], initial_step=start_step
        )
    )
    cbs.append(keras.callbacks.CSVLogger(os.path.join(base, "log.csv"), append=True))
    cbs.append(
        callbacks_lib.EpochSummary(
            total_steps=train_cfg["steps"],
            epochs=math.ceil(train_cfg["steps"] / train_cfg["steps_per_epoch"]),
            initial_step=start_step,
            print_fn=print_fn,
        )
    )
    result["list"] = cbs
    return result


def _save_final(model, base, samples):
    final = os.path.join(base, "final")
    os.makedirs(final, exist_ok=True)
    if callable(getattr(model, "sampling_generator", None)):
        # A GAN's EMA generator is saved with batch-norm statistics computed
        # from its own weights (`GAN.sampling_generator`).
        model.sampling_generator()
    _atomic_save(model, os.path.join(final, "model.keras"))
    for name in SUBMODELS:
        submodel = getattr(model, name, None)
        if isinstance(submodel, keras.Model):
            _atomic_save(submodel, os.path.join(final, f"{name}.keras"))
    if samples is not None and (
        hasattr(model, "generate") or hasattr(model, "preview")
    ):
        samples.set_model(model)
        samples.write("final.png")


def _atomic_save(model, path):
    temporary = f"{path[: -len('.keras')]}.tmp-{os.getpid()}.keras"
    model.save(temporary)
    os.replace(temporary, path)
