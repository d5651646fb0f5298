"""Write docs/claims.md from the experiments' JSON results.

Every number and every verdict in docs/claims.md comes from
`tools/results/claims_*.json` through the rules below; nothing is typed by
hand. A verdict is "reproduced" when every criterion of the claim holds on
the mean over seeds, "partly" when some do, and "not at this scale" when
none do; each section lists the criteria with their measured values.

    .venv/bin/python tools/write_claims.py            # writes docs/claims.md
    .venv/bin/python tools/write_claims.py --results DIR --out FILE
"""

import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=os.path.join(ROOT, "tools", "results"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "claims.md"))
    return parser.parse_args(argv)


def verdict(criteria):
    held = [ok for _, ok in criteria]
    if held and all(held):
        return "reproduced"
    if any(held):
        return "partly reproduced"
    return "not reproduced at this scale"


def _criteria_lines(criteria):
    return [f"- {'holds' if ok else 'does not hold'}: {text}" for text, ok in criteria]


def _chart(result, out_dir):
    chart = result.get("chart")
    if not chart:
        return []
    relative = os.path.relpath(os.path.join(ROOT, chart), out_dir)
    return ["", f"![chart]({relative})"]


def forgetting_section(result, out_dir):
    summary = result["summary"]
    with_rotation, without = summary["with_rotation"], summary["without"]
    config = result["config"]
    criteria = [
        (
            "with the rotation loss the final 10-class probe accuracy is higher "
            f"({with_rotation['final_accuracy_mean']:.3f} vs "
            f"{without['final_accuracy_mean']:.3f})",
            with_rotation["final_accuracy_mean"] > without["final_accuracy_mean"],
        ),
    ]
    if without["mean_change_after_switch"] is not None:
        criteria.append(
            (
                "task switches hurt less with the rotation loss (mean probe change "
                f"after a switch {with_rotation['mean_change_after_switch']:+.4f} vs "
                f"{without['mean_change_after_switch']:+.4f})",
                with_rotation["mean_change_after_switch"]
                > without["mean_change_after_switch"],
            )
        )
    runs = result["variants"]["with_rotation"] + result["variants"]["without"]
    cpu = sum(run["cpu_seconds"] for run in runs)
    speed = sum(r["train_images_per_second"] for r in runs) / len(runs)
    return [
        "## Discriminator forgetting (SS-GAN, Fig. 2)",
        "",
        "Paper: a classifier trained on a sequence of 1-vs-all CIFAR-10 tasks "
        "loses representation quality at every task switch; with the rotation "
        "loss it keeps improving.",
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
        f"**Verdict: {verdict(criteria)}.**",
        "",
        *_criteria_lines(criteria),
        "",
    ]


def discriminator_sections(result, out_dir):
    summary = result["summary"]
    config = result["config"]
    pairs = {}
    for key, entry in summary.items():
        setting = key.split("@", 1)[1]
        pairs.setdefault(setting, {})[entry["method"]] = entry
    probe_criteria, fid_criteria = [], []
    rows = ["| Adam setting | method | peak probe | final probe | final FID |"]
    rows.append("|---|---|---:|---:|---:|")
    for setting, methods in sorted(pairs.items()):
        for method, entry in sorted(methods.items()):
            rows.append(
                f"| {setting} | {method} | {entry['peak_probe_mean']:.3f} | "
                f"{entry['final_probe_mean']:.3f} | {entry['final_fid_mean']:.2f} "
                f"± {entry['final_fid_std']:.2f} |"
            )
        if "gan" not in methods or "ssgan" not in methods:
            continue
        gan, ssgan = methods["gan"], methods["ssgan"]
        gan_decay = gan["peak_probe_mean"] - gan["final_probe_mean"]
        ssgan_decay = ssgan["peak_probe_mean"] - ssgan["final_probe_mean"]
        probe_criteria.append(
            (
                f"{setting}: SS-GAN's D features end better for a linear probe "
                f"({ssgan['final_probe_mean']:.3f} vs {gan['final_probe_mean']:.3f})",
                ssgan["final_probe_mean"] > gan["final_probe_mean"],
            )
        )
        probe_criteria.append(
            (
                f"{setting}: GAN's probe accuracy decays from its peak more than "
                f"SS-GAN's ({gan_decay:.3f} vs {ssgan_decay:.3f})",
                gan_decay > ssgan_decay,
            )
        )
        fid_criteria.append(
            (
                f"{setting}: SS-GAN's final FID is lower ({ssgan['final_fid_mean']:.2f}"
                f" vs {gan['final_fid_mean']:.2f})",
                ssgan["final_fid_mean"] < gan["final_fid_mean"],
            )
        )
    runs = result["runs"]
    speed = sum(r["images_per_second"] for r in runs) / len(runs)
    budget = (
        f"Ours: `gan` and `ssgan`, the same ResNet networks at width "
        f"{config['width']}, batch {config['batch_size']}, {config['steps']} steps, "
        f"{len(config['seeds'])} seed(s), Adam settings {', '.join(config['grid'])}; "
        f"evaluated every {config['eval_every']} steps. "
        f"{result['cpu_seconds']:.0f} CPU-seconds in all, {speed:.0f} training "
        "images/s."
    )
    return [
        "## The discriminator's representation (SS-GAN, Fig. 3)",
        "",
        "Paper: the linear-probe accuracy of an unconditional GAN's discriminator "
        "features rises and then decays during training; SS-GAN's keeps rising.",
        "",
        budget,
        f"Command: `{result['command']}`",
        *_chart(result, out_dir),
        "",
        f"**Verdict: {verdict(probe_criteria)}.**",
        "",
        *_criteria_lines(probe_criteria),
        "",
        *rows,
        "",
        "## SS-GAN against GAN on FID (SS-GAN, Table 1)",
        "",
        "Paper: SS-GAN improves FID over the unconditional GAN on CIFAR-10 "
        "(17.88 ± 0.64 with 10k/10k samples) and is more robust to the "
        "optimiser's hyperparameters. Ours: the same runs as above, FID "
        "(domain features), which does not compare with Inception FIDs.",
        "",
        f"**Verdict: {verdict(fid_criteria)}.**",
        "",
        *_criteria_lines(fid_criteria),
        "",
    ]


