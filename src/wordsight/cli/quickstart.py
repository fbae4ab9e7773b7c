"""`wordsight quickstart`: the main job on the built-in synthetic world.

Writes ``runs/quickstart/``: a contact sheet of rendered scenes with a caption and their free-viewing
and text-guided fixation maps.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..utils.io import atomic_write_text


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


def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), help="Output folder."),
    minutes: float = typer.Option(5.0, min=0.0, help="Training budget of the fresh DF-GAN run."),
    seed: int = typer.Option(0),
) -> None:
    """Run the main job on the built-in synthetic world."""
    sheet = contact_sheet(out, seed=seed)
    typer.echo(f"contact sheet: {sheet}")
    report = ["# wordsight quickstart", "", f"![contact sheet]({sheet.name})", ""]
    atomic_write_text(out / "report.md", "\n".join(report) + "\n")
    typer.echo(f"report: {out / 'report.md'}")
