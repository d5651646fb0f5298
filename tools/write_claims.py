"""Write docs/claims.md from the experiments' JSON results.

Every number and every verdict in docs/claims.md comes from
`tools/results/claims_*.json` through the rules below; nothing is typed by
hand.

The rule. Each claim is split into criteria, each a comparison the paper
predicts between two variants trained with the same seeds (so the runs pair
up by seed). For every seed we take the difference in the direction the
paper predicts (positive = as the paper says); over the n seeds, with mean d
and standard error se = std(d, ddof=1) / sqrt(n), a criterion

- *holds* when n >= 3 and d > 2 se (and d > 0);
- is *opposite* when n >= 3 and d < -2 se (and d < 0);
- is *within seed noise* otherwise: |d| is not beyond 2 se, or fewer than
  three seeds have both runs (a spread from one or two seeds is no basis
  for a call; the sign is still given);
- is *not measured* when no seed has a trained run of each variant.

Each seed's runs are compared at the last evaluation step all of them
reached (the end of training for finished runs; a run stopped early still
pairs up at an earlier step, stated with the criterion). A claim is
"reproduced" when every criterion holds, "partly reproduced" when at least
one does, "not reproduced at this scale" when none does, and "not measured"
when no criterion could be evaluated. A results file written by an
experiment stopped early says so in its section; its tables average
finished runs only.

    .venv/bin/python tools/write_claims.py            # writes docs/claims.md
    .venv/bin/python tools/write_claims.py --results DIR --out FILE
"""

import argparse
import json
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOLDS = "holds"
NOISE = "within seed noise"
OPPOSITE = "opposite"
MISSING = "not measured"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=os.path.join(ROOT, "tools", "results"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "claims.md"))
    return parser.parse_args(argv)


def judge(better, worse):
    """Status and statistics of "better > worse", paired by seed.

    `better` and `worse` map seed -> value; the paper predicts
    better[seed] > worse[seed].
    """
    seeds = sorted(set(better) & set(worse), key=str)
    if not seeds:
        return MISSING, {"n": 0}
    differences = [better[s] - worse[s] for s in seeds]
    n = len(differences)
    mean = sum(differences) / n
    if n >= 3:
        variance = sum((d - mean) ** 2 for d in differences) / (n - 1)
        error = math.sqrt(variance / n)
    else:
        error = None
    if error is not None and mean > 0 and mean > 2 * error:
        status = HOLDS
    elif error is not None and mean < 0 and -mean > 2 * error:
        status = OPPOSITE
    else:
        status = NOISE
    return status, {"n": n, "mean": mean, "se": error}


def criterion(text, better, worse, scale=1.0, unit=""):
    """A criterion: (text with the paired statistics, status)."""
    status, stats = judge(better, worse)
    if stats["n"]:
        se = "n/a" if stats["se"] is None else f"{stats['se'] * scale:.3g}{unit}"
        text += (
            f"; paired difference {stats['mean'] * scale:+.3g}{unit} "
            f"(se {se}, {stats['n']} seed(s))"
        )
    return text, status


def index_runs(runs, name):
    """{name(run): {seed: run}}, keeping the longest run per name and seed."""
    out = {}
    for run in runs:
        group = out.setdefault(name(run), {})
        old = group.get(run["seed"])
        if old is None or len(run["records"]) > len(old["records"]):
            group[run["seed"]] = run
    return out


def compare(text, runs, names, better, worse):
    """A criterion on runs compared at the last step they all reached.

    `runs` is `index_runs(...)`; for every seed that has a run of each of
    `names`, the records are cut at the last evaluation step all of them
    reached (runs stopped early still pair up; step 0, before training,
    does not count), and `better(records)` / `worse(records)` map
    `{name: records}` to the two values compared.
    """
    high, low, steps = {}, {}, set()
    seeds = set.intersection(*(set(runs.get(n, {})) for n in names))
    for seed in sorted(seeds, key=str):
        chosen = {n: runs[n][seed]["records"] for n in names}
        last = min(records[-1]["step"] for records in chosen.values())
        if last <= 0:
            continue
        cut = {n: [r for r in rec if r["step"] <= last] for n, rec in chosen.items()}
        high[seed], low[seed] = better(cut), worse(cut)
        steps.add(last)
    if steps:
        text += f" at step {', '.join(map(str, sorted(steps)))}"
    return criterion(text, high, low)


