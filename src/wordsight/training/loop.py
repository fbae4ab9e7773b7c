"""The one training loop for every GAN system, on HF Accelerate.

    result = train(cfg, "dfgan", RandomCaptionData(64, 16, 16), "runs")      # runs/00000-dfgan-random/
    result = train(cfg, "dfgan", data, "runs", resume="latest")             # continue exactly

Per step s (in every process r): seed torch/numpy/random with (seed, s, r); fetch the micro-batches of
step s; for each phase of the objective (D then G): forward under autocast, backward, average gradients
across processes, check losses and gradients for NaN/inf (skip the update if any), clip, step; then the
LR schedules and the generator EMA. ``phase_repeats`` ({d: 2}) runs a phase several times per step, each
on a fresh batch. Data and noise are functions of (seed, step), so a run resumed from
``checkpoint-s`` continues exactly as the uninterrupted run would have.

Resuming (``resume=``) restores every state and continues in the checkpoint's run folder. The config may
differ from the run's saved one only in keys that do not change what is computed (``rundir.RESUMABLE_KEYS``:
steps, minutes, log/sample/checkpoint/evaluation intervals, keep_last, num_samples, max_bad_steps,
tensorboard, progress, metrics, data_errors); any other difference is a ConfigError naming each key with its
old -> new values, raised before the run folder is touched. Allowed changes are written to the run's
``config.yaml`` only after the checkpoint is restored and the data checked. A resume also removes what
killed atomic writes left behind (``.NAME.<random>.tmp``), as does the end of a run.

A training sample that cannot be read stops the run after saving a checkpoint of the last completed step
(``data_errors: stop``, a one-line DataReadError naming the sample), or is replaced by the next readable
index and counted (``data_errors: skip``; see training/data.py). A run folder this trainer made is
deleted again when it fails before holding anything of value (no checkpoint, no logged metrics).

Why gradients are averaged by hand rather than through DDP (``accelerator.prepare``): GAN objectives
call D several times per backward and MA-GP-style penalties need double backward, which DDP does not
support. Accelerate still provides the process group (gloo on CPU, NCCL on GPUs), devices and
collectives, so the same code runs under ``torchrun`` and ``accelerate launch``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast, broadcast_object_list, gather_object
from torch import nn
from tqdm.auto import tqdm

from ..config import ConfigError, config_to_dict, save_config
from ..hub import WEIGHTS_NAME, load_weights, save_pretrained
from ..utils.checks import InputError
from ..utils.hardware import resolve_precision
from ..utils.seed import get_rng_state, seed_everything, set_rng_state
from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .config import TrainConfig, resolve_optimizers
from .data import READ_ERRORS, DataReadError, as_batch_source, mix_seed
from .ema import ema_decay_at, make_ema, update_ema
from .evaluation import EvalSchedule, TrainingEvaluator, check_evaluation, truncate_metric_files
from .objective import GANObjective, Phase, build_objective
from .rundir import (MetricsLogger, check_resume_config, clean_run_dir, discard_run_dir, make_run_dir, plot_loss_curves,
                     resolve_resume, save_sample_grid, saved_run_config, truncate_metrics)

log = logging.getLogger(__name__)


class NonFiniteTrainingError(RuntimeError):
    """Too many consecutive steps with NaN/inf losses or gradients."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    objective: GANObjective = dataclasses.field(repr=False)
    ema: nn.Module = dataclasses.field(repr=False)
    stopped_by: str  # "steps", "time", "SIGINT" or "SIGTERM"
    skipped_steps: dict[str, int]
    skipped_samples: int = 0  # unreadable samples replaced (data_errors="skip"), over all processes


