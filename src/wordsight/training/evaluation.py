"""Evaluation during training: the EMA generator measured with registered metrics while the loop runs.

With ``eval_every: N`` (steps) and/or ``eval_every_minutes: M`` (training minutes, evaluation time not
counted) in the :class:`~wordsight.training.config.TrainConfig`, the loop calls :meth:`TrainingEvaluator.evaluate`
on the main process at those points and once at the end. Each evaluation generates one image per caption
for ``eval_captions`` captions of each split in ``eval_splits`` (the synthetic world's test and held-out
scenes, with the run's world options and the world seed ``eval_seed``), scores them with every metric in
``metrics`` (names of ``wordsight.metrics.list_metrics()``), and appends one line per split to
``<run>/metric-<name>.jsonl``::

    {"step": 2000, "split": "test", "oracle_acc/color": 0.98, ..., "oracle_acc_joint": 0.61}

and redraws ``<run>/metric-<name>.png`` (each key over steps, one panel per split). A resumed run first
drops the lines past the step it resumes from, like ``metrics.jsonl``.

The captions are encoded by the training data set itself (``data.encode_captions``: its text encoder and
fitted whitening, as the training sentences were), turned into conditions by the objective
(``objective.conditions``) and sampled with fixed noise from a private ``torch.Generator``; the global RNG
state is saved and restored around an evaluation, so evaluating never changes the training run.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..config import ConfigError
from ..data.synthetic import SyntheticWorld, WorldConfig
from ..metrics import (
    GenerationMetricOptions,
    MetricSpec,
    ReferenceStats,
    evaluate_generation_by_metric,
    inception_extractor,
    list_metrics,
    reference_statistics,
    resolve_metrics,
)
from ..metrics.generation.oracle import evaluation_captions, oracle_feature_extractor
from ..models.oracle import load_oracle
from ..utils.checks import InputError
from ..utils.images import to_uint8
from ..utils.io import append_jsonl, atomic_path
from ..utils.seed import get_rng_state, seed_everything, set_rng_state
from .config import TrainConfig
from .data import mix_seed
from .objective import GANObjective
from .rundir import truncate_metrics

# what a metric may need for the loop to gather it (r_precision and clip_score need encoders loaded from disk)
TRAINING_NEEDS = frozenset({"oracle", "captions", "oracle_features", "oracle_reference", "fidelity", "reference",
                            "classifier"})
ORACLE_NEEDS = frozenset({"oracle", "oracle_features"})
METRIC_FILE = "metric-{name}.jsonl"
METRIC_PLOT = "metric-{name}.png"


def metric_path(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / METRIC_FILE.format(name=name)


def truncate_metric_files(run_dir: Path, after_step: int) -> None:
    """Drop the evaluation records past ``after_step`` in every ``metric-<name>.jsonl`` of the run."""
    for path in sorted(Path(run_dir).glob(METRIC_FILE.format(name="*"))):
        truncate_metrics(run_dir, after_step, path.name)


def read_metric_records(run_dir: Path, name: str) -> list[dict[str, Any]]:
    path = metric_path(run_dir, name)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_evaluation(cfg: TrainConfig, data: Any) -> list[MetricSpec]:
    """The metrics the run evaluates (none when evaluation is off), checked at startup on every process.

    Raises ConfigError for an unknown metric (listing the known ones), a metric the loop cannot gather,
    or data that is not the synthetic world (the captions, reference scenes and oracle come from it)."""
    if not cfg.evaluates:
        return []
    try:
        specs = resolve_metrics(cfg.metrics)
    except InputError as exc:
        raise ConfigError(f"metrics: {exc}") from None
    unsupported = [s.name for s in specs if s.needs - TRAINING_NEEDS]
    if unsupported:
        usable = [n for n in list_metrics() if not resolve_metrics([n])[0].needs - TRAINING_NEEDS]
        raise ConfigError(f"metrics: {', '.join(unsupported)} cannot run during training (it needs an encoder loaded "
                          f"from disk); measure the exported pipeline with `wordsight evaluate generation`. During "
                          f"training: {', '.join(usable)}")
    names = ", ".join(s.name for s in specs)
    if not isinstance(getattr(data, "world", None), SyntheticWorld):
        raise ConfigError(f"metrics: {names} needs --data synthetic (the evaluation captions, reference scenes and "
                          f"oracle come from the synthetic world), not {getattr(data, 'name', type(data).__name__)!r}; "
                          "or set eval_every=0")
    if not callable(getattr(data, "encode_captions", None)):
        raise ConfigError(f"metrics: the training data ({type(data).__name__}) cannot encode captions "
                          "(encode_captions); build it with wordsight.training.sources.build_data")
    return specs


@dataclasses.dataclass
class _Split:
    """What one split's evaluation reuses every time: captions, conditions, fixed noise, references."""

    captions: list[str]
    conditions: dict[str, torch.Tensor]
    noise: torch.Tensor
    reference: ReferenceStats | None = None
    oracle_reference: ReferenceStats | None = None