def verdict(criteria):
    statuses = [status for _, status in criteria]
    measured = [s for s in statuses if s != MISSING]
    if not measured:
        return "not measured"
    if all(s == HOLDS for s in statuses):
        return "reproduced"
    if HOLDS in statuses:
        return "partly reproduced"
    return "not reproduced at this scale"


def reason(criteria):
    statuses = [status for _, status in criteria]
    counts = {s: statuses.count(s) for s in (HOLDS, NOISE, OPPOSITE, MISSING)}
    parts = [f"{count} {name}" for name, count in counts.items() if count]
    noun = "criterion" if len(statuses) == 1 else "criteria"
    return f"{len(statuses)} {noun}: " + ", ".join(parts)


def _verdict_lines(criteria):
    return [
        f"**Verdict: {verdict(criteria)}** ({reason(criteria)}).",
        "",
        *[f"- {status}: {text}" for text, status in criteria],
    ]


def _chart(result, out_dir):
    chart = result.get("chart")
    if not chart:
        return []
    relative = os.path.relpath(os.path.join(ROOT, chart), out_dir)
    return ["", f"![chart]({relative})"]


def _run_table(runs, name, fields):
    """Every run (finished or not): how far it got and its last values."""
    header = ["run", "seed", "last step", *fields, "finished"]
    rows = ["| " + " | ".join(header) + " |", "|---|---:|---:|"]
    rows[-1] += "---:|" * len(fields) + "---|"
    for run in sorted(runs, key=lambda r: (name(r), str(r["seed"]))):
        last = run["records"][-1]
        values = [f"{last[field]:.3f}" for field in fields.values()]
        rows.append(
            f"| {name(run)} | {run['seed']} | {last['step']} | "
            + " | ".join(values)
            + f" | {'yes' if run.get('complete', True) else 'no'} |"
        )
    return rows


def _commands(result):
    """The command line(s) that made a results file."""
    if not result.get("commands"):
        return [f"Command: `{result['command']}`"]
    parts = "; ".join(f"`{command}`" for command in result["commands"])
    return [
        f"Commands (run side by side): {parts}; then merged with `{result['command']}`."
    ]


def _partial_note(result):
    """A line saying the results file is from a run stopped early, if so."""
    if result.get("complete", True):
        return []
    finished = sum(1 for run in result["runs"] if run.get("complete", True))
    return [
        "",
        f"*Partial results: {finished} of {result.get('planned_runs', '?')} "
        "planned runs finished before the experiment was stopped. The tables "
        "average finished runs only; the criteria compare each seed's runs at "
        "the last evaluation step all of them reached (given with each "
        "criterion).*",
    ]


def _throughput(runs, group, images_per_run):
    """Per group: training images/s (wall clock, shared machine), CPU-s per
    run and images per CPU-second (the run's own CPU time, evaluation
    included: the figure that does not depend on the machine's load)."""
    lines = []
    groups = {}
    for run in runs:
        if run.get("complete", True):
            groups.setdefault(group(run), []).append(run)
    for name, members in sorted(groups.items()):
        speed = sum(r["images_per_second"] for r in members) / len(members)
        cpu = sum(r["cpu_seconds"] for r in members) / len(members)
        lines.append(
            f"{name}: {speed:.1f} training images/s, {cpu:.0f} CPU-s per run, "
            f"{images_per_run / cpu:.1f} images per CPU-second"
        )
    return "; ".join(lines) if lines else "no run finished yet"


# --- Fig. 2: forgetting ------------------------------------------------------


def _switch_change(history, step):
    """Mean probe change across task switches of one run (forgetting < 0)."""
    changes = []
    iterations, accuracy = history["iteration"], history["probe_accuracy"]
    for i, it in enumerate(iterations[:-1]):
        if it > 0 and it % step == 0:
            changes.append(accuracy[i + 1] - accuracy[i])
    return sum(changes) / len(changes) if changes else None


