"""`wordsight serve [--models DIR] [--gallery DIR] [--osie DIR] [--host 127.0.0.1] [--port 7860]`: the Gradio web demo.

Registered in cli/main.py as a group whose callback is this command (so `wordsight serve --port 7860`
works). The demo lives in ``wordsight.app``, a sibling layer of ``cli``; this is the one import from the command
line into it (listed in tests/test_layering.py's ALLOWED), made lazily so that the CLI runs without Gradio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..utils.checks import InputError

app = typer.Typer(help="Start the web demo (Gradio).", invoke_without_command=True)


@app.callback()
def serve(
    models: Optional[Path] = typer.Option(None, "--models", help="Also offer every text-to-image pipeline folder under DIR "
                                          "(safetensors only; folders with pickle files are refused)."),
    host: str = typer.Option("127.0.0.1", help="Address to bind; the default is reachable from this machine only."),
    port: int = typer.Option(7860, min=1, max=65535, help="Port to listen on."),
    share: bool = typer.Option(False, "--share", help="Also open a public gradio.live link (off by default)."),
    concurrency: int = typer.Option(2, min=1, help="Requests computed at once per tab; the rest wait in a queue."),
    gallery: Optional[Path] = typer.Option(None, "--gallery", help="Image folder the TIRG retrieval searches "
                                           "(default: synthetic test scenes); needs a TIRG pipeline under --models."),
    osie: Optional[Path] = typer.Option(None, "--osie", help="An OSIE folder (stimuli/, eye/fixations.mat): the saliency "
                                        "tab then shows its held-out images beside the human fixation maps."),
) -> None:
    """Start the web demo: text to image, manipulation, saliency and a side-by-side model comparison."""
    if models is not None and not models.is_dir():
        raise InputError(f"--models: no such folder: {models}")
    for option, folder in (("--gallery", gallery), ("--osie", osie)):
        if folder is not None and not folder.is_dir():
            raise InputError(f"{option}: no such folder: {folder}")
    from ..app import server

    server.serve(models, host=host, port=port, share=share, concurrency=concurrency, echo=typer.echo, gallery=gallery, osie=osie)
