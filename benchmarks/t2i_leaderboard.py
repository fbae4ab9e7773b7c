"""Every registered text-to-image system on the synthetic world at 64 px, the same CPU budget each, one table.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/t2i_leaderboard.py --minutes 60 [--out runs/leaderboard]
    scripts/run_leaderboard.sh [MINUTES] [OUT]             # the same in the background (nohup), resumable
    .venv/bin/python benchmarks/t2i_leaderboard.py --minutes 0.2 --systems dfgan,gan-int-cls \\
        --eval-images 128 --judge-steps 60 --out runs/leaderboard-smoke              # a smoke run, minutes

The systems come from the registry (``wordsight.training.objective.SYSTEMS``, what ``wordsight train --list``
prints) less the ones that are not text-to-image (:data:`NOT_TEXT_TO_IMAGE`); StackGAN becomes two stages and
IMAGAN its three non-DF-GAN variants (:func:`plan_entries`). docs/leaderboard.md says how the budget is split
and counted and how the order compares with the papers'.

Budget. ``wordsight train --minutes`` counts the training time of *one session*: a resumed run starts its
clock again (``Trainer._train_seconds`` is measured from the start of ``_run``, and the checkpoint keeps no
time). So this script keeps the books: the training seconds a run has spent are read from its
``metrics.jsonl`` (each record covers the steps since the previous one at its ``img_per_s``; only records up
to the newest checkpoint count, because a resumed run trains the steps after it again), and a resumed session
gets ``--minutes`` = what is left. Every session is logged in ``<stage>/sessions.jsonl``.

Resuming. Run the same command again: finished stages are not retrained, evaluated systems are read from
``OUT/results.json``, an interrupted stage continues from its newest checkpoint (``--resume RUN``) with the
rest of its budget. SIGINT/SIGTERM are passed once to the running trainer, which saves a checkpoint and stops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

# registered systems that do not generate an image from a caption (they edit, retrieve or invert one)
NOT_TEXT_TO_IMAGE = {
    "gan-int-cls-style": "a style encoder trained on a frozen GAN-INT-CLS generator (manipulation)",
    "sisgan": "text-guided manipulation",
    "tagan": "text-guided manipulation",
    "tirg": "text + image composition for retrieval",
}
# rows are shown in this order (the papers' chronology); systems registered later follow, by name
ORDER = ("gan-int-cls", "stackgan", "stackgan-pp", "attngan", "dualattngan", "dfgan", "imagan")
LABELS = {"gan-int-cls": "GAN-INT-CLS", "stackgan": "StackGAN (I+II)", "stackgan-pp": "StackGAN++", "attngan": "AttnGAN",
          "dualattngan": "DualAttnGAN", "dfgan": "DF-GAN", "imagan-rdb-unet": "IMAGAN (RDB G, U-Net D)",
          "imagan-rdb": "IMAGAN (RDB G, DF-GAN D)", "imagan-unet": "IMAGAN (DF-GAN G, U-Net D)"}
STAGE_SHARES = {"stackgan": (0.5, 0.5)}  # Stage-I, Stage-II (as scripts/compare_stackgan.sh)
TOLERANCE_S = 1.0  # a stage within this many seconds of its budget is finished
MAX_SESSIONS = 3  # training sessions of one stage per invocation (a guard against a loop that never ends)
METRICS_TEST = "oracle,oracle_fid,oracle_kid,r_precision"
METRICS_HELDOUT = "oracle"
BUFFER_RE = re.compile(r"(running_mean|running_var|num_batches_tracked)$")


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: the trainer has been told and stopped; stop this script too."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StepFailed(Exception):
    """A command failed; the system is marked failed in results.json and the others go on."""


# ---------------------------------------------------------------------------------------------------
# what is trained


@dataclass
class Stage:
    folder: str  # under OUT/<entry>/ ("" for one-stage systems)
    overrides: list[str]  # `wordsight train` key=value overrides; "{stage1}" is the Stage-I run folder
    share: float  # fraction of the entry's GAN budget


@dataclass
class Entry:
    name: str  # row and folder name
    system: str  # registered system
    stages: list[Stage]
    damsm: bool = False  # conditioned on a DAMSM trained first (its time is charged to this entry)
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or LABELS.get(self.name, self.name)


def shipped_config(system: str) -> dict | None:
    from wordsight.config import CONFIG_DIR

    path = Path(CONFIG_DIR) / f"{system.replace('-', '_')}_synthetic.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None


def plan_entries(names: list[str] | None = None) -> tuple[list[Entry], dict[str, str]]:
    """(the leaderboard's rows, {registered system: why it is left out}) from the registry."""
    if names is None:
        from wordsight.training import SYSTEMS

        names = SYSTEMS.names()
    entries, skipped = [], {}
    for system in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        if system in NOT_TEXT_TO_IMAGE:
            skipped[system] = NOT_TEXT_TO_IMAGE[system]
            continue
        cfg = shipped_config(system)
        if cfg is None:
            skipped[system] = "no shipped synthetic-world config (configs/<system>_synthetic.yaml)"
            continue
        model, data = cfg.get("model") or {}, cfg.get("data") or {}
        damsm = "damsm_path" in model or data.get("text_encoder") == "bilstm"
        if system == "stackgan":
            first, second = STAGE_SHARES[system]
            entries.append(Entry(system, system, [Stage("stage1", ["model.stage=1"], first),
                                                  Stage("stage2", ["model.stage=2", "model.init_from={stage1}"], second)]))
        elif system == "imagan":  # model.generator=dfgan model.discriminator=dfgan is DF-GAN (docs/imagan.md): not repeated
            for name, g, d in (("imagan-rdb-unet", "rdb", "unet"), ("imagan-rdb", "rdb", "dfgan"), ("imagan-unet", "dfgan", "unet")):
                entries.append(Entry(name, system, [Stage("", [f"model.generator={g}", f"model.discriminator={d}"], 1.0)]))
        else:
            entries.append(Entry(system, system, [Stage("", [], 1.0)], damsm=damsm))
    return entries, skipped


def select(entries: list[Entry], wanted: str | None) -> list[Entry]:
    """``--systems a,b``: entry names or registered systems (``imagan`` selects its three variants)."""
    if not wanted:
        return entries
    names = [w.strip() for w in wanted.split(",") if w.strip()]
    known = {e.name for e in entries} | {e.system for e in entries}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"--systems: unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [e for e in entries if e.name in names or e.system in names]


# ---------------------------------------------------------------------------------------------------
# the books: training time of a run from its own files


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                pass
    return out


def append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    found = []
    if run_dir.is_dir():
        for p in run_dir.iterdir():
            m = re.fullmatch(r"checkpoint-(\d+)", p.name)
            if m and (p / "state.json").exists():
                found.append((int(m.group(1)), p))
    return sorted(found)


def find_run(stage_dir: Path) -> Path | None:
    """The stage's run folder (``NNNNN-*`` with a checkpoint); numbered folders without one (a session
    killed before its first checkpoint) hold nothing and are removed."""
    if not stage_dir.is_dir():
        return None
    runs = sorted(p for p in stage_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d{5}-.+", p.name))
    kept = [p for p in runs if checkpoints(p)]
    for p in runs:
        if p not in kept:
            shutil.rmtree(p, ignore_errors=True)
    return kept[-1] if kept else None


def images_per_step(run_dir: Path) -> int:
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    rounds = max([1, *((cfg.get("phase_repeats") or {}).values())])
    return int(cfg.get("batch_size", 1)) * int(cfg.get("grad_accum", 1)) * rounds


def training_time(run_dir: Path | None) -> dict[str, float]:
    """{seconds, images, step} of the training the run's newest checkpoint holds, over all its sessions.

    Each ``metrics.jsonl`` record (``step``, ``img_per_s``) covers the steps since the previous record; their
    time is those steps' images over its rate. Records after the newest checkpoint are left out: the next
    session trains those steps again (and the trainer drops them from the file when it resumes)."""
    if run_dir is None:
        return {"seconds": 0.0, "images": 0, "step": 0}
    ckpts = checkpoints(run_dir)
    last = ckpts[-1][0] if ckpts else 0
    per_step = images_per_step(run_dir)
    seconds, images, prev = 0.0, 0, 0
    for rec in read_jsonl(run_dir / "metrics.jsonl"):
        step, rate = rec.get("step"), rec.get("img_per_s")
        if not isinstance(step, int) or not isinstance(rate, (int, float)) or rate <= 0 or step <= prev or step > last:
            continue
        n = (step - prev) * per_step
        seconds, images, prev = seconds + n / rate, images + n, step
    return {"seconds": seconds, "images": images, "step": last}


def pipeline_steps(run_dir: Path | None) -> int | None:
    path = None if run_dir is None else run_dir / "pipeline" / "pipeline.json"
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("trained_steps")


def stage_done(run_dir: Path | None, budget_s: float, sessions: list[dict]) -> bool:
    """The stage has spent its budget: the books say so, or its last session stopped on time at the
    newest checkpoint (the trainer's own clock ran out)."""
    if run_dir is None:
        return False
    spent = training_time(run_dir)
    if spent["seconds"] >= budget_s - TOLERANCE_S:
        return True
    last = sessions[-1] if sessions else {}
    return last.get("stopped_by") == "time" and last.get("step") == spent["step"] and last.get("run") == str(run_dir)


# ---------------------------------------------------------------------------------------------------
# running commands


def tee_runner(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` in its own session (a terminal's Ctrl-C reaches it only through us, once), its output
    to ``log`` and to our stdout; SIGINT/SIGTERM are forwarded once and raise :class:`Interrupted`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    got: list[int] = []
    with log.open("a", encoding="utf-8") as f:
        f.write(f"\n$ {shlex.join(cmd)}\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                                errors="replace", start_new_session=True)

        def forward(signum, frame):
            if not got:
                got.append(signum)
                proc.send_signal(signum)

        old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                f.write(line)
                f.flush()
                sys.stdout.write(line)
                sys.stdout.flush()
            rc = proc.wait()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
    if got:
        raise Interrupted(got[0])
    return rc, "".join(lines)


Runner = Callable[[list[str], Path, dict[str, str]], tuple[int, str]]


@dataclass
class Leaderboard:
    out: Path
    minutes: float
    runner: Runner = tee_runner
    eval_images: int = 1000
    eval_seed: int = 0
    threads: int = 1
    damsm_share: float = 0.25
    judge: Path | None = None  # an existing DAMSM folder as the R-precision judge
    judge_steps: int = 2000
    command: str = ""
    wordsight: list[str] = field(default_factory=lambda: [sys.executable, "-m", "wordsight.cli.main"])
    results: dict = field(default_factory=dict)
    carry: list[Path] = field(default_factory=list)  # results files of earlier sessions (see carry_from)

    def __post_init__(self) -> None:
        self.out = Path(self.out).resolve()
        self.results_path = self.out / "results.json"
        self.results = json.loads(self.results_path.read_text(encoding="utf-8")) if self.results_path.exists() else {}
        if "minutes" in self.results and not math.isclose(self.results["minutes"], self.minutes):
            raise SystemExit(f"{self.out} holds a leaderboard of --minutes {self.results['minutes']}, not {self.minutes}: "
                             "use another --out (or the same minutes)")
        self.results.setdefault("minutes", self.minutes)
        self.results.setdefault("started", _now())
        self.results.setdefault("entries", {})
        self.env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        for path in self.carry:
            self.carry_from(Path(path))

    def carry_from(self, path: Path) -> list[str]:
        """Take the finished rows of another results file (an earlier session's, whose run folders are gone,
        or another OUT's): rows this OUT has not finished itself, trained for the same minutes and evaluated
        on the same images, seed and metrics. Each keeps the machine and date it was trained on
        (``trained_on``) and says where it came from (``carried_from``); it is not trained again."""
        if not path.exists():
            return []
        other = json.loads(path.read_text(encoding="utf-8"))
        if not math.isclose(float(other.get("minutes", -1)), self.minutes):
            raise SystemExit(f"--carry {path}: a leaderboard of --minutes {other.get('minutes')}, not {self.minutes}")
        taken = []
        for name, entry in other.get("entries", {}).items():
            if entry.get("status") != "done" or self.results["entries"].get(name, {}).get("status") == "done":
                continue
            key = entry.get("eval_key", {})
            if any(key.get(k) != v for k, v in self.eval_settings().items()):
                print(f"[leaderboard] --carry {path}: {name} was evaluated differently ({key}); not taken", flush=True)
                continue
            self.results["entries"][name] = {**entry, "carried_from": entry.get("carried_from", str(path))}
            taken.append(name)
        if taken:
            print(f"[leaderboard] carried from {path}: {', '.join(taken)}", flush=True)
        return taken

    def export_to(self, path: Path) -> None:
        """Merge this OUT's finished rows into ``path`` (a results file kept in the repository, so that rows
        trained in one session are not trained again in the next one, where OUT is gone)."""
        merged = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"minutes": self.minutes, "entries": {}}
        if not math.isclose(float(merged.get("minutes", -1)), self.minutes):
            raise SystemExit(f"--export {path}: a leaderboard of --minutes {merged.get('minutes')}, not {self.minutes}")
        merged.setdefault("started", self.results.get("started"))
        merged.setdefault("entries", {})
        for name, entry in self.results["entries"].items():
            if entry.get("carried_from") and Path(entry["carried_from"]).resolve() == path.resolve():
                continue  # taken from this very file: already there (and another lane may have updated it since)
            if entry.get("status") == "done":
                # rows finished by a process of an older version of this script say nothing of their machine:
                # this one's (an export runs on the machine of the session that trained them)
                entry.setdefault("trained_on", {"machine": machine(), "threads": self.threads, "torch": _torch_version(),
                                                "date": str(entry.get("finished", _now()))[:10]})
                merged["entries"][name] = entry
        write_json(path, merged)

    @property
    def budget_s(self) -> float:
        return self.minutes * 60.0

    def save(self) -> None:
        write_json(self.results_path, self.results)

    def run(self, cmd: list[str], log_name: str) -> str:
        rc, output = self.runner(cmd, self.out / "logs" / f"{log_name}.log", self.env)
        if rc != 0:
            tail = "\n".join(output.strip().splitlines()[-3:])
            raise StepFailed(f"exit {rc}: {shlex.join(cmd[len(self.wordsight):])}\n{tail}")
        return output

    # ---- DAMSMs -------------------------------------------------------------------------------------
    def judge_dir(self) -> Path:
        return self.judge.resolve() if self.judge is not None else self.out / "damsm-eval"

    def ensure_judge(self) -> Path:
        """The R-precision judge: a DAMSM of its own (seed 1), not the one AttnGAN trains against (seed 0);
        a fixed step count, and its time is not part of any system's budget (it is the measuring instrument)."""
        folder = self.judge_dir()
        if self.judge is not None:
            if not (folder / "image_encoder" / "config.json").exists():
                raise SystemExit(f"--judge {folder}: not a `wordsight train damsm` folder")
            return folder
        if _damsm_finished(folder, self.judge_steps):
            return folder
        cmd = [*self.wordsight, "train", "damsm", "--data", "synthetic", "--max-objects", "1", "--steps", str(self.judge_steps),
               "--batch-size", "48", "--lr", "1e-3", "--seed", "1", "--out", str(folder), "--no-progress",
               "--eval-images", str(min(1000, self.eval_images))]
        if checkpoints(folder):
            cmd += ["--resume", "latest"]
        self.run(cmd, "damsm-eval")
        if not _damsm_finished(folder, self.judge_steps):
            raise StepFailed(f"the judge DAMSM in {folder} did not finish")
        return folder

    def ensure_damsm(self) -> float:
        """AttnGAN's and DualAttnGAN's DAMSM (seed 0), trained once for ``damsm_share`` of the budget;
        returns its training seconds, which each system conditioned on it has spent of its budget."""
        folder, budget = self.out / "damsm", self.damsm_share * self.budget_s
        for _ in range(MAX_SESSIONS):
            spent = _damsm_seconds(folder)
            if _damsm_result(folder) is not None and (spent >= budget - TOLERANCE_S or _damsm_stopped_on_time(folder)):
                return spent
            left = max(budget - spent, 1.0)
            cmd = [*self.wordsight, "train", "damsm", "--data", "synthetic", "--max-objects", "1", "--steps", "10000000",
                   "--batch-size", "48", "--lr", "1e-3", "--seed", "0", "--out", str(folder), "--no-progress",
                   "--minutes", f"{left / 60:.10g}", "--eval-images", str(min(1000, self.eval_images))]
            if checkpoints(folder):
                cmd += ["--resume", "latest"]
            self.run(cmd, "damsm")
        raise StepFailed(f"the DAMSM in {folder} did not finish in {MAX_SESSIONS} sessions")

    # ---- training -----------------------------------------------------------------------------------
    def train_entry(self, entry: Entry) -> dict:
        """Train every stage of ``entry`` to its budget; returns the training summary."""
        gan_budget, damsm_s, extra = self.budget_s, 0.0, []
        if entry.damsm:
            damsm_s = self.ensure_damsm()
            gan_budget = max(self.budget_s - damsm_s, 0.0)
            extra = [f"model.damsm_path={self.out / 'damsm'}", f"data.text_encoder_path={self.out / 'damsm'}"]
        runs: dict[str, Path] = {}
        summary = {"stages": {}, "damsm_seconds": damsm_s}
        for stage in entry.stages:
            stage_dir = self.out / entry.name / stage.folder if stage.folder else self.out / entry.name
            overrides = [o.format(stage1=runs.get("stage1", "")) for o in stage.overrides] + extra
            run_dir = self.train_stage(entry, stage_dir, stage.share * gan_budget, overrides, stage.folder or entry.name)
            runs[stage.folder or "main"] = run_dir
            summary["stages"][stage.folder or "main"] = {"run": str(run_dir), "budget_s": stage.share * gan_budget,
                                                         **training_time(run_dir)}
        summary["pipeline"] = str(run_dir / "pipeline")
        return summary

    def train_stage(self, entry: Entry, stage_dir: Path, budget_s: float, overrides: list[str], log_name: str) -> Path:
        sessions_path = stage_dir / "sessions.jsonl"
        for _ in range(MAX_SESSIONS + 1):
            run_dir, sessions = find_run(stage_dir), read_jsonl(sessions_path)
            spent = training_time(run_dir)
            if stage_done(run_dir, budget_s, sessions):
                if pipeline_steps(run_dir) != spent["step"]:  # killed between its checkpoint and the export:
                    self.session(entry, stage_dir, run_dir, overrides, [f"steps={spent['step']}"], None, log_name)
                    if pipeline_steps(run_dir) != spent["step"]:
                        raise StepFailed(f"{run_dir}: no pipeline/ of step {spent['step']} after the export")
                return run_dir
            if len(sessions) >= MAX_SESSIONS * 4:
                raise StepFailed(f"{stage_dir}: {len(sessions)} sessions and the budget is still not spent")
            left = budget_s - spent["seconds"]
            self.session(entry, stage_dir, run_dir, overrides, [], left, log_name)
        raise StepFailed(f"{stage_dir}: the budget was not spent after {MAX_SESSIONS} sessions")

    def session(self, entry: Entry, stage_dir: Path, run_dir: Path | None, overrides: list[str], more: list[str],
                left_s: float | None, log_name: str) -> None:
        """One `wordsight train` session: a new run, or ``--resume`` the run with ``left_s`` seconds (None: no
        training, ``steps`` = the checkpoint's, only the export)."""
        cmd = [*self.wordsight, "train", entry.system, "--data", "synthetic", "--out", str(stage_dir), "--desc", entry.name]
        if left_s is not None:
            cmd += ["--minutes", f"{max(left_s, 0.5) / 60:.10g}"]
        if run_dir is not None:
            cmd += ["--resume", str(run_dir)]
        cmd += ["progress=false", *overrides, *more]
        before = training_time(run_dir)
        record = {"started": _now(), "run": str(run_dir) if run_dir else None, "minutes_passed": None if left_s is None else left_s / 60,
                  "seconds_before": before["seconds"], "step_before": before["step"]}
        try:
            output = self.run(cmd, f"{entry.name}-{log_name}" if log_name != entry.name else entry.name)
        except (Interrupted, StepFailed) as exc:
            append_jsonl(stage_dir / "sessions.jsonl", {**record, "stopped_by": "interrupted" if isinstance(exc, Interrupted) else "failed",
                                                        "ended": _now()})
            raise
        m = re.search(r"run folder: (.+) \(step (\d+), stopped by (\w+)", output)
        if m is None:
            raise StepFailed(f"`wordsight train {entry.system}` printed no run folder")
        run = Path(m.group(1))
        append_jsonl(stage_dir / "sessions.jsonl", {**record, "run": str(run.resolve() if not run.is_absolute() else run),
                                                    "step": int(m.group(2)), "stopped_by": m.group(3),
                                                    "seconds_after": training_time(run)["seconds"], "ended": _now()})

    # ---- evaluation ---------------------------------------------------------------------------------
    def eval_settings(self) -> dict:
        """What makes two rows' numbers comparable: the same evaluation images, noise seed and metrics."""
        return {"images": self.eval_images, "seed": self.eval_seed, "test": METRICS_TEST, "heldout": METRICS_HELDOUT}

    def eval_key(self, pipeline: Path) -> dict:
        return {**self.eval_settings(), "judge": str(self.judge_dir()),
                "pipeline": str(pipeline), "trained_steps": pipeline_steps(pipeline.parent)}

    def evaluate(self, entry: Entry, pipeline: Path) -> dict:
        """Oracle accuracy on test and held-out captions, oracle FID/KID and R-precision (the judge DAMSM)
        on test captions: the same images, seed and world for every system."""
        found = {}
        for split, metrics in (("test", METRICS_TEST), ("heldout", METRICS_HELDOUT)):
            folder = self.out / entry.name / f"eval-{split}"
            cmd = [*self.wordsight, "evaluate", "generation", str(pipeline), "--data", "synthetic", "--split", split,
                   "--metrics", metrics, "-n", str(self.eval_images), "--seed", str(self.eval_seed), "--world-seed", "0",
                   "--max-objects", "1", "--out", str(folder), "--no-progress"]
            if "r_precision" in metrics:
                cmd += ["--damsm", str(self.judge_dir())]
            self.run(cmd, f"{entry.name}-eval")
            found[split] = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))["metrics"]
        return found

    # ---- the whole thing ------------------------------------------------------------------------------
    def run_all(self, entries: list[Entry]) -> None:
        self.results["judge"] = {"dir": str(self.ensure_judge()), **(_damsm_result(self.judge_dir()) or {})}
        self.save()
        for entry in entries:
            cached = self.results["entries"].get(entry.name, {})
            if cached.get("status") == "done" and cached.get("carried_from"):
                print(f"[leaderboard] {entry.name}: done (carried from {cached['carried_from']})", flush=True)
                continue
            if cached.get("status") == "done" and cached.get("eval_key") == self.eval_key(Path(cached["train"]["pipeline"])):
                print(f"[leaderboard] {entry.name}: done (cached in {self.results_path})", flush=True)
                continue
            print(f"[leaderboard] {entry.name}: training ({self.minutes:g} min budget)", flush=True)
            try:
                train = self.train_entry(entry)
                pipeline = Path(train["pipeline"])
                metrics = self.evaluate(entry, pipeline)
                params = count_parameters([Path(s["run"]) for s in train["stages"].values()])
                self.results["entries"][entry.name] = {"status": "done", "system": entry.system, "label": entry.label,
                                                       "train": train, "params": params, "metrics": metrics,
                                                       "eval_key": self.eval_key(pipeline), "finished": _now(),
                                                       "trained_on": {"machine": machine(), "threads": self.threads,
                                                                      "torch": _torch_version(),
                                                                      "date": dt.date.today().isoformat()},
                                                       "judge": {k: v for k, v in self.results.get("judge", {}).items()
                                                                 if k != "dir"}}
            except StepFailed as exc:
                print(f"[leaderboard] {entry.name} failed: {exc}", flush=True)
                self.results["entries"][entry.name] = {"status": "failed", "system": entry.system, "label": entry.label,
                                                       "error": str(exc), "at": _now()}
            self.save()
        if entries and all(self.results["entries"].get(e.name, {}).get("status") == "done" for e in entries):
            self.results["finished"] = _now()
            self.save()


# ---------------------------------------------------------------------------------------------------
# DAMSM folders


def _damsm_result(folder: Path) -> dict | None:
    path = folder / "metrics.json"
    if not path.exists() or not (folder / "image_encoder" / "config.json").exists():
        return None
    m = json.loads(path.read_text(encoding="utf-8"))
    return {"steps": m.get("steps"), "seconds": m.get("seconds"), "stopped_by": m.get("stopped_by"), "r_precision": m.get("r_precision")}


def _damsm_finished(folder: Path, steps: int) -> bool:
    r = _damsm_result(folder)
    return r is not None and r["steps"] is not None and r["steps"] >= steps and not checkpoints(folder)


def _damsm_seconds(folder: Path) -> float:
    """Training seconds over all sessions: the newest checkpoint's, else the finished run's metrics.json."""
    ckpts = checkpoints(folder)
    if ckpts:
        return float(json.loads((ckpts[-1][1] / "state.json").read_text(encoding="utf-8")).get("seconds", 0.0))
    r = _damsm_result(folder)
    return float(r["seconds"]) if r and r["seconds"] is not None else 0.0


def _damsm_stopped_on_time(folder: Path) -> bool:
    r, ckpts = _damsm_result(folder), checkpoints(folder)
    return bool(r) and r["stopped_by"] == "time" and (not ckpts or ckpts[-1][0] == r["steps"])


# ---------------------------------------------------------------------------------------------------
# parameters


def count_parameters(run_dirs: list[Path]) -> dict[str, int]:
    """Trained parameters of G (the last stage's generator, which holds the earlier stages) and D (every
    stage's discriminators), from the runs' newest checkpoints; text encoders are not counted."""
    g = d = 0
    for k, run in enumerate(run_dirs):
        ckpts = checkpoints(run)
        if not ckpts:
            continue
        counts = _checkpoint_counts(ckpts[-1][1])
        d += sum(v for n, v in counts.items() if n.startswith("discriminator"))
        if k == len(run_dirs) - 1:
            g = sum(v for n, v in counts.items() if n == "generator")
    return {"G": g, "D": d}


def _checkpoint_counts(folder: Path) -> dict[str, int]:
    meta = json.loads((folder / "models.json").read_text(encoding="utf-8")) if (folder / "models.json").exists() else {}
    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        name = f.stem
        if name in ("state", "generator_ema"):
            continue
        if name in meta:  # a registered model: build it and count its parameters (buffers are not parameters)
            from wordsight.utils.model_registry import model_class

            try:
                module = model_class(meta[name]["model_type"])(**meta[name].get("config", {}))
                out[name] = sum(p.numel() for p in module.parameters())
                continue
            except Exception:  # noqa: BLE001 - fall back to the tensors in the file
                pass
        from safetensors import safe_open

        with safe_open(str(f), "pt") as st:
            out[name] = sum(math.prod(st.get_slice(k).get_shape()) for k in st.keys() if not BUFFER_RE.search(k))
    return out


# ---------------------------------------------------------------------------------------------------
# the table


def _pct(x: Any) -> str:
    return "n/a" if not isinstance(x, (int, float)) or math.isnan(x) else f"{100 * x:.1f}"


def _num(x: Any, fmt: str = ".1f") -> str:
    return "n/a" if not isinstance(x, (int, float)) or math.isnan(x) else format(x, fmt)


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def machine() -> str:
    """CPU model, the matrix/bf16 instructions that decide its precision (AMX, AVX512-BF16, AVX-512, AVX2) and
    the logical CPU count: the model name alone ("Intel(R) Xeon(R) Processor") does not tell machines apart."""
    from wordsight.utils.hardware import cpu_flags, cpu_model

    flags = cpu_flags()
    isa = [name for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX-512"),
                                   ("avx2", "AVX2")) if flag in flags]
    return f"{cpu_model()}{' (' + ', '.join(isa) + ')' if isa else ''}, {os.cpu_count()} logical CPUs"


COLUMNS = ("system", "steps", "train min", "img/s", "G / D params", "colour", "shape", "size", "relation", "joint",
           "R-prec. (judge)", "oracle FID", "oracle KID", "trained on")


def _distinct(results: dict, entries: list[Entry], key) -> list[str]:
    """The distinct ``key(row)`` values of the finished rows, in row order (None values left out)."""
    seen: list[str] = []
    for e in entries:
        r = results.get("entries", {}).get(e.name, {})
        value = key(r) if r.get("status") == "done" else None
        if value is not None and value not in seen:
            seen.append(value)
    return seen


def machines_of(results: dict, entries: list[Entry]) -> list[str]:
    """The distinct machines the finished rows were trained on, in row order (rows are trained over several
    sessions, and the machine may change between them)."""
    return _distinct(results, entries, _machine_label)


def _judge_key(entry: dict) -> str | None:
    """One judge DAMSM, as a row remembers it: its own R-precision on real scenes and its training seconds
    (the judge is retrained in every session that evaluates, so rows of different sessions have different ones)."""
    j = entry.get("judge") or {}
    rp = (j.get("r_precision") or {}).get("r_precision")
    return None if rp is None else f"{_pct(rp)}% on real test scenes ({j.get('steps', '?')} steps, {j.get('seconds', 0):.0f} s)"


def judges_of(results: dict, entries: list[Entry]) -> list[str]:
    """The distinct judges of the finished rows, in row order."""
    return _distinct(results, entries, _judge_key)


def _machine_label(entry: dict) -> str:
    t = entry.get("trained_on") or {"machine": machine(), "threads": "?", "torch": _torch_version()}
    return f"{t['machine']}, {t.get('threads', '?')} thread(s), torch {t.get('torch', '?')}"


def table_rows(results: dict, entries: list[Entry]) -> list[list[str]]:
    rows, machines, judges = [], machines_of(results, entries), judges_of(results, entries)
    for e in entries:
        r = results.get("entries", {}).get(e.name)
        if r is None or r.get("status") != "done":
            what = "failed (see OUT/logs)" if r and r.get("status") == "failed" else "not finished yet"
            rows.append([e.label, what] + [""] * (len(COLUMNS) - 2))
            continue
        t, h, train = r["metrics"]["test"], r["metrics"]["heldout"], r["train"]
        stages = list(train["stages"].values())
        steps = " + ".join(str(s["step"]) for s in stages)
        seconds, images = sum(s["seconds"] for s in stages), sum(s["images"] for s in stages)
        minutes = f"{seconds / 60:.1f}" + (f" + {train['damsm_seconds'] / 60:.1f} DAMSM" if train.get("damsm_seconds") else "")
        acc = [f"{_pct(t.get(f'oracle_acc/{k}'))} / {_pct(h.get(f'oracle_acc/{k}'))}" for k in ("color", "shape", "size", "relation")]
        joint = f"{_pct(t.get('oracle_acc_joint'))} / {_pct(h.get('oracle_acc_joint'))}"
        rp = t.get("r_precision_mean", t.get("r_precision"))
        rps = f"{_pct(rp)} ± {_pct(t.get('r_precision_std'))}" if isinstance(rp, (int, float)) else "n/a"
        judge_key = _judge_key(r)
        if isinstance(rp, (int, float)) and len(judges) > 1 and judge_key in judges:
            rps += f" (j{judges.index(judge_key) + 1})"
        kid = f"{_num(t.get('oracle_kid_mean'), '.4g')} ± {_num(t.get('oracle_kid_std'), '.2g')}"
        rows.append([e.label, steps, minutes, _num(images / seconds if seconds else float("nan")),
                     f"{_params(r['params']['G'])} / {_params(r['params']['D'])}", *acc, joint, rps,
                     _num(t.get("oracle_fid")), kid,
                     f"m{machines.index(_machine_label(r)) + 1}, "
                     + str((r.get("trained_on") or {}).get("date", str(r.get("finished", "?"))[:10]))])
    return rows


def render(results: dict, entries: list[Entry], lb: Leaderboard, skipped: dict[str, str]) -> str:
    judge, judges = results.get("judge", {}), judges_of(results, entries)
    jrp = (judge.get("r_precision") or {}).get("r_precision")
    lines = [
        f"## Text-to-image leaderboard: synthetic world, 64 px, {lb.minutes:g} CPU minutes per system",
        "",
        f"- date: {dt.date.today().isoformat()} (started {results.get('started', '?')[:10]}"
        + (f", finished {results['finished'][:10]})" if results.get("finished") else ", not finished)"),
        f"- this invocation: {machine()}; {lb.threads} thread(s) per run (OMP_NUM_THREADS); "
        f"python {platform.python_version()}, torch {_torch_version()}. Each row names the machine it was trained "
        f"on (\"trained on\", listed below the table): compare img/s and steps only between rows of one machine",
        f"- command: `{lb.command}`",
        f"- budget: {lb.minutes:g} min of training time per system (evaluation and start-up not counted); StackGAN "
        f"{STAGE_SHARES['stackgan'][0]:.0%} Stage-I + {STAGE_SHARES['stackgan'][1]:.0%} Stage-II; AttnGAN and "
        f"DualAttnGAN spend {lb.damsm_share:.0%} of it on their DAMSM (one, shared; charged to each)",
        f"- evaluation: {lb.eval_images} test and {lb.eval_images} held-out captions of the one-object world "
        f"(world seed 0, noise seed {lb.eval_seed}); cells are test / held-out %; oracle FID/KID and R-precision "
        f"on test. R-precision judge: " + (
            f"{judge['dir']} (seed 1, {judge.get('steps', '?')} steps; {_pct(jrp)}% on real test scenes)" if judge.get("dir")
            else ("the rows' own (seed 1, " + ("; ".join(judges) or "?") + ")"))
        + ", not the DAMSM AttnGAN trains against",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results, entries)]
    machines = machines_of(results, entries)
    if machines:
        lines += [""] + [f"- m{k}: {m}" for k, m in enumerate(machines, 1)]
    if len(judges) > 1:
        lines += [""] + [f"- judge j{k} (seed 1, trained in the session that evaluated its rows): {j}"
                         for k, j in enumerate(judges, 1)]
        lines += ["", "R-precision compares only between rows of one judge: the judge is retrained on the machine of "
                  "each evaluating session, and its own score differs between sessions."]
    lines += ["", "relation: n/a, the one-object world has no relations. Not in the table (not text-to-image or no "
              "synthetic config): " + (", ".join(f"{k} ({v})" for k, v in skipped.items()) or "none") + "."]
    return "\n".join(lines) + "\n"


def _lock(out: Path) -> Path:
    """OUT/.lock with our pid: a second leaderboard on the same OUT would train the same runs at once."""
    out.mkdir(parents=True, exist_ok=True)
    lock = out / ".lock"
    if lock.exists():
        try:
            pid = int(lock.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            pass  # stale: its process is gone
        except PermissionError:
            raise SystemExit(f"{out} is in use by process {lock.read_text().strip()} (remove {lock} if it is not)") from None
        else:
            if pid != os.getpid():
                raise SystemExit(f"{out} is in use by process {pid}: one leaderboard per OUT (remove {lock} if that is wrong)")
    lock.write_text(str(os.getpid()))
    return lock


def _torch_version() -> str:
    try:
        import torch

        return torch.__version__
    except ImportError:
        return "?"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None, runner: Runner | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, required=True, help="training minutes per system (fractions allowed)")
    p.add_argument("--out", type=Path, default=Path("runs/leaderboard"), help="runs, logs, results.json, leaderboard.md")
    p.add_argument("--systems", default=None, help="comma-separated entry or system names (default: all); see --list")
    p.add_argument("--eval-images", type=int, default=1000, help="generated images per split (same for every system)")
    p.add_argument("--eval-seed", type=int, default=0, help="noise seed of the evaluation")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command")
    p.add_argument("--damsm-share", type=float, default=0.25, help="budget share of the DAMSM AttnGAN/DualAttnGAN train against")
    p.add_argument("--judge", type=Path, default=None, help="an existing `wordsight train damsm` folder as the R-precision judge")
    p.add_argument("--judge-steps", type=int, default=2000, help="steps of the judge DAMSM trained under OUT/damsm-eval")
    p.add_argument("--carry", type=Path, action="append", default=[],
                   help="results.json of an earlier session or another OUT: its finished rows are taken, not retrained")
    p.add_argument("--export", type=Path, default=None,
                   help="merge the finished rows into this file at the end (kept in the repository across sessions)")
    p.add_argument("--table-only", action="store_true", help="train and evaluate nothing: print the table of what is there")
    p.add_argument("--list", action="store_true", help="print the entries and what is left out, then exit")
    args = p.parse_args(argv)
    if not args.minutes > 0 or not 0 < args.damsm_share < 1:
        p.error("--minutes must be > 0 and --damsm-share in (0, 1)")
    entries, skipped = plan_entries()
    if args.list:
        for e in entries:
            stages = "; ".join(f"{s.folder or 'one stage'} {s.share:.0%} {' '.join(s.overrides)}".strip() for s in e.stages)
            print(f"{e.name:18s} wordsight train {e.system}  [{stages}]" + ("  (DAMSM first)" if e.damsm else ""))
        for name, why in skipped.items():
            print(f"{'(left out)':18s} {name}: {why}")
        return 0
    chosen = select(entries, args.systems)
    command = os.environ.get("WORDSIGHT_LEADERBOARD_COMMAND") or shlex.join(["python", "benchmarks/t2i_leaderboard.py", *(argv if argv is not None else sys.argv[1:])])
    lb = Leaderboard(args.out, args.minutes, runner or tee_runner, eval_images=args.eval_images, eval_seed=args.eval_seed,
                     threads=args.threads, damsm_share=args.damsm_share, judge=args.judge, judge_steps=args.judge_steps,
                     command=command, carry=args.carry)
    status = 0
    lock = _lock(lb.out)
    try:
        if not args.table_only:
            lb.run_all(chosen)
    except Interrupted as exc:
        print(f"[leaderboard] stopped by {exc}: run the same command again to continue", flush=True)
        status = 128 + exc.signum
    except StepFailed as exc:  # the judge DAMSM: nothing can be evaluated without it
        print(f"[leaderboard] {exc}", flush=True)
        status = 1
    finally:
        lock.unlink(missing_ok=True)
    lb.save()
    if args.export is not None:
        lb.export_to(args.export)
    text = render(lb.results, chosen, lb, skipped)
    (lb.out / "leaderboard.md").write_text(text, encoding="utf-8")
    print(text, flush=True)
    failed = [e.name for e in chosen if lb.results["entries"].get(e.name, {}).get("status") == "failed"]
    return status or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