def forgetting_section(result, out_dir):
    config = result["config"]
    variants = result["variants"]
    step = config["iterations_per_task"]

    def per_seed(variant, value):
        out = {}
        for history in variants[variant]:
            v = value(history)
            if v is not None:
                out[history.get("seed", 0)] = v
        return out

    final = {v: per_seed(v, lambda h: h["probe_accuracy"][-1]) for v in variants}
    change = {v: per_seed(v, lambda h: _switch_change(h, step)) for v in variants}
    summary = result["summary"]
    criteria = [
        criterion(
            "with the rotation loss the final 10-class probe accuracy is higher "
            f"({summary['with_rotation']['final_accuracy_mean']:.3f} vs "
            f"{summary['without']['final_accuracy_mean']:.3f})",
            final["with_rotation"],
            final["without"],
        ),
        criterion(
            "task switches hurt less with the rotation loss (mean probe change "
            "across a switch, with vs without)",
            change["with_rotation"],
            change["without"],
        ),
    ]
    runs = variants["with_rotation"] + variants["without"]
    cpu = sum(run["cpu_seconds"] for run in runs)
    speed = sum(r["train_images_per_second"] for r in runs) / len(runs)
    return [
        "## Discriminator forgetting (SS-GAN, Fig. 2)",
        "",
        "Paper (Fig. 2, CIFAR-10): a classifier trained on a sequence of "
        "1-vs-all tasks loses representation quality at every task switch; "
        "with the rotation loss it keeps improving.",
        "",
        f"Ours: the SS-GAN discriminator's ResNet trunk at width {config['width']}, "
        f"{config['iterations_per_task']} iterations per task, "
        f"{config['cycles']} cycle(s) of 10 tasks, batch {config['batch_size']}, "
        f"{len(config['seeds'])} seed(s), 10-class probe on "
        f"{config['probe_train']}/{config['probe_test']} test images. "
        f"{cpu:.0f} CPU-seconds in all, {speed:.0f} training images/s.",
        f"Command: `{result['command']}`",
        *_chart(result, out_dir),
        "",
        *_verdict_lines(criteria),
        "",
    ]


# --- Fig. 3 and Table 1: GAN against SS-GAN ---------------------------------


def _setting(run):
    return f"lr={run['learning_rate']},beta1={run['beta_1']}"


