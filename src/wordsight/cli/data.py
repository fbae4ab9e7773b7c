"""`wordsight data`: inspect data sets on disk and write synthetic ones in every supported layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..utils.checks import InputError
from ..utils.io import atomic_dir

app = typer.Typer(help="Inspect data sets and write synthetic ones.", no_args_is_help=True)

SYNTH_LAYOUTS = ("cub", "folder", "saliency", "manifest", "css")


DEEP_AUTO_MAX = 2000  # sets with at most this many images are decoded in full unless --no-deep


@app.command("inspect")
def inspect(
    path: Path = typer.Argument(..., help="Data set folder (or a manifest .jsonl)."),
    layout: Optional[str] = typer.Option(None, help="Layout name; detected when omitted."),
    max_problems: int = typer.Option(20, help="Problems to list (all are counted)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    deep: Optional[bool] = typer.Option(
        None, "--deep/--no-deep", show_default=f"on for sets of at most {DEEP_AUTO_MAX} images",
        help="Decode every image in full (finds files truncated after their header); --no-deep reads headers only."),
) -> None:
    """Recognise the layout, count items per split and list problems with their paths.

    Exit status: 0 no problems, 1 problems found (listed), 2 nothing usable or bad input.
    """
    from ..data.layouts import inspect_layout

    report = inspect_layout(path, layout)
    images = _image_count(report)
    run_deep = images <= DEEP_AUTO_MAX if deep is None else deep
    report["deep"] = _deep_check(path, report) if run_deep else None
    problems = report["problems"]
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        typer.echo(f"{report['path']}: {report['layout']} ({report['description']})")
        for split, summary in report["splits"].items():
            counts = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in ("layout", "split"))
            typer.echo(f"  {split}: {counts}")
        if report["deep"] is not None:
            typer.echo(f"  decoded {report['deep']['decoded']} image(s) in full: {report['deep']['corrupt']} corrupt")
        else:
            why = "--no-deep" if deep is False else f"{images} images > {DEEP_AUTO_MAX}; pass --deep to decode them all"
            typer.echo(f"  headers checked only ({why})")
        if problems:
            typer.echo(f"{len(problems)} problem(s):")
            for p in problems[:max_problems]:
                typer.echo(f"  {p['path']}: {p['message']}")
            if len(problems) > max_problems:
                typer.echo(f"  ... and {len(problems) - max_problems} more (--max-problems)")
    if not report["usable"]:
        raise InputError(f"{path}: no usable items in the {report['layout']} layout")
    if problems:
        if not as_json:
            typer.echo(f"{path}: {len(problems)} problem(s) found (exit status 1)", err=True)
        raise typer.Exit(1)


def _image_count(report: dict) -> int:
    """Images of the set per the split summaries (for the --deep default); splits that do not count images
    count their items or records."""
    total = 0
    for summary in report["splits"].values():
        for key in ("images", "items", "records", "queries"):
            if isinstance(summary.get(key), int):
                total += summary[key]
                break
    return total


def _deep_check(path: Path, report: dict) -> dict:
    """Decode every image the usable records of each split refer to; add one problem per corrupt file to
    ``report`` (and to its split's problem count). Returns {"decoded": n, "corrupt": k}."""
    from ..data.layouts import LAYOUTS
    from ..data.validation import Problems, decode_check, item_image_files

    spec = LAYOUTS.get(report["layout"])
    seen = {(p["path"], p["message"]) for p in report["problems"]}
    done: set[Path] = set()
    decoded = corrupt = 0
    for split, summary in report["splits"].items():
        data = spec.open(path, split=split, strict=False)
        files = [f for f in item_image_files(data.items) if f not in done]
        done.update(files)
        found = Problems()
        decode_check(files, found)
        decoded += len(files)
        for prob in found:
            if (prob.path, prob.message) not in seen:
                seen.add((prob.path, prob.message))
                report["problems"].append({"path": prob.path, "message": prob.message})
                corrupt += 1
                if isinstance(summary.get("problems"), int):
                    summary["problems"] += 1
    return {"decoded": decoded, "corrupt": corrupt}


def _write_synthetic(out: Path, layout: str, n: int, size: int, seed: int) -> None:
    from ..data import export
    from ..data.records import SALIENCY_CATEGORIES
    from ..data.synthetic import SyntheticWorld, WorldConfig

    def world(split: str) -> SyntheticWorld:
        return SyntheticWorld(WorldConfig(seed=seed, image_size=size, split=split))

    if layout == "cub":
        train, held = world("train"), world("heldout")
        n_test = max(1, n // 5)
        export.write_cub_layout(
            out, [train.captioned_image(i) for i in range(n)], [held.captioned_image(i) for i in range(n_test)],
            class_names=train.class_names, captions_per_image=train.config.captions_per_image, progress=True,
        )
    elif layout == "folder":
        w = world("train")
        export.write_caption_folder(out, [w.captioned_image(i) for i in range(n)], progress=True)
    elif layout == "saliency":
        w = world("train")
        export.write_saliency_folder(out, [w.saliency_record(i, "none") for i in range(n)], progress=True)
    elif layout == "manifest":
        w = world("train")
        recs = [w.saliency_record(i, c) for i in range(n) for c in SALIENCY_CATEGORIES]
        export.write_saliency_manifest(out, recs, progress=True)
    elif layout == "css":
        n_eval = max(1, n // 5)
        export.write_css_layout(out, seed, size, {"train": n, "test": n_eval, "heldout": n_eval},
                                min_objects=1, max_objects=3, progress=True)


def _retrieve_example(folder: Path) -> str:
    """A `wordsight retrieve` line for the first test query of a CSS-like set written to ``folder``."""
    query = {"source": "images/test_00000_source.png", "text": "make the red circle blue"}
    try:
        with open(folder / "test.jsonl", encoding="utf-8") as fh:
            query = json.loads(fh.readline())
    except (OSError, json.JSONDecodeError):
        pass
    return (f"  wordsight retrieve TIRG_PIPELINE {folder / query['source']} {json.dumps(query['text'])} "
            f"--gallery {folder / 'images'} -k 5   (TIRG_PIPELINE: <run>/pipeline of `wordsight train tirg`)")


@app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Output folder (must not exist unless --overwrite)."),
    n: int = typer.Option(64, "--n", min=1, help="Scenes to render."),
    size: int = typer.Option(64, "--size", min=16, max=256, help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed", help="World seed."),
    layout: str = typer.Option("all", "--layout", help="cub | folder | saliency | manifest | css | all"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
) -> None:
    """Render N scenes of the synthetic world and write them in the chosen layout(s).

    The CUB layout holds the train split as train/ and the held-out split (N/5 scenes) as test/; the
    manifest holds every scene under each of the five text conditions; css (a CSS-like retrieval set for
    TIRG) holds N train edits and N/5 test and held-out edits (source, text, target, change mask).
    """
    layouts = SYNTH_LAYOUTS if layout == "all" else (layout,)
    if any(name not in SYNTH_LAYOUTS for name in layouts):
        raise InputError(f"unknown --layout {layout!r}; choose from {', '.join(SYNTH_LAYOUTS)}, all")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file")
    with atomic_dir(out) as tmp:  # a crash leaves no half-written data set behind
        for name in layouts:
            _write_synthetic(tmp / name if layout == "all" else tmp, name, n, size, seed)
    if layout == "css":
        typer.echo(f"wrote {n} train, {max(1, n // 5)} test and {max(1, n // 5)} held-out queries to {out} (css)")
    else:
        typer.echo(f"wrote {n} scenes to {out} ({', '.join(layouts)})")
    for name in layouts:
        typer.echo(f"  wordsight data inspect {out / name if layout == 'all' else out}")
    if "css" in layouts:
        typer.echo(_retrieve_example(out / "css" if layout == "all" else out))

