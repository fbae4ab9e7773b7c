"""`wordsight quickstart`: the main job on the built-in synthetic world.

Writes ``runs/quickstart/``:
- ``contact_sheet.png``: rendered scenes with a caption and their free-viewing / text-guided fixation maps;
- ``shipped/``: images from the shipped DF-GAN for a few captions (held-out ones included) and its
  oracle accuracy table;
- ``train/damsm/`` and ``train/<run>/``: a fresh run for a fixed time budget (``--minutes``, default 5):
  a DAMSM for a fifth of it, then DF-GAN at 32 px conditioned on that DAMSM's text encoder and trained
  against it (``configs/dfgan_synthetic_quick.yaml``), with sample grids over time, loss curves, the
  oracle metric measured during training (``metric-oracle.jsonl``, every ``--evaluations``-th of the GAN's
  budget and at the end), ``oracle_accuracy.png`` (accuracy against training minutes) and the run's metrics;
- ``report.md`` tying it together.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from ..utils.io import atomic_write_json, atomic_write_text

DEMO_CAPTIONS = [
    "a small red circle",
    "a large blue square",
    "a big yellow star",
    "a little green triangle",
    "a large purple hexagon on a grey background",
    "a small orange diamond",
    # held-out colour/shape combinations (never in the training split) and unseen templates
    "we can see a large orange circle",
    "look at a small purple star",
]


def contact_sheet(out: Path, n: int = 8, size: int = 96, seed: int = 0) -> Path:
    """Scenes, their captions and fixation maps (free viewing and text-guided) in one PNG."""
    from ..data.synthetic import SyntheticWorld, WorldConfig
    from ..utils.images import captioned_grid, heatmap_overlay

    world = SyntheticWorld(WorldConfig(seed=seed, image_size=size, min_objects=1, max_objects=3))
    images, captions = [], []
    for i in range(n):
        scene = world.scene(i)
        free = world.gaze(i, "none")
        guided = world.gaze(i, "nonsalient" if len(scene.objects) > 1 else "salient")
        images += [scene.image, heatmap_overlay(scene.image, free.density), heatmap_overlay(scene.image, guided.density)]
        captions += [scene.captions[0], "free viewing", f"text: {guided.text}"]
    sheet = captioned_grid(images, captions, ncols=6, cell=size + 32, text_h=40)
    path = out / "contact_sheet.png"
    out.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def table(rows: dict[str, dict[str, float]], keys=("color", "shape", "size", "count", "joint")) -> str:
    lines = ["| captions | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * vals[k]:.1f}%" for k in keys) + " |")
    return "\n".join(lines)


def shipped_model_section(out: Path, captions: dict[str, list[str]]) -> list[str]:
    import torch

    from ..pipelines.text_to_image import SHIPPED_DIR, TextToImage
    from ..utils.checks import InputError
    from ..utils.images import captioned_grid

    try:
        pipe = TextToImage.from_pretrained()
    except InputError as exc:
        return ["## Shipped model", "", f"Not available: {exc}", ""]
    out.mkdir(parents=True, exist_ok=True)
    res = pipe(DEMO_CAPTIONS, num_images=2, generator=torch.Generator().manual_seed(0))
    captioned_grid(res.to_pil(), res.captions, ncols=4, cell=112, text_h=36).save(out / "samples.png")
    from ..pipelines.evaluation import oracle_accuracy

    acc = oracle_accuracy(pipe, captions)
    atomic_write_json(out / "oracle_accuracy.json", acc)
    meta = json.loads((SHIPPED_DIR / "pipeline.json").read_text())
    return ["## Shipped model (src/wordsight/assets/dfgan_synthetic)", "",
            f"DF-GAN, nf {pipe.generator.config['nf']}, {pipe.generator.config['image_size']} px, "
            f"{meta.get('trained_steps', '?')} training steps ({meta.get('recipe', 'scripts/train_shipped_dfgan.sh')}).", "",
            f"![samples from the shipped model](shipped/samples.png)", "",
            f"Oracle accuracy on images generated from {len(captions['test'])} captions per split:", "",
            table({"test (seen combinations)": acc["test"], "held-out (unseen combos + templates)": acc["heldout"]}), "",
            "Joint: the object count is right and the named object has every stated attribute; colour, shape "
            "and size score any object the oracle finds, so extra objects raise them by chance.", ""]


QUICK_CONFIG = "dfgan_synthetic_quick"
QUICK_DAMSM_SHARE = 0.2  # of the budget: the DAMSM the run is conditioned on and trained against


def train_with_oracle_curve(out: Path, minutes: float, evaluations: int, eval_captions: int,
                            overrides: list[str], seed: int, damsm_share: float = QUICK_DAMSM_SHARE,
                            damsm_options: dict | None = None) -> tuple[Path | None, list[dict], float]:
    """The quick start's fresh run for ``minutes`` of training time in all: a DAMSM first
    (``damsm_share`` of the budget, in ``out/damsm``), then DF-GAN (``configs/dfgan_synthetic_quick.yaml``)
    conditioned on its text encoder and trained against it, with the ``oracle`` metric measured every
    ``(minutes - DAMSM minutes) / evaluations`` minutes of GAN training (evaluation time not counted) and at
    the end. Returns the run folder, the curve (one row per measurement: ``step``, ``minutes`` of training
    since the start, the DAMSM's included, ``<split>/<score>``; from ``metric-oracle.jsonl``) and the wall minutes.
    ``damsm_share=0`` trains the MiniLM-conditioned ``dfgan_synthetic`` config alone, as before."""
    from ..config import load_config
    from ..training.config import TrainConfig
    from ..training.loop import train
    from ..training.sources import build_data

    t0 = time.time()
    damsm_minutes, config, extra = 0.0, "dfgan_synthetic", []
    if damsm_share > 0:
        from ..training.damsm import DAMSMTrainConfig, train_damsm_synthetic

        damsm_dir = out / "damsm"
        options = {"steps": 1_000_000, "batch_size": 48, "lr": 1e-3, "eval_images": 256, "seed": seed,
                   **(damsm_options or {})}
        typer.echo(f"training the DAMSM the run is conditioned on ({minutes * damsm_share:g} min) ...")
        damsm = train_damsm_synthetic(damsm_dir, DAMSMTrainConfig(minutes=minutes * damsm_share, **options),
                                      world_seed=seed, min_objects=1, max_objects=1)
        if damsm.stopped_by in ("SIGINT", "SIGTERM"):
            raise typer.Exit(130 if damsm.stopped_by == "SIGINT" else 143)
        damsm_minutes = damsm.seconds / 60
        rp = (damsm.r_precision or {}).get("r_precision")
        typer.echo(f"DAMSM: {damsm.steps} steps in {damsm_minutes:.2f} min"
                   + (f", R-precision {rp:.2f} on fresh scenes" if rp is not None else ""))
        config, extra = QUICK_CONFIG, [f"data.text_encoder_path={damsm_dir}", f"model.damsm_path={damsm_dir}"]
    gan_minutes = max(minutes - damsm_minutes, 0.05)
    cfg = load_config(TrainConfig, config, [
        f"seed={seed}", "data.synthetic.num_scenes=1000", f"minutes={gan_minutes}",
        f"eval_every_minutes={gan_minutes / evaluations}", "metrics=[oracle]", f"eval_captions={eval_captions}",
        "eval_splits=[test,heldout]", *extra, *overrides])
    data = build_data("synthetic", cfg)
    result = train(cfg, "dfgan", data, out, desc="dfgan-synthetic")
    wall = round((time.time() - t0) / 60, 2)
    curve = oracle_curve(result.run_dir)
    for k, row in enumerate(curve):  # measurement k+1 is taken after (k+1) intervals of training time
        row["minutes"] = round(damsm_minutes + min((k + 1) * gan_minutes / evaluations, gan_minutes), 3)
    for row in curve:
        typer.echo(f"{row['minutes']:.1f} min, step {row['step']}: oracle colour {row['test/color']:.2f} shape "
                   f"{row['test/shape']:.2f} size {row['test/size']:.2f} (held-out colour {row['heldout/color']:.2f})")
    atomic_write_json(result.run_dir / "oracle_curve.json", curve)
    plot_oracle_curve(curve, result.run_dir / "oracle_accuracy.png")
    return result.run_dir, curve, wall


def oracle_curve(run_dir: Path) -> list[dict]:
    """The run's ``metric-oracle.jsonl`` as one row per step: ``{"step", "<split>/<score>": fraction}``."""
    from ..metrics.generation.oracle import accuracy_from_keys
    from ..training.evaluation import read_metric_records

    rows: dict[int, dict] = {}
    for record in read_metric_records(run_dir, "oracle"):
        row = rows.setdefault(int(record["step"]), {"step": int(record["step"])})
        row.update({f"{record['split']}/{k}": v for k, v in accuracy_from_keys(record).items()})
    return [rows[step] for step in sorted(rows)]


def _precision_note() -> str:
    from ..utils.hardware import precision_choice

    choice = precision_choice("cpu")
    return f"{'bf16 autocast' if choice.precision == 'bf16' else 'fp32'} ({choice.reason})"


def plot_oracle_curve(curve: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [c.get("minutes", c["step"]) for c in curve]
    for key, style in (("test/color", "-"), ("test/shape", "-"), ("test/size", "-"), ("heldout/color", "--"), ("heldout/shape", "--")):
        ax.plot(steps, [c[key] for c in curve], style, marker="o", label=key)
    ax.axhline(1 / 8, color="grey", lw=0.8, ls=":", label="colour chance")
    ax.axhline(1 / 6, color="grey", lw=0.8, ls="-.", label="shape chance")
    ax.set_xlabel("training minutes (DAMSM included)" if curve and "minutes" in curve[0] else "training step")
    ax.set_ylabel("oracle accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), help="Output folder."),
    minutes: float = typer.Option(5.0, min=0.0, help="Training budget of the fresh run, its DAMSM included (0 skips it)."),
    evaluations: int = typer.Option(5, "--evaluations", "--segments", min=1,
                                    help="Oracle measurements during the training run (the last at its end)."),
    eval_captions: int = typer.Option(128, min=8, help="Captions per split for the oracle tables."),
    seed: int = typer.Option(0),
) -> None:
    """Run the main job on the built-in synthetic world (see README, 'The main job')."""
    out.mkdir(parents=True, exist_ok=True)
    from ..metrics.generation.oracle import evaluation_captions

    sheet = contact_sheet(out, seed=seed)
    typer.echo(f"contact sheet: {sheet}")
    captions = evaluation_captions(eval_captions)
    report = ["# wordsight quickstart", "", "## The synthetic world", "", f"![contact sheet]({sheet.name})", ""]
    report += shipped_model_section(out / "shipped", captions)
    if minutes > 0:
        run_dir, curve, wall = train_with_oracle_curve(out / "train", minutes, evaluations, eval_captions, [], seed)
        if run_dir is not None and curve:
            rel = run_dir.relative_to(out)
            last = curve[-1]
            grids = sorted((run_dir / "samples").glob("*.png"))
            report += [f"## A fresh run ({minutes:g} min on this machine)", "",
                       f"A DAMSM (`train/damsm`) for {QUICK_DAMSM_SHARE:.0%} of the budget, then DF-GAN at 32 px "
                       f"conditioned on its text encoder and trained against it (`{QUICK_CONFIG}` config; "
                       "docs/quickstart.md).", "",
                       f"Run folder: `{rel}` (config, metrics.jsonl, checkpoints, TensorBoard logs).", "",
                       f"![oracle accuracy over time]({rel}/oracle_accuracy.png)", "",
                       f"![loss curves]({rel}/loss_curves.png)", ""]
            if grids:
                report += [f"Last sample grid (fixed noise and captions): ![samples]({grids[-1].relative_to(out)})", ""]
            report += ["Oracle accuracy at the end of the run (its last measurement):", "",
                       table({"test": {k.split('/')[1]: v for k, v in last.items() if k.startswith("test/")},
                              "held-out": {k.split('/')[1]: v for k, v in last.items() if k.startswith("heldout/")}}), "",
                       f"Chance: colour 12.5%, shape 16.7%, size 50%. Joint: the object count is right and the named "
                       f"object has every stated attribute (colour, shape, size score any object found). This run made {last['step']} training steps "
                       f"in {wall} minutes of wall time (oracle checks included) in {_precision_note()}; "
                       "how far a short run gets "
                       "depends on the machine and its load. Longer runs: `wordsight train dfgan --data synthetic "
                       "--minutes 60` (see docs/dfgan.md).", ""]
    atomic_write_text(out / "report.md", "\n".join(report) + "\n")
    typer.echo(f"report: {out / 'report.md'}")