def few_labels_section(result, out_dir):
    summary = result["summary"]
    config = result["config"]

    def fid(name):
        return summary[name]["final_fid_mean"] if name in summary else None

    criteria = []
    for fraction in ("s3gan_10", "s3gan_20"):
        if fid(fraction) is not None and fid("gan") is not None:
            criteria.append(
                (
                    f"{fraction} beats the unconditional GAN ({fid(fraction):.2f} vs "
                    f"{fid('gan'):.2f})",
                    fid(fraction) < fid("gan"),
                )
            )
    if fid("cgan_clusters") is not None and fid("cgan_random") is not None:
        criteria.append(
            (
                "labels from clustering self-supervised features beat random labels "
                f"({fid('cgan_clusters'):.2f} vs {fid('cgan_random'):.2f})",
                fid("cgan_clusters") < fid("cgan_random"),
            )
        )
    rows = ["| variant | final FID (domain) | seeds |", "|---|---:|---:|"]
    for name, entry in summary.items():
        rows.append(
            f"| {name} | {entry['final_fid_mean']:.2f} ± {entry['final_fid_std']:.2f} "
            f"| {entry['seeds']} |"
        )
    nmi = result.get("cluster_nmi_with_classes") or {}
    nmi_line = (
        "Normalised mutual information of the cluster ids with the classes: "
        + ", ".join(f"seed {k}: {v:.3f}" for k, v in nmi.items())
        + "."
        if nmi
        else ""
    )
    return [
        "## Fewer labels (S3GAN)",
        "",
        "Paper: with 10-20 % of ImageNet's labels S3GAN matches BigGAN trained "
        "with all of them, and clustering self-supervised features gives useful "
        "labels for free.",
        "",
        f"Ours: CIFAR-10 ({config['train_limit']} training images), width "
        f"{config['width']}, {config['steps']} steps, batch {config['batch_size']}, "
        f"{len(config['seeds'])} seed(s); {result['cpu_seconds']:.0f} CPU-seconds in "
        "all.",
        nmi_line,
        f"Command: `{result['command']}`",
        *_chart(result, out_dir),
        "",
        f"**Verdict: {verdict(criteria)}.**",
        "",
        *_criteria_lines(criteria),
        "",
        *rows,
        "",
    ]


SECTIONS = (
    ("claims_forgetting.json", forgetting_section),
    ("claims_discriminator.json", discriminator_sections),
    ("claims_few_labels.json", few_labels_section),
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
        "the page). Our runs fit on 2 CPU cores: narrow networks, CIFAR-10 at "
        "32x32, thousands rather than hundreds of thousands of steps, and FID "
        "in the features of a small CIFAR-10 classifier (FID (domain)), which "
        "ranks models but does not compare with published Inception FIDs. A "
        "verdict says what holds at this scale, not what holds at the paper's.",
        "",
    ]
    missing = []
    for name, section in SECTIONS:
        path = os.path.join(args.results, name)
        if not os.path.exists(path):
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
