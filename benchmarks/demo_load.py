"""Load test of the web demo: start `wordsight serve` in this process on a free loopback port, fire
``--requests`` requests at ``--concurrency`` across the four tabs with gradio_client, and print the errors,
p50/p95 latency per endpoint and the peak RSS (server and clients share this process) as a table.

    python benchmarks/demo_load.py --requests 200 --concurrency 20
    python benchmarks/demo_load.py --requests 40 --concurrency 8 --server-concurrency 2 --threads 1

Not a test: it needs gradio and gradio_client (pip install 'wordsight[demo]').
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ENDPOINTS = ("generate", "manipulate", "saliency", "compare")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _photo(folder: Path) -> str:
    from PIL import Image

    path = folder / "photo.png"
    Image.new("RGB", (96, 64), (30, 120, 200)).save(path)
    return str(path)


def _call(client, endpoint: str, photo: str, handle_file) -> None:
    from wordsight.app.handlers import EXAMPLE_CAPTIONS, EXAMPLE_EDITS, SHIPPED

    if endpoint == "generate":
        client.predict(SHIPPED, EXAMPLE_CAPTIONS[1], 4, 0, 0, api_name="/generate")
    elif endpoint == "manipulate":
        client.predict(None, 0, EXAMPLE_EDITS[0], api_name="/manipulate")
    elif endpoint == "saliency":
        client.predict(handle_file(photo), "synthetic-text", "a blue square", api_name="/saliency")
    else:
        client.predict(SHIPPED, SHIPPED, EXAMPLE_CAPTIONS[2], 2, 1, api_name="/compare")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20, help="clients firing at once")
    parser.add_argument("--server-concurrency", type=int, default=2, help="requests the server computes at once per tab")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--models", default=None, help="--models DIR of `wordsight serve`")
    args = parser.parse_args(argv)

    import torch
    from gradio_client import Client, handle_file

    from wordsight.app.server import launch

    torch.set_num_threads(args.threads)
    demo, url = launch(args.models, port=_free_port(), concurrency=args.server_concurrency)
    clients = {}
    lock = threading.Lock()
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        photo = _photo(Path(tmp))

        def one(i: int) -> None:
            endpoint = ENDPOINTS[i % len(ENDPOINTS)]
            name = threading.current_thread().name
            with lock:
                if name not in clients:
                    clients[name] = Client(url, verbose=False)
            start = time.perf_counter()
            try:
                _call(clients[name], endpoint, photo, handle_file)
            except Exception as exc:  # every failure is counted and printed, none stops the run
                with lock:
                    errors.append(f"{endpoint} #{i}: {type(exc).__name__}: {exc}")
                return
            with lock:
                latencies[endpoint].append(time.perf_counter() - start)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
    demo.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{args.requests} requests, {args.concurrency} clients, server concurrency {args.server_concurrency} per tab, "
          f"{args.threads} torch thread(s); wall {wall:.1f} s, {args.requests / wall:.2f} req/s")
    print("| endpoint | ok | errors | p50 s | p95 s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for endpoint in ENDPOINTS:
        lat = latencies[endpoint]
        failed = sum(e.startswith(f"{endpoint} ") for e in errors)
        print(f"| /{endpoint} | {len(lat)} | {failed} | {_percentile(lat, 0.5):.2f} | {_percentile(lat, 0.95):.2f} |")
    print(f"peak RSS (server and clients, one process): {rss_mb:.0f} MB")
    for e in errors[:20]:
        print(f"error: {e}")
    if len(errors) > 20:
        print(f"... and {len(errors) - 20} more errors")
    return 1 if errors else 0


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.exit(main())