def train(
    cfg: TrainConfig,
    system: str | GANObjective | None = None,
    data: Any = None,
    run_dir: str | os.PathLike = "runs",
    resume: str | os.PathLike | None = None,
    desc: str | None = None,
) -> TrainResult:
    """Train ``system`` (a registered name, default ``cfg.system``, or a built objective) on ``data``.

    Args:
        cfg: the training config.
        system: registry name (built from ``cfg.model``) or a :class:`GANObjective` instance.
        data: a map-style dataset of sample dicts, an iterable of batch dicts or an object with
            ``batch(step, rank, world_size)`` (see :mod:`wordsight.training.data`).
        run_dir: the folder holding numbered runs; a new run goes to ``run_dir/<id>-<desc>/``.
        resume: ``"latest"`` (newest checkpoint of the newest run under ``run_dir``) or a checkpoint or run
            folder; training continues in that run folder. ``cfg`` may differ from the run's config only in
            ``rundir.RESUMABLE_KEYS`` (a ConfigError lists any other difference; see the module docstring).
        desc: run folder suffix (default ``<system>-<data name>``).
    Returns:
        A :class:`TrainResult` with the run folder, final step, objective and EMA generator.
    """
    if data is None:
        raise InputError("train: no training data given")
    return Trainer(cfg, system, data, Path(run_dir), resume, desc).run()


def decay_interval_steps(cfg: TrainConfig, data: Any, num_processes: int = 1) -> int:
    """Steps between decays of ``lr_schedule: step``: ``lr_decay_every``, or ``lr_decay_every_epochs`` times
    the steps of one epoch (the data set's length over the global batch; at least one step)."""
    if cfg.lr_decay_every > 0:
        return cfg.lr_decay_every
    if not hasattr(data, "__len__"):
        raise ConfigError("lr_decay_every_epochs needs a data set with a length; this source streams batches: "
                          "set lr_decay_every (steps) instead")
    global_batch = cfg.batch_size * cfg.grad_accum * num_processes
    return max(1, round(cfg.lr_decay_every_epochs * len(data) / global_batch))


