"""Speed of the saliency metrics: ms per 480x640 map with 30 fixations, ours (batch 1 and 32) vs pysaliency.

Times NSS, CC, KLD, SIM, AUC-Judd and shuffled AUC (100 splits, negatives from 10 other images)
together, with the density maps and other-image fixation maps built beforehand (as a benchmark run
would cache them). pysaliency (0.2.22) is timed one map at a time when it is importable.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_saliency_metrics.py --threads 1 [--repeats 5] [--maps 32]

All implementations are timed in turn within each round (ours batch 1, ours batch 32, pysaliency,
then again), and the best round of each is reported, so a load that comes and goes on a shared
machine hits them alike; the ratio column is pysaliency's best over each one's best.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
import warnings

import numpy as np
import torch

from wordsight.metrics.saliency import compute_saliency_metrics, fixation_density, other_fixation_maps

HEIGHT, WIDTH, FIXATIONS = 480, 640, 30
METRICS = ("nss", "cc", "kld", "sim", "auc_judd", "shuffled_auc")


def make_batch(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    fix = torch.zeros(batch, HEIGHT * WIDTH, dtype=torch.bool)
    for b in range(batch):
        fix[b, torch.randperm(HEIGHT * WIDTH, generator=gen)[:FIXATIONS]] = True
    fix = fix.view(batch, HEIGHT, WIDTH)
    density = fixation_density(fix)
    # A plausible prediction: the true density (peak 1) plus 5 % noise, stored as float32 like a network output.
    peak = density.amax(dim=(1, 2), keepdim=True)
    saliency = (density / peak + 0.05 * torch.rand(batch, HEIGHT, WIDTH, generator=gen, dtype=torch.float64)).float()
    others = other_fixation_maps(torch.cat([fix, torch.roll(fix, 1, dims=2)]), generator=gen)[:batch]
    return saliency, fix, density, others


def ours_runner(batch: int, maps: int, names=METRICS):
    """A function timing ours on ``maps`` maps, ``batch`` per call; returns ms per map."""
    saliency, fix, density, others = make_batch(maps)
    gen = torch.Generator().manual_seed(0)

    def run() -> float:
        start = time.perf_counter()
        for first in range(0, maps, batch):
            part = slice(first, first + batch)
            compute_saliency_metrics(saliency[part], fix[part], density=density[part], other_fixations=others[part],
                                     names=names, generator=gen)
        return (time.perf_counter() - start) / maps * 1e3

    run()  # warm-up: first-call allocations, cached resize / index buffers
    return run


def import_pysaliency():
    """pysaliency 0.2.22 needs pkg_resources (setuptools < 81) and np.trapz (numpy < 2.4): stand in."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        stub = types.ModuleType("pkg_resources")  # only used by pysaliency's MATLAB-model wrappers
        stub.resource_string = stub.resource_listdir = None
        sys.modules["pkg_resources"] = stub
    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="pysaliency")  # log(0) in MIT_KLDiv
    try:
        from pysaliency import metrics
        from pysaliency.roc import general_roc
    except ImportError:
        return None
    return metrics, general_roc


PYSALIENCY_CALLS = {
    "nss": lambda m, s, f, d, o: m.NSS(s, *np.nonzero(f)[::-1]).mean(),
    "cc": lambda m, s, f, d, o: m.CC(s, d),
    "kld": lambda m, s, f, d, o: m.MIT_KLDiv(s, d),
    "sim": lambda m, s, f, d, o: m.SIM(s, d),
}


def pysaliency_runner(maps: int, names=METRICS):
    """A function timing pysaliency one map at a time on ``maps`` maps (ms per map), or None."""
    imported = import_pysaliency()
    if imported is None:
        return None
    metrics, general_roc = imported
    saliency, fix, density, others = (t.numpy() for t in make_batch(maps))
    saliency = saliency.astype(np.float64)
    calls = dict(PYSALIENCY_CALLS)
    calls["auc_judd"] = lambda m, s, f, d, o: general_roc(s[f], s[~f], judd=1)
    calls["shuffled_auc"] = lambda m, s, f, d, o: general_roc(s[f], s[o], judd=0)
    chosen = [calls[name] for name in names]

    def run() -> float:
        start = time.perf_counter()
        for b in range(maps):
            for call in chosen:
                call(metrics, saliency[b], fix[b], density[b], others[b])
        return (time.perf_counter() - start) / maps * 1e3

    run()  # numba compiles on the first call
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the best of each is shown")
    parser.add_argument("--maps", type=int, default=32, help="maps per timing (batch 1: one call per map)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-metric rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runners = {"wordsight batch 1": ours_runner(1, args.maps), "wordsight batch 32": ours_runner(32, args.maps)}
    reference = pysaliency_runner(args.maps)
    if reference is not None:
        runners["pysaliency 0.2.22 (one map at a time)"] = reference
    best = _interleaved(runners, args.repeats)
    print(f"metrics: {', '.join(METRICS)}; {HEIGHT}x{WIDTH} maps, {FIXATIONS} fixations, {args.threads} threads, "
          f"{args.maps} maps per timing, best of {args.repeats} interleaved rounds")
    pys = best.get("pysaliency 0.2.22 (one map at a time)")
    print(f"{'implementation':<40} {'ms / map':>10} {'pysaliency / this':>18}")
    for name, value in best.items():
        ratio = "" if pys is None else f"{pys / value:17.1f}x"
        print(f"{name:<40} {value:10.2f} {ratio:>18}")
    if pys is None:
        print("pysaliency 0.2.22 not installed: no reference timing")
    if args.no_breakdown:
        return
    # Each metric alone (batch 1, including the shared checks and statistics it needs).
    per_metric = {}
    for name in METRICS:
        maps = min(args.maps, 8)
        runners = {"ours": ours_runner(1, maps, [name])}
        theirs = pysaliency_runner(maps, [name])
        if theirs is not None:
            runners["pysaliency"] = theirs
        per_metric[name] = _interleaved(runners, args.repeats)
    print("\nper metric, each computed alone, ms per map (batch 1; ours includes the input checks each time):")
    print(f"{'':<12}" + "".join(f"{name:>14}" for name in METRICS))
    for who in ("ours", "pysaliency"):
        if who in per_metric[METRICS[0]]:
            print(f"{who:<12}" + "".join(f"{per_metric[name][who]:14.3f}" for name in METRICS))


def _interleaved(runners: dict, repeats: int) -> dict:
    """Best ms per map of each runner over ``repeats`` rounds that run every runner once, in turn."""
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run())
    return {name: min(values) for name, values in times.items()}


if __name__ == "__main__":
    main()
