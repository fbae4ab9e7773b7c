"""benchmarks/t2i_leaderboard.py: the plan from the registry, the budget books over killed and resumed
sessions, and the results cache (a fake runner stands in for `wordsight`), plus one real smoke run (slow)."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("t2i_leaderboard", ROOT / "benchmarks" / "t2i_leaderboard.py")
lb = importlib.util.module_from_spec(SPEC)
sys.modules["t2i_leaderboard"] = lb
SPEC.loader.exec_module(lb)

BATCH = 10  # the fake trainer: one step = one second of training, 10 images


def _opt(cmd: list[str], name: str, default=None):
    return cmd[cmd.index(name) + 1] if name in cmd else default


class FakeWordsight:
    """Plays `wordsight train SYSTEM`, `train damsm` and `evaluate generation` on the file level: run folders,
    metrics.jsonl, checkpoints, pipeline.json, metrics.json. ``kill_after`` = (entry desc, steps trained,
    checkpointed step) makes the next matching session stop there as a SIGTERM would (Interrupted)."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.kill: tuple[str, int, int] | None = None
        self.no_export = False

    def __call__(self, cmd, log, env):
        assert env["OMP_NUM_THREADS"] == "1"
        args = cmd[3:]
        self.calls.append(args)
        if args[:2] == ["train", "damsm"]:
            return self._damsm(args)
        if args[0] == "train":
            return self._train(args)
        if args[:2] == ["evaluate", "generation"]:
            out = Path(_opt(args, "--out"))
            out.mkdir(parents=True, exist_ok=True)
            metrics = {"oracle_acc/color": 0.5, "oracle_acc/shape": 0.25, "oracle_acc/size": 0.75,
                       "oracle_acc/relation": float("nan"), "oracle_acc_joint": 0.125}
            if "r_precision" in _opt(args, "--metrics"):
                metrics.update({"oracle_fid": 12.5, "oracle_kid_mean": 3.0, "oracle_kid_std": 0.5,
                                "r_precision_mean": 0.3, "r_precision_std": 0.02})
            (out / "metrics.json").write_text(json.dumps({"metrics": metrics}))
            return 0, "wrote metrics"
        raise AssertionError(args)

    def _damsm(self, args):
        out = Path(_opt(args, "--out"))
        for sub in ("image_encoder", "text_encoder"):
            (out / sub).mkdir(parents=True, exist_ok=True)
            (out / sub / "config.json").write_text("{}")
        minutes = _opt(args, "--minutes")
        seconds = float(minutes) * 60 if minutes else 5.0
        steps = int(_opt(args, "--steps")) if not minutes else int(seconds)
        (out / "metrics.json").write_text(json.dumps({"steps": steps, "seconds": seconds, "r_precision": {"r_precision": 0.4},
                                                      "stopped_by": "time" if minutes else "steps"}))
        return 0, f"trained {steps} steps"

    def _train(self, args):
        out, desc, resume = Path(_opt(args, "--out")), _opt(args, "--desc"), _opt(args, "--resume")
        overrides = dict(a.split("=", 1) for a in args if "=" in a and not a.startswith("-"))
        if resume is None:
            n = len([p for p in out.glob("[0-9]*")]) if out.exists() else 0
            run = out / f"{n:05d}-{desc}"
            run.mkdir(parents=True)
            (run / "config.yaml").write_text(yaml.safe_dump({"batch_size": BATCH, "phase_repeats": {}}))
            step = 0
        else:
            run = Path(resume)
            step = max(int(p.name.split("-")[1]) for p in run.glob("checkpoint-*"))
            # the trainer drops the records after the checkpoint it resumes from
            keep = [line for line in (run / "metrics.jsonl").read_text().splitlines() if json.loads(line)["step"] <= step]
            (run / "metrics.jsonl").write_text("".join(f"{line}\n" for line in keep))
        minutes = _opt(args, "--minutes")
        target = int(overrides["steps"]) if "steps" in overrides else step + math.ceil(float(minutes) * 60 - 1e-9)
        stopped = "time" if minutes else "steps"
        ckpt_at = target
        if self.kill and self.kill[0] == desc:
            _, trained, ckpt_at = self.kill
            target, self.kill = step + trained, None
            ckpt_at = step + ckpt_at
            stopped = "SIGTERM"
        with (run / "metrics.jsonl").open("a") as f:
            for s in range(step + 2, target + 1, 2):  # a record every 2 steps of 1 s each
                f.write(json.dumps({"step": s, "img_per_s": float(BATCH)}) + "\n")
            if target % 2 and target > step:
                f.write(json.dumps({"step": target, "img_per_s": float(BATCH)}) + "\n")
        (run / f"checkpoint-{ckpt_at}").mkdir(exist_ok=True)
        (run / f"checkpoint-{ckpt_at}" / "state.json").write_text(json.dumps({"step": ckpt_at}))
        if stopped == "SIGTERM":
            raise lb.Interrupted(15)
        if not self.no_export:
            (run / "pipeline").mkdir(exist_ok=True)
            (run / "pipeline" / "pipeline.json").write_text(json.dumps({"trained_steps": target}))
        return 0, f"run folder: {run} (step {target}, stopped by {stopped})\npipeline: {run / 'pipeline'}\n"