class EvalSchedule:
    """When to evaluate: every ``eval_every`` steps and/or every ``eval_every_minutes`` of training time."""

    def __init__(self, cfg: TrainConfig):
        self.every, self.period = cfg.eval_every, (cfg.eval_every_minutes * 60 if cfg.eval_every_minutes else None)
        self.next_time = self.period

    def due(self, step: int, train_seconds: float) -> bool:
        by_step = self.every > 0 and step % self.every == 0
        return by_step or (self.period is not None and train_seconds >= self.next_time)

    def done(self, train_seconds: float) -> None:
        while self.period is not None and self.next_time <= train_seconds:
            self.next_time += self.period


class TrainingEvaluator:
    """Measures the EMA generator of a run (see the module docstring); built on the main process only."""

    def __init__(self, cfg: TrainConfig, objective: GANObjective, data: Any, run_dir: Path, device: torch.device,
                 specs: Sequence[MetricSpec], logger: Any = None):
        self.cfg, self.objective, self.run_dir, self.device, self.logger = cfg, objective, Path(run_dir), device, logger
        self.names = [s.name for s in specs]
        needs = set().union(*(s.needs for s in specs))
        self.metric_device = "cuda" if device.type == "cuda" else "cpu"
        # the published protocols' KID subset size and IS splits, capped by the number of images
        self.options = GenerationMetricOptions(batch_size=64, device=self.metric_device,
                                               kid_subset_size=min(1000, cfg.eval_captions),
                                               isc_splits=min(10, cfg.eval_captions))
        self.oracle = None
        if needs & ORACLE_NEEDS:  # a private copy: the loaded oracle is cached and shared
            self.oracle = copy.deepcopy(load_oracle(cfg.eval_oracle)).to(self.metric_device).eval()
        self.extractor = inception_extractor() if {"fidelity", "classifier"} & needs else None
        world = data.world.config
        options = {k: v for k, v in dataclasses.asdict(world).items() if k not in ("seed", "split", "length")}
        captions = evaluation_captions(cfg.eval_captions, seed=cfg.eval_seed, splits=cfg.eval_splits, **options)
        self.splits = {split: self._prepare(split, caps, data, world, needs) for split, caps in captions.items()}
        self.evaluated = {int(r["step"]) for name in self.names for r in read_metric_records(self.run_dir, name)}

    def _prepare(self, split: str, captions: list[str], data: Any, world: WorldConfig, needs: set[str]) -> _Split:
        cond = self.objective.conditions(data.encode_captions(captions))
        cond = {k: v.to(self.device) for k, v in cond.items()}
        gen = torch.Generator().manual_seed(mix_seed("eval-noise", self.cfg.seed, split))
        out = _Split(captions, cond, self.objective.sample_noise(len(captions), gen).to(self.device))
        if {"reference", "oracle_reference"} & needs:
            real = _rendered_scenes(dataclasses.replace(world, seed=self.cfg.eval_seed, split=split), len(captions))
            stats = dict(split=split, use_cache=False, batch_size=self.options.batch_size, device=self.metric_device)
            if "reference" in needs:
                out.reference = reference_statistics(real, self.extractor, **stats)
            if "oracle_reference" in needs:
                out.oracle_reference = reference_statistics(real, oracle_feature_extractor(self.oracle), **stats)
        return out

    @torch.no_grad()
    def evaluate(self, ema: nn.Module, step: int) -> dict[str, dict[str, dict[str, float | None]]]:
        """Measure ``ema`` now; returns ``{metric: {split: values}}`` and appends them to the metric files.
        A step already recorded (e.g. a resumed run's last step) is not measured again."""
        if step in self.evaluated:
            return {}
        state = get_rng_state()
        try:
            seed_everything(mix_seed("eval", self.cfg.seed, step))  # an objective's sample() may draw from it
            results = self._measure(ema, step)
        finally:
            set_rng_state(state)
        for name, by_split in results.items():
            for split, values in by_split.items():
                append_jsonl(metric_path(self.run_dir, name), {"step": step, "split": split, **values})
                self._log_scalars(name, split, values, step)
            plot_metric(self.run_dir, name)
        self.evaluated.add(step)
        return results

    def _measure(self, ema: nn.Module, step: int) -> dict[str, dict[str, dict[str, float | None]]]:
        batch = self.cfg.batch_size
        total = sum(math.ceil(len(s.captions) / batch) for s in self.splits.values())
        bar = tqdm(total=total, desc=f"evaluating step {step}", unit="batch", leave=False, dynamic_ncols=True,
                   disable=not self.cfg.progress)
        results: dict[str, dict[str, dict[str, float | None]]] = {name: {} for name in self.names}
        for split, s in self.splits.items():
            by_metric = evaluate_generation_by_metric(
                self._images(ema, s, batch, bar), s.reference, self.names, feature_extractor=self.extractor,
                captions=s.captions, oracle=self.oracle, oracle_reference=s.oracle_reference, options=self.options)
            for name, values in by_metric.items():
                results[name][split] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()}
        bar.close()
        return results

    def _images(self, ema: nn.Module, s: _Split, batch: int, bar: Any) -> Iterator[torch.Tensor]:
        for lo in range(0, len(s.captions), batch):
            cond = {k: v[lo:lo + batch] for k, v in s.conditions.items()}
            yield to_uint8(self.objective.sample(ema, cond, s.noise[lo:lo + batch]).float())
            bar.update(1)

    def _log_scalars(self, name: str, split: str, values: dict[str, Any], step: int) -> None:
        writer = getattr(self.logger, "writer", None)
        if writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(f"{name}/{split}/{key}", value, step)


