"""Speed of the saliency metrics: ms per 480x640 map with 30 fixations, ours (batch 1 and 32) vs pysaliency.

Times NSS, CC, KLD, SIM, AUC-Judd and shuffled AUC (100 splits, negatives from 10 other images)
together, with the density maps and other-image fixation maps built beforehand (as a benchmark run
would cache them). pysaliency (0.2.22) is timed one map at a time when it is importable.

    .venv/bin/python benchmarks/bench_saliency_metrics.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import types

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


def time_ours(batch: int, repeats: int) -> float:
    saliency, fix, density, others = make_batch(batch)
    gen = torch.Generator().manual_seed(0)

    def run():
        compute_saliency_metrics(saliency, fix, density=density, other_fixations=others, names=METRICS, generator=gen)

    run()  # warm-up: builds cached index buffers, first-call allocations
    best = min(_timed(run) for _ in range(repeats))
    return best / batch * 1e3


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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
    try:
        from pysaliency import metrics
        from pysaliency.roc import general_roc
    except ImportError:
        return None
    return metrics, general_roc


def time_pysaliency(repeats: int, maps: int = 8) -> float | None:
    imported = import_pysaliency()
    if imported is None:
        return None
    metrics, general_roc = imported
    saliency, fix, density, others = (t.numpy() for t in make_batch(maps))
    saliency = saliency.astype(np.float64)

    def run():
        for b in range(maps):
            s, f, d = saliency[b], fix[b], density[b]
            ys, xs = np.nonzero(f)
            metrics.NSS(s, xs, ys).mean()
            metrics.CC(s, d)
            metrics.MIT_KLDiv(s, d)
            metrics.SIM(s, d)
            general_roc(s[f], s[~f], judd=1)
            general_roc(s[f], s[others[b]], judd=0)

    run()  # numba compiles on the first call
    return min(_timed(run) for _ in range(repeats)) / maps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [("wordsight batch 1", time_ours(1, args.repeats)), ("wordsight batch 32", time_ours(32, args.repeats))]
    reference = time_pysaliency(args.repeats)
    rows.append(("pysaliency 0.2.22 (one map at a time)", reference))
    print(f"metrics: {', '.join(METRICS)}; {HEIGHT}x{WIDTH} maps, {FIXATIONS} fixations, {args.threads} threads")
    print(f"{'implementation':<40} {'ms / map':>10}")
    for name, value in rows:
        shown = "not installed" if value is None else f"{value:10.2f}"
        print(f"{name:<40} {shown:>10}")


if __name__ == "__main__":
    main()
