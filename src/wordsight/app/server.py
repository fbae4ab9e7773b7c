"""Start the web demo with safe defaults: loopback only, no share link, a bounded queue, upload limits.

:func:`serve` is what ``wordsight serve`` runs; :func:`launch` starts the server without blocking (tests,
benchmarks/demo_load.py) and returns the demo and its address.
"""

from __future__ import annotations

import os
from typing import Optional

from ..utils.checks import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
CONCURRENCY = 2  # requests computed at once per event (the rest wait in the queue)
QUEUE_SIZE = 64  # requests waiting at most; more are refused with "queue full"
INSTALL_HINT = "pip install 'wordsight[demo]'"


def require_gradio():
    """The gradio module, or an InputError telling how to install it."""
    try:
        import gradio
    except ImportError as exc:
        raise InputError(f"the web demo needs gradio, which is not installed: {INSTALL_HINT}") from exc
    return gradio


def launch(models_dir: Optional[str | os.PathLike] = None, host: str = DEFAULT_HOST, port: Optional[int] = DEFAULT_PORT,
           share: bool = False, concurrency: int = CONCURRENCY, quiet: bool = True,
           gallery: Optional[str | os.PathLike] = None, osie: Optional[str | os.PathLike] = None):
    """Build and start the demo without blocking; returns (demo, local URL). ``demo.close()`` stops it."""
    require_gradio()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from . import handlers
    from .demo import build_demo

    if concurrency < 1:
        raise InputError(f"concurrency must be >= 1, got {concurrency}")
    demo = build_demo(models_dir, gallery=gallery, osie=osie)
    demo.queue(default_concurrency_limit=concurrency, max_size=QUEUE_SIZE)
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True, quiet=quiet,
                max_file_size=handlers.MAX_UPLOAD_BYTES, ssr_mode=False, show_error=False)  # only gr.Error messages reach the page
    return demo, demo.local_url


def serve(models_dir: Optional[str | os.PathLike] = None, host: str = DEFAULT_HOST, port: Optional[int] = DEFAULT_PORT,
          share: bool = False, concurrency: int = CONCURRENCY, echo=print, gallery: Optional[str | os.PathLike] = None,
          osie: Optional[str | os.PathLike] = None) -> None:
    """Start the demo, print its address and serve until interrupted."""
    demo, url = launch(models_dir, host, port, share, concurrency, gallery=gallery, osie=osie)
    echo(f"wordsight demo running at {url}" + (f" (share link: {demo.share_url})" if share and demo.share_url else ""))
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(f"warning: listening on {host}: anyone who can reach this machine can use the demo")
    echo("press Ctrl+C to stop")
    try:
        demo.block_thread()
    finally:
        demo.close()
