"""`wordsight bench`: speed tables (benchmarks, not tests)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Speed benchmarks that print tables.", no_args_is_help=True)


@app.command("train")
def bench_train(
    system: str = typer.Argument("dfgan", help="System to time (dfgan)."),
    size: int = typer.Option(64, help="Image size."),
    batch: int = typer.Option(32, help="Batch size."),
    nf: int = typer.Option(32, help="Generator/discriminator width (official: 32)."),
    steps: int = typer.Option(5, min=1, help="Timed steps per mode."),
    threads: int = typer.Option(0, help="torch threads (0: leave the default)."),
    bf16: str = typer.Option("auto", help="Time bf16 autocast too: auto (only where the CPU has native bf16), yes, no."),
    loop: bool = typer.Option(True, "--loop/--no-loop", help="Also time the real training loop (the Trainer on the "
                              "synthetic world: data, NaN guard, EMA, logging), as a run reports it."),
    scenes: int = typer.Option(256, min=1, help="Synthetic scenes the --loop run encodes up front."),
) -> None:
    """img/s, GFLOP/s and fraction of the measured matmul peak of one training step, next to the
    same model in plain fp32 eager mode measured in the same run; with --loop (default) the whole
    training loop too, so the figures are what `wordsight train` gives."""
    import torch

    from ..training.benchmark import matmul_peak, measure_train_speed
    from ..utils.hardware import native_bf16, precision_choice

    if system != "dfgan":
        raise typer.BadParameter(f"only dfgan is benchmarked so far, got {system!r}")
    if threads:
        torch.set_num_threads(threads)
    with_bf16 = _bf16_choice(bf16)
    peak_dtype = torch.bfloat16 if native_bf16() else torch.float32
    peak = matmul_peak(peak_dtype)
    modes = ([(True, True)] if with_bf16 else []) + [(False, True)]
    rows = [measure_train_speed(size, batch, nf, amp=amp, channels_last=cl, steps=steps) for amp, cl in modes]
    base = measure_train_speed(size, batch, nf, amp=False, channels_last=False, steps=max(2, steps // 2))
    peak_name = "bf16" if peak_dtype == torch.bfloat16 else "fp32"
    typer.echo(f"DF-GAN training step, {size} px, batch {batch}, nf {nf}, {torch.get_num_threads()} threads; "
               f"native bf16: {'yes' if native_bf16() else 'no'}; {peak_name} matmul peak {peak:.0f} GFLOP/s; "
               f"{base.gflop_per_image:.2f} GFLOP per image")
    choice = precision_choice("cpu")
    typer.echo(f"mixed_precision auto -> {'bf16' if choice.precision == 'bf16' else 'fp32'}: {choice.reason}"
               + (" (cached)" if choice.cached else ""))
    typer.echo(f"| mode | img/s | GFLOP/s | % of {peak_name} peak | vs fp32 eager |")
    typer.echo("|---|---|---|---|---|")
    for r in (*rows, base):
        typer.echo(f"| {r.mode} | {r.img_per_s:.2f} | {r.gflop_per_s:.1f} | {100 * r.gflop_per_s / peak:.1f}% | "
                   f"{r.img_per_s / base.img_per_s:.2f}x |")
    if loop:
        from ..training.benchmark import measure_trainer_speed

        for amp, cl in modes:
            r = measure_trainer_speed(size, batch, nf, precision="bf16" if amp else "no", channels_last=cl,
                                      steps=steps, num_scenes=scenes)
            gflop_s = r.img_per_s * base.gflop_per_image
            typer.echo(f"| Trainer, {r.mode}, {r.data} data | {r.img_per_s:.2f} | {gflop_s:.1f} | "
                       f"{100 * gflop_s / peak:.1f}% | {r.img_per_s / base.img_per_s:.2f}x |")


def _bf16_choice(value: str) -> bool:
    from ..utils.hardware import native_bf16

    if value not in ("auto", "yes", "no"):
        raise typer.BadParameter(f"--bf16 must be auto, yes or no, got {value!r}")
    return native_bf16() if value == "auto" else value == "yes"


@app.command("precision")
def bench_precision(
    remeasure: bool = typer.Option(False, "--remeasure", help="Time again instead of reading the cached result."),
) -> None:
    """What `mixed_precision: auto` picks on this machine and why: bf16 autocast against fp32 on DF-GAN-like
    convolutions (timed once per machine, cached)."""
    from ..utils import hardware

    if remeasure:
        hardware.forget_measurement()
    choice = hardware.precision_choice("cpu")
    typer.echo(f"CPU: {hardware.cpu_model()}; bf16 instructions: {'yes' if hardware.native_bf16('cpu') else 'no'}; "
               f"{hardware.torch.get_num_threads()} torch threads")
    if choice.fp32_ms is not None:
        typer.echo("| precision | ms per probe pass |")
        typer.echo("|---|---|")
        typer.echo(f"| fp32 + channels_last | {choice.fp32_ms:.1f} |")
        typer.echo(f"| bf16 autocast + channels_last | {choice.bf16_ms:.1f} |")
    typer.echo(f"mixed_precision auto -> {'bf16' if choice.precision == 'bf16' else 'fp32'}: {choice.reason}"
               + (f" (cached in {hardware.precision_cache_path()})" if choice.cached else ""))


@app.command("generate")
def bench_generate(
    size: int = typer.Option(256, help="Image size."),
    nf: int = typer.Option(32),
    threads: int = typer.Option(0, help="torch threads (0: leave the default)."),
    bf16: str = typer.Option("auto", help="Time bf16 autocast too: auto (only where the CPU has native bf16), yes, no."),
    compile: bool = typer.Option(False, "--compile", help="Also time the generator through torch.compile (about a minute to compile)."),
) -> None:
    """Batch-1 latency and batch-32 throughput of the DF-GAN generator (fp32, and bf16 where native)."""
    import torch

    from ..training.benchmark import measure_generation

    if threads:
        torch.set_num_threads(threads)
    typer.echo(f"DF-GAN generator, {size} px, nf {nf}, {torch.get_num_threads()} threads")
    typer.echo("| mode | batch-1 latency (ms) | batch-32 img/s |")
    typer.echo("|---|---|---|")
    for amp in ((True, False) if _bf16_choice(bf16) else (False,)):
        for compiled in ((False, True) if compile else (False,)):
            r = measure_generation(size, nf, amp=amp, compile=compiled)
            mode = ("bf16" if amp else "fp32") + "+channels_last" + (f"+torch.compile ({r['compile_s']:.0f} s to compile)" if compiled else "")
            typer.echo(f"| {mode} | {r['latency_ms_batch1']:.1f} | {r['img_per_s_batch32']:.2f} |")


@app.command("synthetic")
def bench_synthetic(
    scenes: int = typer.Option(2000, min=10, help="Scenes rendered per size."),
    sizes: str = typer.Option("64,256", help="Comma-separated image sizes."),
) -> None:
    """Scenes per second of the synthetic world on one core (render + captions; + gaze separately)."""
    import time

    import torch

    from ..data.synthetic import SyntheticWorld, WorldConfig

    torch.set_num_threads(1)
    typer.echo("| size | scenes/s (image, masks, captions) | gaze samples/s (fixations + density) |")
    typer.echo("|---|---|---|")
    for size in (int(s) for s in sizes.split(",")):
        world = SyntheticWorld(WorldConfig(seed=0, image_size=size))
        n = scenes if size <= 128 else max(10, scenes // 4)
        t0 = time.perf_counter()
        for i in range(n):
            world.scene(i)
        render = n / (time.perf_counter() - t0)
        m = max(10, n // 10)
        t0 = time.perf_counter()
        for i in range(m):
            world.gaze(i, "salient")
        gaze = m / (time.perf_counter() - t0)
        typer.echo(f"| {size} | {render:.0f} | {gaze:.0f} |")