def discriminator_sections(result, out_dir, longer=False):
    """The Fig. 3 and Table 1 sections; `longer`: the longest run, titled so."""
    config = result["config"]
    runs = index_runs(result["runs"], lambda r: (r["method"], _setting(r)))
    settings = [
        f"lr={float(lr)},beta1={float(b)}"
        for lr, b in (g.split(":") for g in config["grid"])
    ]

    def last(name, field):
        return lambda records: records[name][-1][field]

    def decay(name):
        def value(records):
            probe = [r["probe_accuracy"] for r in records[name]]
            return max(probe) - probe[-1]

        return value

    probe_criteria, fid_criteria = [], []
    for setting in settings:
        gan, ssgan = ("gan", setting), ("ssgan", setting)
        probe_criteria.append(
            compare(
                f"{setting}: SS-GAN's D features end better for a linear probe "
                "(accuracy, SS-GAN minus GAN)",
                runs,
                [gan, ssgan],
                last(ssgan, "probe_accuracy"),
                last(gan, "probe_accuracy"),
            )
        )
        probe_criteria.append(
            compare(
                f"{setting}: GAN's probe accuracy falls from its peak more than "
                "SS-GAN's (peak minus last, GAN minus SS-GAN)",
                runs,
                [gan, ssgan],
                decay(gan),
                decay(ssgan),
            )
        )
        fid_criteria.append(
            compare(
                f"{setting}: SS-GAN's FID is lower (GAN minus SS-GAN)",
                runs,
                [gan, ssgan],
                last(gan, "fid"),
                last(ssgan, "fid"),
            )
        )
    base = settings[0]
    for setting in settings[1:]:

        def shift(method, setting=setting):
            def value(records):
                there = records[(method, setting)][-1]["fid"]
                return there - records[(method, base)][-1]["fid"]

            return value

        fid_criteria.append(
            compare(
                f"SS-GAN is more robust to the change {base} -> {setting}: its "
                "FID moves up less (GAN's FID change minus SS-GAN's)",
                runs,
                [(m, s) for m in ("gan", "ssgan") for s in (base, setting)],
                shift("gan"),
                shift("ssgan"),
            )
        )
    rows = [
        "| Adam setting | method | seeds | peak probe | final probe | "
        "final FID (domain) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    if not result["summary"]:
        rows = ["No run finished."]
    for key, entry in sorted(result["summary"].items()):
        rows.append(
            f"| {key.split('@', 1)[1]} | {entry['method']} | {entry['seeds']} | "
            f"{entry['peak_probe_mean']:.3f} | {entry['final_probe_mean']:.3f} | "
            f"{entry['final_fid_mean']:.2f} ± {entry['final_fid_std']:.2f} |"
        )
    speed = _throughput(
        result["runs"],
        lambda r: r["method"],
        config["steps"] * config["batch_size"],
    )
    budget = (
        f"Ours: `gan` and `ssgan`, the same ResNet networks at width "
        f"{config['width']} (D {config['width']}, G {2 * config['width']} "
        f"channels), {config['loss']} loss, batch {config['batch_size']}, "
        f"{config['steps']} steps on {config['train_limit']} CIFAR-10 training "
        f"images, seeds {', '.join(map(str, config['seeds']))}, Adam (lr:beta1, "
        f"beta2 0.999) {', '.join(config['grid'])}. Every {config['eval_every']} "
        f"steps: a linear probe (logistic regression) on D's pooled features of "
        f"{config['probe_images']} CIFAR-10 test images (half to fit, half to "
        f"score), and FID (domain) of {config['num_samples']} samples against "
        f"as many test images. {result['cpu_seconds']:.0f} CPU-seconds and "
        f"{result['wall_seconds'] / 60:.0f} wall-minutes in all on a shared "
        f"2-core machine; {speed}."
    )
    suffix = f", {config['steps']} steps" if longer else ""
    return [
        f"## The discriminator's representation (SS-GAN, Fig. 3{suffix})",
        "",
        "Paper (Fig. 3, ImageNet): the linear-probe accuracy of an "
        "unconditional GAN's discriminator features rises and then decays "
        "late in training; SS-GAN's keeps rising.",
        "",
        budget,
        *_commands(result),
        *_partial_note(result),
        *_chart(result, out_dir),
        "",
        *_verdict_lines(probe_criteria),
        "",
        *rows,
        "",
        "Every run, with its last evaluation:",
        "",
        *_run_table(
            result["runs"],
            lambda r: f"{r['method']} {_setting(r)}",
            {"probe accuracy": "probe_accuracy", "FID (domain)": "fid"},
        ),
        "",
        f"## SS-GAN against GAN on FID (SS-GAN, Table 1{suffix})",
        "",
        "Paper: SS-GAN improves FID over the unconditional GAN (CIFAR-10: "
        "17.88 ± 0.64 with 10k/10k samples) and is more robust to the "
        "optimiser's hyperparameters. Ours: the final FID (domain) of the runs "
        "above (table above), which does not compare with Inception FIDs.",
        "",
        *_verdict_lines(fid_criteria),
        "",
    ]


# --- S3GAN: fewer labels -----------------------------------------------------


def few_labels_section(result, out_dir, longer=False):
    """The S3GAN section; `longer`: the longest run, titled so."""
    config = result["config"]
    runs = index_runs(result["runs"], lambda r: r["variant"])

    def fid(variant):
        return lambda records: records[variant][-1]["fid"]

    variants = set(config["variants"])
    criteria = []
    for fraction in ("s3gan_10", "s3gan_20"):
        if fraction not in variants:
            continue
        criteria.append(
            compare(
                f"{fraction} beats the unconditional GAN on FID (GAN minus {fraction})",
                runs,
                ["gan", fraction],
                fid("gan"),
                fid(fraction),
            )
        )
    if {"cgan_random", "cgan_clusters"} <= variants:
        criteria.append(
            compare(
                "a cGAN on k-means clusters of self-supervised features beats "
                "one on random labels (random minus clusters)",
                runs,
                ["cgan_random", "cgan_clusters"],
                fid("cgan_random"),
                fid("cgan_clusters"),
            )
        )
    rows = ["| variant | final FID (domain) | seeds |", "|---|---:|---:|"]
    if not result["summary"]:
        rows = ["No run finished."]
    for name, entry in result["summary"].items():
        rows.append(
            f"| {name} | {entry['final_fid_mean']:.2f} ± "
            f"{entry['final_fid_std']:.2f} | {entry['seeds']} |"
        )
    summary = result["summary"]
    gap = ""
    if "cgan" in summary and "s3gan_20" in summary:
        gap = (
            " Gap to the fully supervised cGAN (not a criterion): s3gan_20 "
            f"{summary['s3gan_20']['final_fid_mean']:.2f} against cGAN "
            f"{summary['cgan']['final_fid_mean']:.2f}."
        )
    nmi = result.get("cluster_nmi_with_classes") or {}
    nmi_line = (
        "Normalised mutual information of the cluster ids with the classes: "
        + ", ".join(f"seed {k}: {v:.3f}" for k, v in nmi.items())
        + "."
        if nmi
        else ""
    )
    speed = _throughput(
        result["runs"],
        lambda r: r["variant"],
        config["steps"] * config["batch_size"],
    )
    suffix = f", {config['steps']} steps" if longer else ""
    return [
        f"## Fewer labels (S3GAN{suffix})",
        "",
        "Paper (ImageNet 128x128): S3GAN with 10 % / 20 % of the labels reaches "
        "FID 7.6 / 6.9, on par with or better than the fully supervised BigGAN, "
        "and clustering self-supervised features gives useful labels for free.",
        "",
        f"Ours: CIFAR-10 ({config['train_limit']} training images), width "
        f"{config['width']}, {config['steps']} steps, batch {config['batch_size']}, "
        f"seeds {', '.join(map(str, config['seeds']))}, Adam (2e-4, 0.5, 0.999), "
        f"FID (domain) of {config['num_samples']} samples every "
        f"{config['eval_every']} steps"
        + (
            f"; clusters: k-means (10) on a RotNet trained for "
            f"{config['rotnet_steps']} steps. "
            if "cgan_clusters" in variants
            else ". "
        )
        + f"{result['cpu_seconds']:.0f} CPU-seconds and "
        f"{result['wall_seconds'] / 60:.0f} wall-minutes in all on a shared "
        f"2-core machine; {speed}.{gap}",
        nmi_line,
        *_commands(result),
        *_partial_note(result),
        *_chart(result, out_dir),
        "",
        *_verdict_lines(criteria),
        "",
        *rows,
        "",
        "Every run, with its last evaluation:",
        "",
        *_run_table(result["runs"], lambda r: r["variant"], {"FID (domain)": "fid"}),
        "",
    ]


SECTIONS = (
    ("claims_forgetting.json", forgetting_section),
    ("claims_discriminator.json", discriminator_sections),
    (
        "claims_discriminator_long.json",
        lambda result, out_dir: discriminator_sections(result, out_dir, longer=True),
    ),
    ("claims_few_labels.json", few_labels_section),
    (
        "claims_few_labels_long.json",
        lambda result, out_dir: few_labels_section(result, out_dir, longer=True),
    ),
)


def main(argv=None):
    args = parse_args(argv)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    lines = [
        "# The papers' claims, on our own runs",
        "",
        "Each section gives the paper's claim, our measurement with the command "
        "that made it, and a verdict computed from the results file by "
        "`tools/write_claims.py` (this page is generated; edit that script, not "
        "the page). Our runs fit on 2 shared CPU cores: narrow networks, "
        "CIFAR-10 at 32x32, hundreds to thousands rather than hundreds of "
        "thousands of steps, and FID in the features of a small CIFAR-10 "
        "classifier (FID (domain)), which ranks models but does not compare "
        "with published Inception FIDs. Images per second are wall-clock on a "
        "machine shared with other jobs; CPU-seconds are the process's own.",
        "",
        "**How verdicts are computed.** A claim is split into criteria, each a "
        "comparison the paper predicts between two variants trained with the "
        "same seeds. Per seed we take the difference in the paper's direction; "
        "a criterion *holds* when at least three seeds have both runs and the "
        "mean difference exceeds twice its standard error, is *opposite* when "
        "it is beyond twice its standard error the other way, and is *within "
        "seed noise* otherwise (or when fewer than three seeds are there). A "
        "seed's runs "
        "are compared at "
        "the last evaluation step all of them reached (the end of training "
        "unless the experiment was stopped early). Reproduced: every "
        "criterion holds; partly: some do; not reproduced at this scale: none "
        "do. A verdict says what holds at this scale, not what holds at the "
        "paper's.",
        "",
    ]
    missing = []
    for name, section in SECTIONS:
        path = os.path.join(args.results, name)
        if not os.path.exists(path):
            if not name.endswith("_long.json"):  # longer runs are extra
                missing.append(name)
            continue
        with open(path, encoding="utf-8") as file:
            lines += section(json.load(file), out_dir)
    if missing:
        lines += ["## Not yet measured", ""]
        lines += [f"- `tools/results/{name}`: no results file." for name in missing]
        lines.append("")
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as file:
        file.write("\n".join(lines))
    return args.out


if __name__ == "__main__":
    main()