def _lr_factor(cfg: TrainConfig, decay_every: int = 0):
    """Multiplier of the base learning rate at step s: linear warm-up, then constant/step/linear/cosine
    decay. A pure function of the step, so a resumed run continues the same schedule."""

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.lr_schedule == "constant":
            return 1.0
        if cfg.lr_schedule == "step":
            return cfg.lr_decay_factor ** ((step - cfg.warmup_steps) // decay_every)
        span = max(1, cfg.steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        return 1.0 - progress if cfg.lr_schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


class Trainer:
    """State of one training run; :meth:`run` is the loop. Use :func:`train` rather than this class."""

    def __init__(self, cfg: TrainConfig, system, data, root: Path, resume, desc: str | None):
        # cpu=True also when no accelerator exists: that is how Accelerate picks MULTI_CPU (gloo) under torchrun
        use_cpu = cfg.device == "cpu" or not torch.accelerator.is_available()
        self.accelerator = Accelerator(cpu=use_cpu, mixed_precision="no")
        self.device = self.accelerator.device
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        self.is_main = self.accelerator.is_main_process
        cfg = dataclasses.replace(cfg, mixed_precision=_resolved_precision(cfg, root, resume, self.device))
        _check_precision(cfg, self.device)
        _set_determinism(cfg.deterministic, self.device)
        seed_everything(mix_seed("init", cfg.seed))  # identical initial weights in every process
        self.objective = build_objective(cfg.system if system is None else system, cfg.model, data) if not isinstance(system, GANObjective) else system
        self.objective.check_data(data)
        self.opt_cfgs = resolve_optimizers(cfg, self.objective.optimizer_defaults())
        self.cfg = self._resolved_config(cfg)
        self._place_networks()
        self.optimizers, self.params = self._make_optimizers()
        decay_every = decay_interval_steps(cfg, data, self.accelerator.num_processes) if cfg.lr_schedule == "step" else 0
        self.schedulers = {n: torch.optim.lr_scheduler.LambdaLR(o, _lr_factor(cfg, decay_every)) for n, o in self.optimizers.items()}
        fp16 = cfg.mixed_precision == "fp16"
        self.scalers = {n: torch.amp.GradScaler(self.device.type) for n in self.optimizers} if fp16 else {}
        self.ema = make_ema(self.objective.generator)
        self.source = as_batch_source(data, cfg.batch_size, cfg.seed, cfg.data_errors)
        eval_specs = check_evaluation(cfg, data)  # a ConfigError before any run folder is made
        self.step, self.skipped, self.bad_streak = 0, {p.name: 0 for p in self.objective.phases}, 0
        self.data_skipped = 0  # unreadable samples replaced so far (data_errors="skip"), all processes
        self._saved_at = -1  # the step of the newest checkpoint this session wrote or restored
        self._created_run: Path | None = None  # a run folder this trainer made (removed again if the start fails)
        self.logger: MetricsLogger | None = None
        unknown = sorted(set(cfg.phase_repeats) - set(self.skipped))
        if unknown:
            raise ConfigError(f"phase_repeats names unknown phase {unknown[0]!r}; this system's phases: {', '.join(self.skipped)}")
        self.rounds = max([1, *cfg.phase_repeats.values()])
        desc = desc or f"{cfg.system if system is None or isinstance(system, GANObjective) else system}-{_data_name(data)}"
        try:
            self.run_dir, resumed_from, changes = self._open_run_dir(root, resume, desc)
            if self.is_main:
                _keep_data_artifacts(data, self.run_dir)  # on resume: a ConfigError before anything is written
                if resumed_from is not None:
                    self._commit_resume(resumed_from, changes)
                # TensorBoard drops the events of steps after the checkpoint: they are trained (and logged) again
                self.logger = MetricsLogger(self.run_dir, cfg.tensorboard, purge_step=self.step + 1 if resumed_from else None)
                _record_data(data, self.run_dir)
            self._fixed = self._fixed_sample_inputs() if self.is_main else None
            self._eval_schedule = EvalSchedule(self.cfg) if eval_specs else None
            self.evaluator = (TrainingEvaluator(self.cfg, self.objective, data, self.run_dir, self.device, eval_specs, self.logger)
                              if eval_specs and self.is_main else None)
        except BaseException:
            self._abandon()
            raise
        self._eval_seconds = 0.0  # time spent evaluating: not part of the `minutes` budget
        self._signal: str | None = None
        self._reset_window()

    # ---- setup ------------------------------------------------------------------------------------
    def _resolved_config(self, cfg: TrainConfig) -> TrainConfig:
        model_cfg = getattr(self.objective, "cfg", None)
        model = config_to_dict(model_cfg) if dataclasses.is_dataclass(model_cfg) else dict(cfg.model)
        opts = {n: config_to_dict(o) for n, o in self.opt_cfgs.items()}
        return dataclasses.replace(cfg, model=model, optimizers=opts)

    def _place_networks(self) -> None:
        self.objective.to(self.device)
        if self.cfg.channels_last:
            self.objective.to(memory_format=torch.channels_last)
        if self.world > 1:  # a caller-built objective may differ per process: take process 0's weights
            with torch.no_grad():
                for t in list(self.objective.parameters()) + list(self.objective.buffers()):
                    t.copy_(broadcast(t.detach().clone(), from_process=0))

    def _make_optimizers(self):
        groups = self.objective.optimizer_params()
        if set(groups) != set(self.opt_cfgs):
            raise ConfigError(f"objective optimizers {sorted(groups)} do not match its defaults {sorted(self.opt_cfgs)}")
        optimizers, params = {}, {}
        for name, ps in groups.items():
            o = self.opt_cfgs[name]
            params[name] = [p for p in ps if p.requires_grad]
            if o.kind == "sgd":
                optimizers[name] = torch.optim.SGD(params[name], lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
            else:
                optimizers[name] = torch.optim.Adam(params[name], lr=o.lr, betas=tuple(o.betas), eps=o.eps, weight_decay=o.weight_decay)
        return optimizers, params

    def _open_run_dir(self, root: Path, resume, desc: str) -> tuple[Path, Path | None, dict[str, tuple[Any, Any]]]:
        """(run folder, checkpoint restored or None, allowed config changes). A new run gets a numbered
        folder with its config.yaml; a resumed one is checked (:func:`~.rundir.check_resume_config`) and
        restored without writing anything into the folder (that is :meth:`_commit_resume`'s job)."""
        shared: list[Any] = [None, None, {}, None]  # run, checkpoint, changes, (error type, message)
        error: Exception | None = None
        if self.is_main:
            try:
                if resume is None:
                    run = self._created_run = make_run_dir(root, desc)
                    save_config(self.cfg, run / "config.yaml")
                    shared[:2] = [str(run), None]
                else:
                    ckpt = resolve_resume(root, str(resume))
                    shared[:3] = [str(ckpt.parent), str(ckpt), check_resume_config(ckpt, config_to_dict(self.cfg))]
            except (InputError, ConfigError) as exc:
                error, shared[3] = exc, (type(exc) is ConfigError, str(exc))
        if self.world > 1:  # every process raises, rather than the others waiting for process 0 forever
            broadcast_object_list(shared, from_process=0)
        if error is not None:
            raise error
        if shared[3] is not None:
            raise (ConfigError if shared[3][0] else InputError)(shared[3][1])
        run, ckpt = Path(shared[0]), (Path(shared[1]) if shared[1] else None)
        if ckpt is not None:
            self._restore(ckpt)
        return run, ckpt, shared[2]

    def _commit_resume(self, checkpoint: Path, changes: dict[str, tuple[Any, Any]]) -> None:
        """After a successful restore: remove what killed writes left, drop the records of steps after the
        checkpoint (they are trained again), write the config with its allowed changes, and say so."""
        clean_run_dir(self.run_dir)
        truncate_metrics(self.run_dir, self.step)
        truncate_metric_files(self.run_dir, self.step)
        if changes:
            save_config(self.cfg, self.run_dir / "config.yaml")
        shown = "; changed " + ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changes.items()) if changes else ""
        _tell(f"resumed {self.run_dir} from step {self.step} ({checkpoint.name}){shown}")

    def _abandon(self) -> None:
        """A start or run that fails: close the logs, and delete the run folder this trainer made if it
        holds nothing of value (rundir.discard_run_dir), so failed starts leave no empty numbered folders."""
        if not self.is_main:
            return
        if self.logger is not None:
            with contextlib.suppress(Exception):
                self.logger.close()
        if self._created_run is not None and discard_run_dir(self._created_run):
            log.info("removed %s: the run failed before it saved anything", self._created_run)

    def _fixed_sample_inputs(self) -> tuple[dict[str, torch.Tensor], torch.Tensor, list[str] | None]:
        """Conditions (and captions) of the first ``num_samples`` training samples, and fixed noise."""
        n, conds, captions, step = self.cfg.num_samples, [], [], 0
        while sum(c[next(iter(c))].shape[0] for c in conds) < n and step < n:
            batch = self.source.batch(step, 0, 1)
            conds.append(self.objective.conditions(batch))
            captions.extend(batch.get("captions", []) if isinstance(batch.get("captions"), list) else [])
            step += 1
        cond = {k: torch.cat([c[k] for c in conds])[:n].to(self.device) for k in conds[0]}
        n = next(iter(cond.values())).shape[0]
        noise = self.objective.sample_noise(n, torch.Generator().manual_seed(mix_seed("sample-noise", self.cfg.seed))).to(self.device)
        return cond, noise, (captions[:n] if len(captions) >= n else None)

    # ---- checkpoints --------------------------------------------------------------------------
    def _restore(self, folder: Path) -> None:
        state = load_checkpoint(folder, self.objective.networks(), self.ema)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
            _match_state_layout(opt)
        for name, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        rng = state.get("rng", [])
        if self.rank < len(rng):
            set_rng_state(rng[self.rank])
        self.step, self.skipped, self.bad_streak = int(state["step"]), dict(state["skipped"]), int(state["bad_streak"])
        self.data_skipped = int(state.get("data_skipped", 0))
        self._saved_at = self.step
        if int(state.get("world_size", self.world)) != self.world and self.is_main:
            log.warning("resuming a %s-process checkpoint with %d processes: the data order will differ", state["world_size"], self.world)

    def _checkpoint(self) -> Path | None:
        if self.world > 1:
            self._check_replicas()
        rng = gather_object([get_rng_state()]) if self.world > 1 else [get_rng_state()]
        path = None
        if self.is_main:
            state = {
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scalers": {n: s.state_dict() for n, s in self.scalers.items()},
                "rng": rng,
                "skipped": self.skipped,
                "bad_streak": self.bad_streak,
                "data_skipped": self.data_skipped,
                "world_size": self.world,
            }
            path = save_checkpoint(self.run_dir, self.step, self.objective.networks(), self.ema, state, self.cfg, self.cfg.keep_last)
        self.accelerator.wait_for_everyone()
        self._saved_at = self.step
        return path

    def _check_replicas(self) -> None:
        """All processes must hold bit-identical weights; a mismatch means gradient sync broke."""
        prints = gather_object([weights_fingerprint(self.objective)])
        if len(set(prints)) != 1:
            raise RuntimeError(f"process replicas diverged at step {self.step}: weight fingerprints {prints}")
        if self.is_main:
            self.logger.log({"step": self.step, "event": "replicas_checked", "replica_fingerprints": prints})

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        try:
            return self._run()
        except BaseException:
            self._abandon()
            raise

    def _run(self) -> TrainResult:
        start, stopped_by = time.monotonic(), "steps"
        bar = tqdm(total=self.cfg.steps, initial=self.step, unit="step", dynamic_ncols=True, disable=not (self.is_main and self.cfg.progress))
        with self._signal_handlers():
            while self.step < self.cfg.steps:
                self._window_add(self._train_step(self._draw_batches()))
                self.step += 1
                bar.update(1)
                stop = self._should_stop(start)
                if self.step % self.cfg.log_every == 0 or stop or self.step == self.cfg.steps:
                    postfix = self._log()
                    if self.cfg.minutes is not None:  # tqdm's ETA counts to `steps`; the time budget usually ends first
                        left = max(0.0, self.cfg.minutes * 60 - self._train_seconds(start))
                        postfix["budget left"] = f"{int(left // 60)}:{int(left % 60):02d}"
                    bar.set_postfix(postfix, refresh=False)
                if self.step % self.cfg.sample_every == 0 and self.is_main:
                    self._sample()
                if self.step % self.cfg.checkpoint_every == 0 or stop:
                    self._checkpoint()
                if not stop and self._eval_due(start):
                    self._evaluate(start)
                if stop:
                    stopped_by = stop
                    break
        bar.close()
        self._finish(start)
        return TrainResult(self.run_dir, self.step, self.objective, self.ema, stopped_by, dict(self.skipped), self.data_skipped)

    def _finish(self, start: float) -> None:
        if self._saved_at != self.step and (self.step > 0 or not list_checkpoints(self.run_dir)):
            self._checkpoint()
        if self._eval_schedule is not None:
            self._evaluate(start)  # the end of the run is always measured (once per step)
        if self.is_main:
            self._sample()
            plot_loss_curves(self.run_dir, tuple(f"{p.name}/" for p in self.objective.phases))
            if hasattr(self.ema, "model_type"):
                save_pretrained(self.ema, self.run_dir / "generator_ema", extra={"step": self.step})
            self.logger.close()
            clean_run_dir(self.run_dir)  # leftovers of earlier sessions' killed writes (this one's all finished)
        self.accelerator.wait_for_everyone()

    def _draw_batches(self) -> list[list[dict[str, Any]]]:
        """Seed step ``self.step`` and fetch its ``rounds`` sets of ``grad_accum`` micro-batches. A sample
        that cannot be read is replaced inside the source (data_errors=skip; counted here) or stops the run
        in every process (:meth:`_stop_on_data_error`)."""
        seed_everything(mix_seed("step", self.cfg.seed, self.step, self.rank))  # noise = f(seed, step, rank)
        accum, rounds = self.cfg.grad_accum, self.rounds
        skipped_before, error, sets = getattr(self.source, "skipped", 0), None, []
        try:
            # `rounds` sets of micro-batches; a phase repeated n times uses the last n, so a phase that runs once
            # (DF-GAN's G) sees the same batch as the last repetition of a repeated one (its fakes are reused)
            sets = [[self._to_device(self.source.batch((self.step * rounds + r) * accum + k, self.rank, self.world))
                     for k in range(accum)] for r in range(rounds)]
        except DataReadError as exc:
            error = exc
        except READ_ERRORS as exc:  # a batch source of the caller's own (whole batches: nothing to skip)
            error = DataReadError(f"cannot read a training batch: {' '.join(str(exc).split()) or type(exc).__name__}")
            error.__cause__ = exc
        new_skips, failed = getattr(self.source, "skipped", 0) - skipped_before, error is not None
        if self.world > 1:  # every process must stop at the same step, and the count is over all of them
            totals = self.accelerator.reduce(torch.tensor([float(failed), float(new_skips)], device=self.device), reduction="sum")
            failed, new_skips = bool(totals[0].item() > 0), int(totals[1].item())
        self.data_skipped += new_skips
        if failed:
            self._stop_on_data_error(error)
        return sets

    def _stop_on_data_error(self, error: DataReadError | None) -> None:
        """Save a checkpoint of the last completed step (unless one exists) and raise a one-line error."""
        if self.step > 0 and self._saved_at != self.step:
            self._checkpoint()
            saved = f"saved checkpoint-{self.step} (the last completed step)"
        else:
            saved = f"checkpoint-{self.step} holds the last completed step" if self.step > 0 else "no step was completed"
        what = str(error) if error is not None else "another process could not read its training data"
        raise DataReadError(f"{what} (training step {self.step + 1}); {saved}. Fix or remove the file, or resume "
                            "with data_errors=skip to replace unreadable samples",
                            index=getattr(error, "index", None)) from error

    def _train_step(self, sets: list[list[dict[str, Any]]]) -> dict[str, float]:
        logs, bad, rounds = {}, False, self.rounds
        for phase in self.objective.phases:
            count = self.cfg.phase_repeats.get(phase.name, 1)
            for r in range(rounds - count, rounds):
                if r > rounds - count:
                    self.objective.end_step()  # caches hold only the last repetition's values
                phase_logs, ok = self._run_phase(phase, sets[r])
                logs.update(phase_logs)  # the last repetition's losses are logged
                bad |= not ok
        self.objective.end_step()
        self._sync_buffers()
        with warnings.catch_warnings():  # a skipped optimizer step is intended; the schedule stays f(step)
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
            for sched in self.schedulers.values():
                sched.step()
        update_ema(self.ema, self.objective.generator, ema_decay_at(self.cfg, self.step))
        self.bad_streak = self.bad_streak + 1 if bad else 0
        if self.bad_streak >= self.cfg.max_bad_steps:
            self._raise_non_finite(logs)
        return logs

    def _run_phase(self, phase: Phase, micro: list[dict[str, Any]]) -> tuple[dict[str, float], bool]:
        opt, params, scaler = self.optimizers[phase.optimizer], self.params[phase.optimizer], self.scalers.get(phase.optimizer)
        opt.zero_grad(set_to_none=True)
        step_fn = getattr(self.objective, phase.method)
        sums: dict[str, torch.Tensor] = {}
        for batch in micro:
            with self._autocast():
                out = step_fn(batch)
            if "loss" not in out:
                raise KeyError(f"{type(self.objective).__name__}.{phase.method} must return a 'loss' entry, got {sorted(out)}")
            loss = out["loss"].float() / len(micro)
            (scaler.scale(loss) if scaler is not None else loss).backward()
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + v.detach().float() / len(micro)
        losses_finite = bool(torch.isfinite(torch.stack(list(sums.values()))).all())
        grads = self._sync_grads(params, losses_finite)
        if scaler is not None:
            scaler.unscale_(opt)
        norm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())
        ok = losses_finite and bool(torch.isfinite(norm))
        if ok:
            if self.cfg.grad_clip is not None:
                torch.nn.utils.clip_grads_with_norm_(params, self.cfg.grad_clip, norm)
            scaler.step(opt) if scaler is not None else opt.step()
        else:
            self.skipped[phase.name] += 1
        if scaler is not None:
            scaler.update()
        logs = {f"{phase.name}/{k}": float(v) for k, v in sums.items()}
        logs[f"{phase.name}/grad_norm"] = float(norm)
        return logs, ok

    def _sync_buffers(self) -> None:
        """Average the floating-point buffers (batch-norm running statistics) over processes after each step:
        each process normalised its own shard of the batch, so its running statistics differ, and replicas
        must stay identical (DDP broadcasts process 0's instead; the mean uses every process's data)."""
        if self.world == 1:
            return
        buffers = [b for b in self.objective.buffers() if b.is_floating_point()]
        if not buffers:
            return
        flat = self.accelerator.reduce(torch.cat([b.detach().reshape(-1).float() for b in buffers]), reduction="mean")
        offset = 0
        with torch.no_grad():
            for b in buffers:
                b.copy_(flat[offset : offset + b.numel()].view(b.shape))
                offset += b.numel()

    def _sync_grads(self, params: list[nn.Parameter], losses_finite: bool) -> list[torch.Tensor]:
        """Average gradients over processes in one all-reduce; a NaN marker spreads any process's
        non-finite loss to all, so every process makes the same skip decision."""
        if self.world == 1:
            return [p.grad for p in params if p.grad is not None]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        marker = torch.zeros(1, device=self.device) if losses_finite else torch.full((1,), float("nan"), device=self.device)
        flat = torch.cat([g.reshape(-1).float() for g in grads] + [marker])
        flat = self.accelerator.reduce(flat, reduction="mean")
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view(g.shape))
            offset += g.numel()
        if not torch.isfinite(flat[-1]):
            grads[0].fill_(float("nan"))  # makes the total norm non-finite on every process
        return grads

    def _raise_non_finite(self, logs: dict[str, float]) -> None:
        ckpts = list_checkpoints(self.run_dir)
        last = ckpts[-1][1] if ckpts else "none yet"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in logs.items())
        raise NonFiniteTrainingError(
            f"stopping at step {self.step}: {self.bad_streak} consecutive steps had NaN/inf losses or gradients "
            f"and were skipped ({shown}). The last good checkpoint is {last}. Try mixed_precision=no, lower "
            f"learning rates or grad_clip."
        )

    # ---- helpers ----------------------------------------------------------------------------------
    def _autocast(self):
        mp = self.cfg.mixed_precision
        if mp == "no":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16 if mp == "bf16" else torch.float16)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device, non_blocking=True)
                if self.cfg.channels_last and v.dim() == 4 and v.is_floating_point():
                    v = v.contiguous(memory_format=torch.channels_last)
            out[k] = v
        return out

    def _train_seconds(self, start: float) -> float:
        return time.monotonic() - start - self._eval_seconds

    def _eval_due(self, start: float) -> bool:
        if self._eval_schedule is None:
            return False
        due = float(self._eval_schedule.due(self.step, self._train_seconds(start)))
        if self.world > 1 and self.cfg.eval_every_minutes is not None:  # clocks differ: every process must agree
            due = float(self.accelerator.reduce(torch.tensor([due], device=self.device), reduction="sum").item())
        return due > 0

    def _evaluate(self, start: float) -> None:
        """Measure the EMA generator on the main process (training/evaluation.py); the others wait."""
        began = time.monotonic()
        if self.evaluator is not None:
            self.evaluator.evaluate(self.ema, self.step)
        self.accelerator.wait_for_everyone()
        self._eval_seconds += time.monotonic() - began
        self._eval_schedule.done(self._train_seconds(start))

    def _should_stop(self, start: float) -> str | None:
        time_up = self.cfg.minutes is not None and self._train_seconds(start) >= self.cfg.minutes * 60
        flags = [1.0 if self._signal == "SIGINT" else 0.0, 1.0 if self._signal == "SIGTERM" else 0.0, float(time_up)]
        if self.world > 1:  # every process must stop at the same step
            flags = self.accelerator.reduce(torch.tensor(flags, device=self.device), reduction="sum").tolist()
        for name, flag in zip(("SIGINT", "SIGTERM", "time"), flags):
            if flag > 0:
                return name
        return None

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        """SIGINT/SIGTERM finish the current step, save a checkpoint and return; a second one aborts."""

        def handler(signum, frame):
            if self._signal is not None:
                raise KeyboardInterrupt
            self._signal = signal.Signals(signum).name

        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave handlers alone
            pass
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _reset_window(self) -> None:
        self._win_sums: dict[str, float] = {}
        self._win_steps, self._win_start = 0, time.monotonic()

    def _window_add(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self._win_sums[k] = self._win_sums.get(k, 0.0) + v
        self._win_steps += 1

    def _log(self) -> dict[str, str]:
        elapsed = max(time.monotonic() - self._win_start, 1e-9)
        images = self._win_steps * self.cfg.batch_size * self.cfg.grad_accum * self.world * self.rounds  # batches drawn
        record: dict[str, Any] = {"step": self.step, "img_per_s": images / elapsed}
        record.update({k: v / max(self._win_steps, 1) for k, v in self._win_sums.items()})
        record.update({f"lr/{n}": s.get_last_lr()[0] for n, s in self.schedulers.items()})
        record.update({f"skipped/{n}": c for n, c in self.skipped.items()})
        if self.cfg.data_errors == "skip":
            record["data_errors_skipped"] = self.data_skipped
        self._reset_window()
        if self.is_main:
            self.logger.log(record)
        postfix = {p.name: f"{record.get(f'{p.name}/loss', float('nan')):.3f}" for p in self.objective.phases}
        postfix["img/s"] = f"{record['img_per_s']:.1f}"
        return postfix

    @torch.no_grad()
    def _sample(self) -> None:
        cond, noise, captions = self._fixed
        images = self.objective.sample(self.ema, cond, noise).float()
        grid = save_sample_grid(images, self.run_dir / "samples" / f"step-{self.step:06d}.png", captions)
        self.logger.log_image("samples", grid, self.step)


# ---- module-level helpers -------------------------------------------------------------------------
def _keep_data_artifacts(data: Any, run_dir: Path) -> None:
    """Save what the data set fitted (``data.artifacts()``, e.g. the sentence whitening) in the run folder;
    on resume, refuse to go on when the refitted module differs from the saved one (the data changed)."""
    artifacts = data.artifacts() if callable(getattr(data, "artifacts", None)) else {}
    for name, module in artifacts.items():
        folder = run_dir / name
        if not folder.exists():
            save_pretrained(module, folder)
            continue
        saved = load_weights(folder / WEIGHTS_NAME)
        for key, value in module.state_dict().items():
            if key not in saved or saved[key].shape != value.shape or not torch.allclose(saved[key], value.float(), atol=1e-4):
                raise ConfigError(f"{folder} was fitted on other training data than this run now has ({key} differs); "
                                  "resume with the data options the run started with")


def _record_data(data: Any, run_dir: Path) -> None:
    """``<run>/data.json``: what the run trains on (``data.description``, set by ``training.sources.build_data``:
    the --data spec, its path, item counts, the first captions), rewritten on every (re)start."""
    description = getattr(data, "description", None)
    if isinstance(description, dict):
        from ..utils.io import atomic_write_json

        atomic_write_json(run_dir / "data.json", description)


def _tell(message: str) -> None:
    """One line for the person at the terminal (stderr; through tqdm, so a progress bar stays intact)."""
    tqdm.write(message, file=sys.stderr)
    log.info(message)


def _data_name(data: Any) -> str:
    return str(getattr(data, "name", type(data).__name__.lower()))


def _resolved_precision(cfg: TrainConfig, root: Path, resume, device: torch.device) -> str:
    """``mixed_precision`` with ``auto`` resolved. A resumed run keeps what ``auto`` chose when it started:
    the choice is a timing on this machine (utils.hardware) that another session, thread count or cache
    might make differently, and a different precision would change the weights (and be refused as a config
    change)."""
    if cfg.mixed_precision == "auto" and resume is not None:
        try:
            found = saved_run_config(resolve_resume(root, str(resume)))
        except (InputError, ConfigError, OSError):
            found = None  # the resume itself reports a bad target, with its own message
        saved = found[1].get("mixed_precision") if found else None
        if saved in ("no", "bf16", "fp16"):
            return saved
    return resolve_precision(cfg.mixed_precision, device)


def _check_precision(cfg: TrainConfig, device: torch.device) -> None:
    if cfg.mixed_precision == "fp16" and device.type != "cuda":
        raise ConfigError("mixed_precision=fp16 needs a GPU; use bf16 (or no) on a CPU")


def _set_determinism(deterministic: bool, device: torch.device) -> None:
    """Set once per run (these are process-wide switches)."""
    if not deterministic:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def _match_state_layout(opt: torch.optim.Optimizer) -> None:
    """Give loaded optimizer state the memory format of its parameter (channels_last), so the resumed
    update runs the same kernels, and rounds the same way, as the uninterrupted run."""
    for p, st in opt.state.items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                st[k] = torch.empty_like(p).copy_(v)


def weights_fingerprint(module: nn.Module) -> str:
    """A hash of all weights' bytes (used to check that processes hold identical replicas)."""
    import hashlib

    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