def _rendered_scenes(world: WorldConfig, n: int) -> torch.Tensor:
    """Scenes ``0..n-1`` of ``world`` as uint8 [n,3,S,S] (the real side of fid/oracle_fid)."""
    scenes = SyntheticWorld(world)
    arrays = [np.asarray(scenes.scene(i).image.convert("RGB"), dtype=np.uint8) for i in range(n)]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _label(key: str) -> str:
    return key.rsplit("/", 1)[-1].removeprefix("oracle_acc_").removeprefix("oracle_heldout_acc_")


def plot_metric(run_dir: Path, name: str, path: Path | None = None, title: str | None = None) -> Path | None:
    """Draw ``metric-<name>.jsonl``: every key (but ``*_std``) against step, one panel per split, into
    ``path`` (default ``<run>/metric-<name>.png``)."""
    records = read_metric_records(run_dir, name)
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # the OO API: no global pyplot state

    splits = list(dict.fromkeys(r["split"] for r in records))
    fig = Figure(figsize=(5 * len(splits), 3.6), dpi=100)
    axes = fig.subplots(1, len(splits), sharey=True, squeeze=False)[0]
    for ax, split in zip(axes, splits):
        rows = [r for r in records if r["split"] == split]
        keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in ("step", "split") and not k.endswith("_std")]
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
            if points:
                ax.plot(*zip(*points), marker=".", linewidth=1, label=_label(key))
        ax.set_title(f"{split} captions")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(name)
    axes[-1].legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = path or Path(run_dir) / METRIC_PLOT.format(name=name)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out