def _trains(fake, system=None):
    return [c for c in fake.calls if c[0] == "train" and c[1] != "damsm" and (system is None or c[1] == system)]


def test_plan_comes_from_the_registry():
    entries, skipped = lb.plan_entries()
    names = [e.name for e in entries]
    assert names[:6] == ["gan-int-cls", "stackgan", "stackgan-pp", "attngan", "dualattngan", "dfgan"]
    assert {"imagan-rdb-unet", "imagan-rdb", "imagan-unet"} <= set(names)
    assert {"sisgan", "tagan", "tirg", "gan-int-cls-style"} <= set(skipped) and not set(skipped) & set(names)
    by = {e.name: e for e in entries}
    assert by["attngan"].damsm and by["dualattngan"].damsm and not by["dfgan"].damsm
    assert [s.share for s in by["stackgan"].stages] == [0.5, 0.5]
    assert [e.name for e in lb.select(entries, "imagan,dfgan")] == ["dfgan", "imagan-rdb-unet", "imagan-rdb", "imagan-unet"]
    with pytest.raises(SystemExit, match="unknown nosuch"):
        lb.select(entries, "nosuch")
    # a system registered later gets a row with its shipped config, with no change to the script
    extra, _ = lb.plan_entries(["dfgan", "tagan", "zzz-new"])
    assert [e.name for e in extra] == ["dfgan"]  # zzz-new has no synthetic config: left out, said why


