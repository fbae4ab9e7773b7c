"""The Gradio page of ``wordsight serve``: four tabs over :mod:`wordsight.app.handlers`.

    from wordsight.app.demo import build_demo
    demo = build_demo(models_dir="runs")     # the shipped model plus every pipeline folder under runs/
    demo.queue(default_concurrency_limit=2).launch(server_name="127.0.0.1")

Each event has an ``api_name`` (``/generate``, ``/manipulate``, ``/saliency``, ``/compare``), so the page
is also an API for ``gradio_client`` (docs/demo.md). Input errors and limits show as a Gradio error
toast; notes about a result (unknown words, resizing) as warnings and in the box under the result.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import gradio as gr

from ..utils.checks import InputError
from . import handlers as h

TITLE = "wordsight: text-guided vision with GANs"
RESULT_AGE_S = 3600  # result PNGs older than this are deleted from the demo's temp folder


def build_demo(models_dir: Optional[str | os.PathLike] = None, gallery: Optional[str | os.PathLike] = None,
               osie: Optional[str | os.PathLike] = None) -> gr.Blocks:
    """The Blocks of the web demo: the shipped models, plus the text-to-image and TIRG pipelines under
    ``models_dir`` (folders with pickle files are refused and listed on the page); ``gallery``: the folder
    TIRG retrieves from (default: synthetic test scenes); ``osie``: an OSIE folder, whose held-out images the
    saliency tab offers beside their human fixation maps."""
    entries, refused = h.find_text_to_image_models(models_dir)
    retrieval_models, refused_retrieval = h.find_retrieval_models(models_dir)
    refused = refused + refused_retrieval
    if gallery is not None:
        h.check_gallery(gallery)
    osie_stems = h.osie_stems(osie) if osie is not None else []
    if osie is not None and not osie_stems:
        raise InputError(f"--osie {osie}: no OSIE images found (expected stimuli/ and eye/fixations.mat)")
    by_key = {e.key: e for e in entries}
    choices = [(e.label, e.key) for e in entries]
    with gr.Blocks(title=TITLE, delete_cache=(RESULT_AGE_S, RESULT_AGE_S)) as demo:
        gr.Markdown(f"# {TITLE}\nModels trained on the synthetic shape world know only its shapes, colours, "
                    f"sizes and positions. Limits: captions {h.MAX_CAPTION_CHARS} characters, {h.MAX_IMAGES} images "
                    f"per request, uploads {h.MAX_UPLOAD_BYTES // 2**20} MB and {h.MAX_PIXELS // 10**6} MP.")
        if refused:
            gr.Markdown("**Model folders not offered:**\n" + "\n".join(f"- {m}" for m in refused))
        with gr.Tab("Text to image"):
            _text_to_image_tab(choices, by_key)
        with gr.Tab("Manipulation"):
            _manipulation_tab(retrieval_models, gallery)
        with gr.Tab("Saliency"):
            _saliency_tab(osie, osie_stems)
        with gr.Tab("Compare"):
            _compare_tab(choices, by_key)
    return demo


def _messages(messages: list[str]) -> str:
    for m in messages:
        gr.Warning(m)
    return "\n".join(f"- {m}" for m in messages)


def _user_errors(fn: Callable) -> Callable:
    """Run ``fn``; an InputError (bad input, a limit) becomes a gr.Error the page shows."""
    def run(*args):
        try:
            return fn(*args)
        except InputError as exc:
            raise gr.Error(str(exc)) from exc
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _model(by_key: dict, key: str) -> h.ModelEntry:
    if key not in by_key:
        raise InputError(f"unknown model {key!r}; pick one from the list")
    return by_key[key]


def _caption_box(label: str = "Caption") -> gr.Textbox:
    return gr.Textbox(label=label, value=h.EXAMPLE_CAPTIONS[0], max_length=h.MAX_CAPTION_CHARS, lines=1,
                      info=f"at most {h.MAX_CAPTION_CHARS} characters")


def _text_to_image_tab(choices: list, by_key: dict) -> None:
    model = gr.Dropdown(choices, value=h.SHIPPED, label="Model (system: what it was trained on)")
    about = gr.Markdown(by_key[h.SHIPPED].describe(), elem_id="model-about")
    model.change(lambda key: _model(by_key, key).describe() if key in by_key else "", [model], [about],
                 api_name="model_info")
    caption = _caption_box()
    seen, held_out = h.example_captions()
    gr.Examples([[c] for c in seen], inputs=[caption], label="Example captions (seen colour/shape combinations)")
    gr.Examples([[c] for c in held_out], inputs=[caption],
                label="Held-out examples (combinations and phrasings the synthetic-world models never saw)")
    with gr.Row():
        count = gr.Slider(1, h.MAX_IMAGES, value=4, step=1, label="Number of images")
        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
        truncation = gr.Slider(0, 1, value=0, step=0.01, label="Truncation (0 = the model's default)")
    button = gr.Button("Generate", variant="primary", elem_id="generate-button")
    gallery = gr.Gallery(label="Images", columns=4, elem_id="generate-gallery")
    notes = gr.Markdown()
    stages = gr.Gallery(label="Stages of the first image, lowest resolution first (multi-stage models: StackGAN, "
                              "StackGAN++, AttnGAN)", columns=4, height="auto", elem_id="generate-stages")
    attention = gr.Gallery(label="Word attention (AttnGAN family): each image's most attended words", columns=2,
                           height="auto", elem_id="generate-attention")

    @_user_errors
    def generate(key, text, n, s, t):
        out = h.generate(_model(by_key, key), text, n, s, t)
        return _files(out.images), _messages(out.messages), _files(out.stages or []), _files(out.attention or [])

    button.click(generate, [model, caption, count, seed, truncation], [gallery, notes, stages, attention],
                 api_name="generate")

    with gr.Accordion("Caption interpolation: one noise, the sentence moved from this caption to another", open=False):
        caption_b = gr.Textbox(label="Second caption", value=h.EXAMPLE_CAPTIONS[1], max_length=h.MAX_CAPTION_CHARS)
        steps = gr.Slider(*h.INTERPOLATION_STEPS, value=8, step=1, label="Steps")
        interpolate_button = gr.Button("Interpolate", elem_id="interpolate-button")
        strip = gr.Gallery(label="From the caption above (left) to the second caption (right)", columns=8,
                           height="auto", elem_id="interpolate-strip")
        strip_notes = gr.Markdown()

    @_user_errors
    def interpolate(key, a, b, n, s):
        out = h.interpolate(_model(by_key, key), a, b, n, s)
        return _files(out.images), _messages(out.messages)

    interpolate_button.click(interpolate, [model, caption, caption_b, steps, seed], [strip, strip_notes],
                             api_name="interpolate")


def _manipulation_tab(retrieval_models: list[Path], gallery: Optional[str | os.PathLike]) -> None:
    scenes = h.example_scenes()
    upload = gr.File(label="Image to edit (PNG, JPEG, ...)", file_types=["image"], type="filepath", elem_id="manipulate-upload")
    example = gr.Dropdown([(f"synthetic example {i + 1}: {cap}", i) for i, (_, cap) in enumerate(scenes)], value=None,
                          label="...or a synthetic example (used when nothing is uploaded)")
    text = gr.Textbox(label="The change", value=h.EXAMPLE_EDITS[0], max_length=h.MAX_CAPTION_CHARS)
    gr.Examples([[t] for t in h.EXAMPLE_EDITS], inputs=[text], label="Example changes")
    button = gr.Button("Edit", variant="primary", elem_id="edit-button")
    with gr.Row():
        original = gr.Image(label="Original (as the editor sees it)", type="filepath", elem_id="manipulate-original")
        edited = gr.Image(label="Edited", type="filepath", elem_id="manipulate-edited")
    notes = gr.Markdown()

    def chosen(path, index):
        if path is None and index is None:
            raise InputError("no image: upload one or pick a synthetic example")
        return path if path is not None else scenes[int(index)][0]

    @_user_errors
    def manipulate(path, index, change):
        out = h.manipulate(chosen(path, index), change)
        return *_files([out.original, out.edited]), _messages(out.messages)

    button.click(manipulate, [upload, example, text], [original, edited, notes], api_name="manipulate")

    with gr.Accordion("Interpolation: the same image edited from the change above to a second one", open=False):
        text_b = gr.Textbox(label="Second change", value=h.EXAMPLE_EDITS[1], max_length=h.MAX_CAPTION_CHARS)
        steps = gr.Slider(*h.INTERPOLATION_STEPS, value=8, step=1, label="Steps")
        strip_button = gr.Button("Interpolate", elem_id="edit-interpolate-button")
        strip = gr.Gallery(label="From the change above (left) to the second change (right)", columns=8, height="auto",
                           elem_id="edit-interpolate-strip")
        strip_notes = gr.Markdown()

    @_user_errors
    def interpolate(path, index, a, b, n):
        out = h.manipulate_interpolation(chosen(path, index), a, b, n)
        return _files(out.strip), _messages(out.messages)

    strip_button.click(interpolate, [upload, example, text, text_b, steps], [strip, strip_notes], api_name="manipulate_interpolation")

    with gr.Accordion("Retrieval (TIRG): gallery images that look like this image with the change applied", open=False):
        if not retrieval_models:
            gr.Markdown("No TIRG model: train one (`wordsight train tirg --data synthetic`) and start the demo with "
                        "`--models runs` to retrieve from a gallery here.")
            return
        where = f"`{gallery}`" if gallery is not None else f"{h.SYNTHETIC_GALLERY_SIZE} synthetic test scenes (`--gallery DIR` for your own)"
        gr.Markdown(f"Gallery: {where}.")
        retrieval_model = gr.Dropdown([(str(p), str(p)) for p in retrieval_models], value=str(retrieval_models[0]),
                                      label="TIRG model")
        search_button = gr.Button("Retrieve", elem_id="retrieve-button")
        hits = gr.Gallery(label="Closest gallery images (rank. file (cosine))", columns=4, height="auto",
                          elem_id="retrieve-gallery")
        hit_notes = gr.Markdown()

    @_user_errors
    def retrieve(folder, path, index, change):
        out = h.retrieve(folder, chosen(path, index), change, gallery if gallery is not None else h.synthetic_gallery())
        return [(f, label) for f, (_, label) in zip(_files([im for im, _ in out.hits]), out.hits)], _messages(out.messages)

    search_button.click(retrieve, [retrieval_model, upload, example, text], [hits, hit_notes], api_name="retrieve")


def _saliency_tab(osie: Optional[str | os.PathLike], osie_stems: list[str]) -> None:
    rows = h.saliency_models()
    choices = [(_saliency_label(r), r["name"]) for r in rows]
    default = next((r["name"] for r in rows if r["present"]), rows[0]["name"])
    upload = gr.File(label="Photo (PNG, JPEG, ...)", file_types=["image"], type="filepath", elem_id="saliency-upload")
    model = gr.Dropdown(choices, value=default, label="Model")
    text = gr.Textbox(label="Guiding text (text-guided models; empty = free viewing)", max_length=h.MAX_CAPTION_CHARS)
    button = gr.Button("Predict where people look", variant="primary", elem_id="saliency-button")
    with gr.Row():
        overlay = gr.Image(label="Heat-map overlay", type="filepath", elem_id="saliency-overlay")
        raw = gr.File(label="Raw map (16-bit PNG, 0..65535 for 0..1)")
    notes = gr.Markdown()

    @_user_errors
    def saliency(path, name, guide):
        out = h.saliency(path, name, guide)
        return _files([out.overlay])[0], _write(h.raw_map_png(out.saliency), "saliency"), _messages(out.messages)

    button.click(saliency, [upload, model, text], [overlay, raw, notes], api_name="saliency")

    if not osie_stems:
        gr.Markdown("Start the demo with `--osie PATH` (an OSIE folder) to compare predictions with the human "
                    "fixation maps of OSIE's held-out images.")
        return
    with gr.Accordion(f"OSIE: the prediction beside 15 people's fixations ({len(osie_stems)} held-out images of {osie})",
                      open=True):
        stem = gr.Dropdown(osie_stems, value=osie_stems[0], label="OSIE image (held out: the shipped model never saw it)")
        human_button = gr.Button("Compare with people", elem_id="osie-button")
        with gr.Row():
            photo = gr.Image(label="Photo", type="filepath")
            predicted = gr.Image(label="Model", type="filepath", elem_id="osie-predicted")
            human = gr.Image(label="People (blurred fixations)", type="filepath", elem_id="osie-human")
        human_notes = gr.Markdown()

    @_user_errors
    def with_humans(name, key, guide):
        out = h.saliency_with_humans(osie, name, key, guide)
        scores = ", ".join(f"{k} {v:.3f}" for k, v in out.scores.items())
        return (*_files([out.image, out.predicted, out.human]),
                _messages(out.messages) + f"\n\nThis image: {scores} (the model's map against the people's fixations)")

    human_button.click(with_humans, [stem, model, text], [photo, predicted, human, human_notes], api_name="saliency_osie")


def _saliency_label(row: dict) -> str:
    if not row["present"]:
        return f"{row['name']} (not installed)"
    return f"{row['name']}: {'text-guided' if row.get('uses_text') else 'free viewing'}, trained on {row.get('trained_on')}"


def _compare_tab(choices: list, by_key: dict) -> None:
    with gr.Row():
        model_a = gr.Dropdown(choices, value=choices[0][1], label="Model A")
        model_b = gr.Dropdown(choices, value=choices[-1][1], label="Model B")
    caption = _caption_box()
    gr.Examples([[c] for c in h.EXAMPLE_CAPTIONS], inputs=[caption], label="Example captions")
    with gr.Row():
        count = gr.Slider(1, h.MAX_IMAGES, value=4, step=1, label="Images per model")
        seed = gr.Number(0, precision=0, minimum=0, label="Seed (the same for both)")
    button = gr.Button("Compare", variant="primary", elem_id="compare-button")
    with gr.Row():
        gallery_a = gr.Gallery(label="Model A", columns=2, elem_id="compare-gallery-a")
        gallery_b = gr.Gallery(label="Model B", columns=2, elem_id="compare-gallery-b")
    notes = gr.Markdown()

    @_user_errors
    def compare(a, b, text, n, s):
        out_a, out_b = h.compare(_model(by_key, a), _model(by_key, b), text, n, s)
        messages = [f"A: {m}" for m in out_a.messages] + [f"B: {m}" for m in out_b.messages]
        table = {name: out.oracle for name, out in (("A", out_a), ("B", out_b)) if out.oracle is not None}
        scores = ("\n\n" + h.oracle_markdown(table, f"What the synthetic world's oracle reads in these {int(n)} images, "
                                                     "against the caption (fraction right)")) if table else ""
        return _files(out_a.images), _files(out_b.images), _messages(messages) + scores

    button.click(compare, [model_a, model_b, caption, count, seed], [gallery_a, gallery_b, notes], api_name="compare")


def _files(images: list) -> list[str]:
    """Each PIL image as a PNG file of its own in the demo's temp folder.

    Results go to Gradio as files, not PIL images: Gradio 6 writes a PIL result straight into its
    content-hashed cache path, so two requests with the same result (same caption and seed) rewrite a file
    while it is being sent, and a client gets a truncated download; a file result is copied into the cache
    atomically (seen with benchmarks/demo_load.py, 16 of 200 requests failed before this)."""
    out = []
    for image in images:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        out.append(_write(buf.getvalue(), "image"))
    return out


def _write(data: bytes, prefix: str) -> str:
    """Write ``data`` to a new PNG in the demo's temp folder (Gradio copies it into its cache and serves
    it from there) and delete those older than RESULT_AGE_S."""
    folder = Path(tempfile.gettempdir()) / "wordsight-demo"
    folder.mkdir(exist_ok=True)
    now = time.time()
    for old in folder.glob("*.png"):
        try:
            if now - old.stat().st_mtime > RESULT_AGE_S:
                old.unlink()
        except OSError:
            pass
    with tempfile.NamedTemporaryFile("wb", suffix=".png", prefix=f"{prefix}-", dir=folder, delete=False) as fh:
        fh.write(data)
    return fh.name