def test_training_time_counts_up_to_the_newest_checkpoint(tmp_path):
    run = tmp_path / "00000-x"
    (run / "checkpoint-6").mkdir(parents=True)
    (run / "checkpoint-6" / "state.json").write_text("{}")
    (run / "config.yaml").write_text(yaml.safe_dump({"batch_size": 4, "grad_accum": 2, "phase_repeats": {"d": 2}}))
    records = [{"step": 2, "img_per_s": 16.0}, {"step": 4, "event": "x"}, {"step": 6, "img_per_s": 32.0}, {"step": 8, "img_per_s": 1.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 9, "img_')
    t = lb.training_time(run)
    assert t["step"] == 6 and t["images"] == 6 * 16  # 16 images a step (batch 4 x accum 2 x 2 rounds)
    assert t["seconds"] == pytest.approx(2 * 16 / 16 + 4 * 16 / 32)  # steps 1-2 at 16 img/s, 3-6 at 32


def test_full_run_then_cached(tmp_path, capsys):
    fake = FakeWordsight()
    out = tmp_path / "lb"
    argv = ["--minutes", "0.5", "--systems", "dfgan,gan-int-cls", "--out", str(out), "--eval-images", "16"]
    assert lb.main(argv, runner=fake) == 0
    assert [c[1] for c in _trains(fake)] == ["gan-int-cls", "dfgan"]
    assert all(_opt(c, "--minutes") == "0.5" and "--resume" not in c for c in _trains(fake))
    judge = [c for c in fake.calls if c[:2] == ["train", "damsm"]]
    assert len(judge) == 1 and _opt(judge[0], "--seed") == "1"
    evals = [c for c in fake.calls if c[0] == "evaluate"]
    assert len(evals) == 4 and all(_opt(c, "-n") == "16" for c in evals)
    assert all(_opt(c, "--damsm") == str(out.resolve() / "damsm-eval") for c in evals if _opt(c, "--split") == "test")
    results = json.loads((out / "results.json").read_text())
    assert results["entries"]["dfgan"]["status"] == "done" and results["entries"]["dfgan"]["train"]["stages"]["main"]["seconds"] == 30
    table = (out / "leaderboard.md").read_text()
    assert "| DF-GAN | 30 | 0.5 | 10.0 |" in table and "50.0 / 50.0" in table and "30.0 ± 2.0" in table
    assert "0.5 CPU minutes" in table and "--systems dfgan,gan-int-cls" in table and "- m1: " in table
    assert table in capsys.readouterr().out
    fake.calls.clear()
    assert lb.main(argv, runner=fake) == 0  # nothing left to do: no training, no evaluation
    assert fake.calls == []
    with pytest.raises(SystemExit, match="--minutes 0.5"):
        lb.main(["--minutes", "1", "--out", str(out)], runner=fake)
    (out / ".lock").write_text("1")  # pid 1 is alive: another leaderboard holds OUT
    with pytest.raises(SystemExit, match="in use by process 1"):
        lb.main(argv, runner=fake)


def test_killed_session_resumes_with_the_rest_of_its_budget(tmp_path):
    fake = FakeWordsight()
    out = tmp_path / "lb"
    argv = ["--minutes", "0.5", "--systems", "dfgan", "--out", str(out)]
    fake.kill = ("dfgan", 20, 16)  # SIGTERM after 20 steps; the newest checkpoint holds 16
    assert lb.main(argv, runner=fake) == 128 + 15
    assert json.loads((out / "results.json").read_text())["entries"] == {}
    assert "not finished yet" in (out / "leaderboard.md").read_text()
    fake.calls.clear()
    assert lb.main(argv, runner=fake) == 0
    (call,) = _trains(fake)
    run = out.resolve() / "dfgan" / "00000-dfgan"
    assert _opt(call, "--resume") == str(run)
    assert float(_opt(call, "--minutes")) * 60 == pytest.approx(30 - 16)  # not the whole budget again
    assert lb.training_time(run) == {"seconds": 30.0, "images": 300, "step": 30}
    sessions = lb.read_jsonl(out / "dfgan" / "sessions.jsonl")
    assert [s["stopped_by"] for s in sessions] == ["interrupted", "time"]


def test_killed_before_export_and_empty_runs(tmp_path):
    fake = FakeWordsight()
    fake.no_export = True  # killed after its last checkpoint, before `pipeline/` was written
    out = tmp_path / "lb"
    (out / "dfgan" / "00000-dfgan").mkdir(parents=True)  # a session killed before its first checkpoint
    argv = ["--minutes", "0.1", "--systems", "dfgan", "--out", str(out)]
    assert lb.main(argv, runner=fake) == 1  # the table says failed: no pipeline
    # the empty folder held nothing: removed, and the new run took its number
    assert lb.checkpoints(out / "dfgan" / "00000-dfgan") and not (out / "dfgan" / "00001-dfgan").exists()
    fake.no_export = False
    fake.calls.clear()
    assert lb.main(argv, runner=fake) == 0
    (call,) = _trains(fake)  # only the export: steps = the checkpoint's, no time budget
    assert "steps=6" in call and "--minutes" not in call and _opt(call, "--resume").endswith("00000-dfgan")


def test_damsm_is_charged_and_stackgan_splits_its_budget(tmp_path):
    fake = FakeWordsight()
    out = tmp_path / "lb"
    assert lb.main(["--minutes", "1", "--systems", "attngan,stackgan", "--out", str(out), "--damsm-share", "0.25"], runner=fake) == 0
    damsm = [c for c in fake.calls if c[:2] == ["train", "damsm"] and _opt(c, "--seed") == "0"]
    assert len(damsm) == 1 and float(_opt(damsm[0], "--minutes")) == pytest.approx(0.25)
    (attn,) = _trains(fake, "attngan")
    assert float(_opt(attn, "--minutes")) == pytest.approx(0.75)  # 60 s less the DAMSM's 15 s
    assert f"model.damsm_path={out.resolve() / 'damsm'}" in attn and f"data.text_encoder_path={out.resolve() / 'damsm'}" in attn
    s1, s2 = _trains(fake, "stackgan")
    assert "model.stage=1" in s1 and float(_opt(s1, "--minutes")) == pytest.approx(0.5)
    assert "model.stage=2" in s2 and float(_opt(s2, "--minutes")) == pytest.approx(0.5)
    stage1_run = out.resolve() / "stackgan" / "stage1" / "00000-stackgan"
    assert f"model.init_from={stage1_run}" in s2
    table = (out / "leaderboard.md").read_text()
    assert re.search(r"\| AttnGAN \| 45 \| 0\.8 \+ 0\.2 DAMSM \|", table)
    assert "| StackGAN (I+II) | 30 + 30 | 1.0 |" in table


@pytest.mark.slow
def test_smoke_run_for_real(tmp_path):
    """Two systems for 0.2 minutes each, evaluated on 64 images: a few minutes on one core."""
    out = tmp_path / "lb"
    argv = ["--minutes", "0.2", "--systems", "dfgan,gan-int-cls", "--out", str(out), "--eval-images", "64", "--judge-steps", "40"]
    assert lb.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    for name in ("dfgan", "gan-int-cls"):
        entry = results["entries"][name]
        assert entry["status"] == "done", entry
        assert entry["train"]["stages"]["main"]["seconds"] >= 0.2 * 60 - lb.TOLERANCE_S
        assert entry["params"]["G"] > 0 and entry["params"]["D"] > 0
        assert 0 <= entry["metrics"]["test"]["oracle_acc/color"] <= 1 and "r_precision_mean" in entry["metrics"]["test"]
    assert "| DF-GAN |" in (out / "leaderboard.md").read_text()


def test_rows_carry_over_sessions_with_their_machine(tmp_path):
    """A session's finished rows are exported to a kept file; the next session (a new OUT: the old one is
    gone) takes them without training them again, trains only the rest, and the table names each row's machine."""
    fake = FakeWordsight()
    kept = tmp_path / "kept.json"
    first = ["--minutes", "0.5", "--systems", "dfgan", "--out", str(tmp_path / "one"), "--export", str(kept)]
    assert lb.main(first, runner=fake) == 0
    saved = json.loads(kept.read_text())
    assert list(saved["entries"]) == ["dfgan"] and saved["entries"]["dfgan"]["trained_on"]["machine"] == lb.machine()
    fake.calls.clear()
    second = ["--minutes", "0.5", "--systems", "dfgan,gan-int-cls", "--out", str(tmp_path / "two"),
              "--carry", str(kept), "--export", str(kept)]
    assert lb.main(second, runner=fake) == 0
    assert [c[1] for c in _trains(fake)] == ["gan-int-cls"]  # dfgan was carried, not retrained
    assert sorted(json.loads(kept.read_text())["entries"]) == ["dfgan", "gan-int-cls"]
    table = (tmp_path / "two" / "leaderboard.md").read_text()
    assert re.search(r"\| DF-GAN \| 30 \|.*\| m1, \d{4}-\d\d-\d\d \|", table) and f"- m1: {lb.machine()}" in table
    # another evaluation protocol is not comparable: not carried
    fake.calls.clear()
    third = ["--minutes", "0.5", "--systems", "dfgan", "--out", str(tmp_path / "three"), "--carry", str(kept),
             "--eval-images", "16"]
    assert lb.main(third, runner=fake) == 0
    assert [c[1] for c in _trains(fake)] == ["dfgan"]
    with pytest.raises(SystemExit, match="--minutes 0.5"):
        lb.main(["--minutes", "1", "--out", str(tmp_path / "four"), "--carry", str(kept)], runner=fake)
    fake.calls.clear()  # --table-only trains nothing
    assert lb.main(["--minutes", "0.5", "--out", str(tmp_path / "five"), "--carry", str(kept), "--table-only"], runner=fake) == 0
    assert fake.calls == [] and "| GAN-INT-CLS | 30 |" in (tmp_path / "five" / "leaderboard.md").read_text()


def test_rows_evaluated_by_different_judges_say_which(tmp_path):
    """The judge DAMSM is retrained in every session that evaluates: rows carried from another session were
    scored by another judge, and the table labels each R-precision with its judge and lists the judges."""
    fake = FakeWordsight()
    kept = tmp_path / "kept.json"
    assert lb.main(["--minutes", "0.5", "--systems", "dfgan,gan-int-cls", "--out", str(tmp_path / "one"),
                    "--export", str(kept)], runner=fake) == 0
    table_args = ["--minutes", "0.5", "--carry", str(kept), "--table-only"]
    assert lb.main([*table_args, "--out", str(tmp_path / "same")], runner=fake) == 0
    same = (tmp_path / "same" / "leaderboard.md").read_text()
    assert "(j1)" not in same and "judge j1" not in same  # one session, one judge: no labels
    saved = json.loads(kept.read_text())
    judge = saved["entries"]["gan-int-cls"]["judge"]
    assert judge["r_precision"]["r_precision"] is not None
    judge["r_precision"]["r_precision"] = 0.123  # as if another session's judge had scored this row
    kept.write_text(json.dumps(saved))
    assert lb.main([*table_args, "--out", str(tmp_path / "two")], runner=fake) == 0
    table = (tmp_path / "two" / "leaderboard.md").read_text()
    # judges are numbered in row order: GAN-INT-CLS (the changed one) comes first in the table
    assert re.search(r"\| GAN-INT-CLS \|.*\| 30\.0 ± 2\.0 \(j1\) \|", table)
    assert re.search(r"\| DF-GAN \|.*\| 30\.0 ± 2\.0 \(j2\) \|", table)
    assert "- judge j1 (seed 1, trained in the session that evaluated its rows): 12.3% on real test scenes" in table
    assert "- judge j2 (seed 1, trained in the session that evaluated its rows): 40.0% on real test scenes" in table
