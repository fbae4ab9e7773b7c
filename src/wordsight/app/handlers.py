"""The web demo's request handlers: validate one request, call a pipeline, return PIL images and messages.

Plain functions over :mod:`wordsight.pipelines` (no Gradio here, so they are unit-testable without a
browser); :mod:`wordsight.app.demo` wires them into the page. Bad input raises :class:`InputError` with a
message meant for the page; what the page should show beside a result (unknown words, resizing) comes back
as a list of strings.

Unknown-word messages are computed here with :func:`unknown_words` rather than by catching the pipelines'
warnings: ``warnings.catch_warnings`` changes process-wide state and is not safe across the server's
worker threads.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..data.synthetic import SyntheticWorld, WorldConfig
from ..pipelines.manipulation import Manipulation
from ..pipelines.saliency import Saliency, shipped_models
from ..models.oracle import load_oracle
from ..pipelines.evaluation import caption_oracle_scores
from ..pipelines.text_to_image import PIPELINE_FILE, TextToImage, TextToImageOutput, unknown_words
from ..utils.checks import InputError
from ..utils.images import heatmap_overlay, tensor_to_pil

MAX_CAPTION_CHARS = 200
MAX_IMAGES = 16
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")
SHIPPED = "shipped"  # the key of TextToImage.from_pretrained()'s default model
EXAMPLE_CAPTIONS = ("a small red circle", "a big blue square", "a large green star", "a little yellow triangle",
                    "a big purple hexagon", "a small orange diamond")
EXAMPLE_EDITS = ("a small blue circle", "a big red square", "a green star")
CACHE_SIZE = 8  # pipelines kept loaded at once (least recently used dropped first)


# ---------------------------------------------------------------- checks
def check_caption(text: Optional[str], what: str = "caption") -> str:
    """The stripped text; empty or longer than :data:`MAX_CAPTION_CHARS` characters -> InputError."""
    text = (text or "").strip()
    if not text:
        raise InputError(f"the {what} is empty: type a sentence, e.g. {EXAMPLE_CAPTIONS[0]!r}")
    if len(text) > MAX_CAPTION_CHARS:
        raise InputError(f"the {what} has {len(text)} characters; the limit is {MAX_CAPTION_CHARS}")
    return text


def check_count(n) -> int:
    """Images per request as an int in [1, :data:`MAX_IMAGES`]."""
    if isinstance(n, float) and not n.is_integer():
        raise InputError(f"number of images must be a whole number, got {n!r}")
    try:
        count = int(n)
    except (TypeError, ValueError):
        raise InputError(f"number of images must be a whole number, got {n!r}") from None
    if not 1 <= count <= MAX_IMAGES:
        raise InputError(f"number of images must be between 1 and {MAX_IMAGES}, got {count}")
    return count


def check_seed(seed) -> int:
    try:
        value = int(seed) if seed is not None else 0
    except (TypeError, ValueError):
        raise InputError(f"seed must be a whole number, got {seed!r}") from None
    if not 0 <= value < 2**63:
        raise InputError(f"seed must be in [0, 2^63), got {value}")
    return value


def check_truncation(value) -> Optional[float]:
    """None or 0 -> the model's default; else a float in (0, 1]."""
    if value is None or float(value) == 0:
        return None
    value = float(value)
    if not 0 < value <= 1:
        raise InputError(f"truncation must be in (0, 1] (0 = the model's default), got {value}")
    return value


def load_upload(upload) -> Image.Image:
    """An uploaded file (path) or a PIL image -> an RGB PIL image, refusing files over
    :data:`MAX_UPLOAD_BYTES`, images over :data:`MAX_PIXELS` (checked from the header, before decoding: a
    decompression bomb never gets decoded) and anything that is not an image."""
    if upload is None:
        raise InputError("no image: upload one (PNG, JPEG, ...) or pick an example")
    from ..utils.images import ImageTooLargeError, check_pixels, open_image, to_rgb

    if isinstance(upload, Image.Image):
        check_pixels(upload.size, MAX_PIXELS, "the image")
        return to_rgb(upload)
    if not isinstance(upload, (str, os.PathLike)):  # a tempfile-like object (older Gradio) or a FileData
        upload = getattr(upload, "path", None) or getattr(upload, "name", None) or ""
    path = Path(upload)
    if not path.is_file():
        raise InputError(f"the upload is missing on the server: {path.name}")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise InputError(f"the upload is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        # the shared opener: the header only, refused over the demo's MAX_PIXELS before any decoding
        with open_image(path, max_pixels=MAX_PIXELS, name=path.name) as im:
            im.load()
            return to_rgb(im)  # the library's one conversion (16-bit scaled, alpha onto white, CMYK via ICC)
    except ImageTooLargeError:
        raise
    except InputError as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise InputError(f"{path.name} is not an image this demo can read (PNG, JPEG, WebP, ...): {cause}") from exc
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError) as exc:
        raise InputError(f"{path.name} is not an image this demo can read (PNG, JPEG, WebP, ...): {exc}") from exc


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(f"the image is {width}x{height} = {width * height / 1e6:.1f} MP; the limit is "
                         f"{MAX_PIXELS / 1e6:.0f} MP")
    if width < 1 or height < 1:
        raise InputError(f"the image is empty ({width}x{height})")


# ---------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelEntry:
    """A text-to-image model the page offers: ``key`` (SHIPPED or the folder), what it is, its label."""

    key: str
    path: Optional[Path]
    system: str
    trained_on: str
    steps: Optional[int] = None
    data: Optional[str] = None  # "synthetic" for models of the synthetic world (the oracle can score them)
    oracle: Optional[dict] = None  # {split: {count, color, shape, size, relation, joint}} when recorded

    @property
    def label(self) -> str:
        where = "shipped" if self.path is None else self.path.name if self.path.name != "pipeline" else self.path.parent.name
        steps = f", {self.steps} steps" if self.steps else ""
        return f"{self.system} ({where}{steps}): trained on {self.trained_on}"

    def describe(self) -> str:
        """Markdown: the model, its training and its recorded oracle table (synthetic-world models)."""
        lines = [f"**{self.system}** ({'shipped' if self.path is None else self.path}): trained on {self.trained_on}"
                 + (f", {self.steps} steps" if self.steps else "")]
        if self.oracle:
            lines.append("")
            lines.append(oracle_markdown(self.oracle, "Oracle accuracy recorded for this model (one image per caption; "
                                                      "test = seen colour/shape combinations, heldout = unseen ones)"))
        return "\n".join(lines)


def pickle_files(folder: Path) -> list[Path]:
    """Files under ``folder`` that may hold pickles (:data:`PICKLE_SUFFIXES`)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file())


def check_safe_folder(folder: Path) -> None:
    """InputError unless ``folder`` holds safetensors weights and no pickle files."""
    pickles = pickle_files(folder)
    if pickles:
        names = ", ".join(p.relative_to(folder).as_posix() for p in pickles[:3])
        raise InputError(f"refused {folder}: it holds pickle files ({names}), which can run code when loaded; "
                         "the demo loads only safetensors model folders")
    if not any(folder.rglob("*.safetensors")):
        raise InputError(f"refused {folder}: no .safetensors weights in it")


def _entry(folder: Optional[Path]) -> ModelEntry:
    import json

    meta_path = (folder if folder is not None else _shipped_dir()) / PIPELINE_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {meta_path}: {exc}") from exc
    trained = meta.get("trained_on") or {}
    trained_on = trained.get("description") or trained.get("data") if isinstance(trained, dict) else str(trained)
    data = trained.get("data") if isinstance(trained, dict) else None
    steps = meta.get("trained_steps")
    return ModelEntry(SHIPPED if folder is None else str(folder), folder, str(meta.get("system", "unknown system")),
                      trained_on or "unknown data", int(steps) if isinstance(steps, (int, float)) else None,
                      str(data) if data else None, recorded_oracle_table(meta_path.parent))


ORACLE_COLUMNS = ("count", "color", "shape", "size", "relation", "joint")


def recorded_oracle_table(folder: Path) -> Optional[dict]:
    """The oracle accuracy a model folder records: ``eval.json``'s ``oracle_accuracy`` (shipped models), else
    the last oracle evaluation in the run's ``metrics.jsonl`` next to a ``<run>/pipeline`` folder."""
    import json

    try:
        if (folder / "eval.json").is_file():
            table = json.loads((folder / "eval.json").read_text(encoding="utf-8")).get("oracle_accuracy")
            return table if isinstance(table, dict) and table else None
        log = folder.parent / "metrics.jsonl"
        if folder.name != "pipeline" or not log.is_file():
            return None
        from ..metrics.generation.oracle import accuracy_from_keys

        last = {}
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line of a run that was killed
            for split, held_out in (("test", False), ("heldout", True)):
                try:
                    last[split] = accuracy_from_keys(record, held_out=held_out)
                except KeyError:
                    pass
        return last or None
    except (OSError, ValueError, AttributeError):
        return None


def oracle_markdown(table: dict, title: str) -> str:
    """``{row: {score: value}}`` as a Markdown table under ``title`` (NaN: the captions state no relation)."""
    def cell(v) -> str:
        return "n/a" if v is None or v != v else f"{float(v):.2f}"
    head = "| | " + " | ".join(ORACLE_COLUMNS) + " |\n|---|" + "---|" * len(ORACLE_COLUMNS)
    rows = [f"| {name} | " + " | ".join(cell(scores.get(c)) for c in ORACLE_COLUMNS) + " |" for name, scores in table.items()]
    return f"{title}\n\n{head}\n" + "\n".join(rows)


def _shipped_dir() -> Path:
    from ..pipelines.text_to_image import SHIPPED_DIR

    return SHIPPED_DIR


def find_text_to_image_models(models_dir: Optional[str | os.PathLike] = None) -> tuple[list[ModelEntry], list[str]]:
    """The shipped model plus every text-to-image pipeline folder (``pipeline.json`` next to ``generator/``)
    under ``models_dir``; returns (models, messages about folders refused: pickles, no safetensors)."""
    entries, refused = [_entry(None)], []
    if models_dir is None:
        return entries, refused
    root = Path(models_dir)
    if not root.is_dir():
        return entries, [f"--models {root}: no such folder"]
    for meta in sorted(root.rglob(PIPELINE_FILE)):
        folder = meta.parent
        if not (folder / "generator").is_dir():
            continue  # a saliency or other pipeline
        try:
            check_safe_folder(folder)
            entries.append(_entry(folder))
        except InputError as exc:
            refused.append(str(exc))
    return entries, refused


class PipelineCache:
    """Pipelines loaded once and kept (at most ``size``, least recently used dropped), keyed by the folder
    and the size and time of its weight files, so a retrained folder is reloaded, not served stale."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, folder: Optional[Path], load: Callable[[], object]):
        key = (kind, _content_key(folder))
        with self._lock:  # one load at a time; a second request for the same model waits for the first
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            item = load()
            self._items[key] = item
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return item


def _content_key(folder: Optional[Path]) -> tuple:
    if folder is None or not folder.is_dir():
        return (str(folder),)
    stats = tuple((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".safetensors", ".json"))
    return (str(folder.resolve()), stats)


CACHE = PipelineCache()


def text_to_image_pipeline(entry: ModelEntry) -> TextToImage:
    if entry.path is not None:
        check_safe_folder(entry.path)  # again at load time: the folder may have changed since it was listed
    return CACHE.get("text_to_image", entry.path, lambda: _warm(TextToImage.from_pretrained(entry.path, device="cpu")))


def manipulation_pipeline() -> Manipulation:
    return CACHE.get("manipulation", None, lambda: Manipulation.from_pretrained(device="cpu"))


def saliency_models() -> list[dict]:
    """The shipped saliency models (name, present, uses_text, trained_on, ...; :func:`shipped_models`)."""
    return shipped_models()


def saliency_pipeline(name: str) -> Saliency:
    rows = {row["name"]: row for row in shipped_models()}
    if name not in rows:
        raise InputError(f"unknown saliency model {name!r}; choose one of {', '.join(rows)}")
    if not rows[name]["present"]:
        raise InputError(f"the shipped saliency model {name!r} is not installed (it is rebuilt by {rows[name]['script']}); "
                         f"pick another model")
    return CACHE.get("saliency", Path(rows[name]["folder"]), lambda: _warm(Saliency.from_pretrained(name)))


def _warm(pipe):
    """Encode one word, so a text encoder that loads its weights on first use (MiniLM) loads now, under the
    cache's lock, and not once per thread of the first concurrent requests."""
    if isinstance(pipe, TextToImage):
        pipe.encode(["a"])
    elif getattr(pipe, "uses_text", False):
        pipe.encode_texts(["a"])
    return pipe


# ---------------------------------------------------------------- handlers
@dataclass
class Generated:
    images: list[Image.Image]
    messages: list[str]
    stages: Optional[list[Image.Image]] = None  # a multi-stage model's stages of the first image, lowest first
    attention: Optional[list[Image.Image]] = None  # AttnGAN family: seed 004 Fig. 1 per image (at most 4)
    oracle: Optional[dict[str, float]] = None  # with score=True: the oracle's reading against the caption


MAX_ATTENTION_PICTURES = 4
INTERPOLATION_STEPS = (2, 16)


def generate(entry: ModelEntry, caption: str, num_images=4, seed=0, truncation=None, score: bool = False) -> Generated:
    """``num_images`` images for ``caption`` from ``entry``'s model, with noise from ``seed``; a multi-stage
    model also gives its stages, an AttnGAN-family model its word attention pictures; ``score``: read the
    images with the synthetic world's oracle (synthetic-world models only)."""
    caption = check_caption(caption)
    n, seed, trunc = check_count(num_images), check_seed(seed), check_truncation(truncation)
    pipe = text_to_image_pipeline(entry)
    messages = _unknown_words_message([caption], pipe.vocabulary, pipe.info, "this model")
    attends = callable(getattr(pipe.generator, "forward_with_attention", None))
    out = pipe(caption, num_images=n, generator=torch.Generator().manual_seed(seed), truncation=trunc, attention=attends)
    result = Generated(out.to_pil(), messages)
    if out.stages is not None and len(out.stages) > 1:
        result.stages = out.stages_to_pil()[0]
    if attends:
        first = TextToImageOutput(out.images[:MAX_ATTENTION_PICTURES], out.captions[:MAX_ATTENTION_PICTURES],
                                  [st[:MAX_ATTENTION_PICTURES] for st in out.stages] if out.stages else None,
                                  [a[:MAX_ATTENTION_PICTURES] for a in out.attention], out.words[:MAX_ATTENTION_PICTURES])
        result.attention = first.attention_pictures()
    if score:
        if entry.data != "synthetic":
            messages.append(f"no oracle scores for {entry.system}: the oracle reads only synthetic-world images")
        else:
            oracle = CACHE.get("oracle", None, load_oracle)
            result.oracle = caption_oracle_scores(out.images, [caption] * n, oracle)
    return result


def interpolate(entry: ModelEntry, caption_a: str, caption_b: str, steps=8, seed=0) -> Generated:
    """The caption interpolation strip: one noise, the sentence vector moved from caption A to caption B."""
    caption_a, caption_b = check_caption(caption_a, "first caption"), check_caption(caption_b, "second caption")
    steps, seed = _check_steps(steps), check_seed(seed)
    pipe = text_to_image_pipeline(entry)
    messages = _unknown_words_message([caption_a, caption_b], pipe.vocabulary, pipe.info, "this model")
    out = pipe.interpolate(caption_a, caption_b, steps=steps, generator=torch.Generator().manual_seed(seed))
    return Generated(out.to_pil(), messages + [f"left: {caption_a!r}, right: {caption_b!r}"])


def _check_steps(steps) -> int:
    low, high = INTERPOLATION_STEPS
    try:
        value = int(steps)
    except (TypeError, ValueError):
        raise InputError(f"interpolation steps must be a whole number, got {steps!r}") from None
    if not low <= value <= high or value != float(steps):
        raise InputError(f"interpolation steps must be a whole number from {low} to {high}, got {steps!r}")
    return value


def compare(entry_a: ModelEntry, entry_b: ModelEntry, caption: str, num_images=4, seed=0) -> tuple[Generated, Generated]:
    """The same caption and seed through two models, each read by the oracle when it is a synthetic-world model."""
    return (generate(entry_a, caption, num_images, seed, score=True),
            generate(entry_b, caption, num_images, seed, score=True))


@dataclass
class Edited:
    original: Image.Image  # the input as the editor saw it (resized to its size)
    edited: Image.Image
    messages: list[str]
    strip: Optional[list[Image.Image]] = None  # manipulate_interpolation: the edits from change A to change B


def manipulate(image, text: str) -> Edited:
    """Edit ``image`` (an upload path or a PIL image) by the sentence ``text`` with the shipped editor."""
    text = check_caption(text, "change")
    picture = load_upload(image)
    pipe = manipulation_pipeline()
    messages = _unknown_words_message([text], pipe.info.get("vocabulary") or [], pipe.info, "the editor")
    out = pipe(picture, text)
    if out.note:
        messages.append(out.note)
        if (pipe.info.get("trained_on") or {}).get("data") == "synthetic":
            messages.append("this editor knows only the synthetic shape world: a photo comes out as a shape scene")
    original, edited = tensor_to_pil(out.sources[0]), tensor_to_pil(out.images[0])
    return Edited(original, edited, messages)


def example_captions(n: int = 4) -> tuple[list[str], list[str]]:
    """Example captions one click away: :data:`EXAMPLE_CAPTIONS` plus ``n`` test captions of the synthetic
    world (seen colour/shape combinations), and ``n`` of its held-out split (unseen combinations and
    phrasings: what the oracle table's "heldout" row measures)."""
    from ..metrics.generation.oracle import evaluation_captions

    captions = evaluation_captions(n)
    seen = list(dict.fromkeys([*EXAMPLE_CAPTIONS[:4], *captions["test"]]))
    return seen, list(dict.fromkeys(captions["heldout"]))


def example_scenes(n: int = 3, size: int = 64) -> list[tuple[Image.Image, str]]:
    """``n`` one-object synthetic test scenes with a caption each (examples for the manipulation tab)."""
    world = SyntheticWorld(WorldConfig(split="test", image_size=size, max_objects=1))
    return [(scene.image.convert("RGB"), scene.captions[0]) for scene in (world.scene(i) for i in range(n))]


@dataclass
class SaliencyResult:
    overlay: Image.Image
    saliency: np.ndarray  # float32 [H, W] in [0, 1]
    messages: list[str]


def saliency(image, model: str, text: Optional[str] = None, alpha: float = 0.5) -> SaliencyResult:
    """The saliency map of ``image`` from the shipped model ``model``; ``text`` guides a text-guided model
    (empty = free viewing) and is ignored, with a message, by a free-viewing one."""
    picture = load_upload(image)
    text = (text or "").strip()
    if text:
        text = check_caption(text, "guiding text")
    pipe = saliency_pipeline(model)
    messages = []
    if not pipe.uses_text and text:
        messages.append(f"{model} is a free-viewing model and reads no text: the text was ignored")
    sal = pipe.compute_saliency(picture, text=text if pipe.uses_text else None)
    messages.append(f"{model}: {'text-guided' if pipe.uses_text else 'free viewing'}; trained on {pipe.trained_on or 'unknown data'}")
    return SaliencyResult(heatmap_overlay(picture, sal, alpha=alpha), sal, messages)


def raw_map_png(saliency_map: np.ndarray) -> bytes:
    """The map as a 16-bit greyscale PNG, 0..65535 for 0..1 (as ``wordsight saliency --raw map.png``)."""
    grey = np.round(np.clip(np.asarray(saliency_map, dtype=np.float64), 0, 1) * 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    return buf.getvalue()


def _unknown_words_message(texts: list[str], vocabulary, info: dict, who: str) -> list[str]:
    missing = unknown_words(texts, vocabulary) if vocabulary else []
    if not missing:
        return []
    trained_on = (info.get("trained_on") or {}).get("description") or "its training texts"
    return [f"{len(missing)} word(s) unknown to {who}, which was trained on {trained_on}, are ignored or misread: "
            f"{', '.join(missing)}"]


# ---------------------------------------------------------------- manipulation extras
def manipulate_interpolation(image, text_a: str, text_b: str, steps=8) -> Edited:
    """The sentence interpolation strip (TAGAN Fig. 7) of one image, from change A to change B; ``edited``
    is unused, the strip comes back in ``strip``."""
    text_a, text_b = check_caption(text_a, "first change"), check_caption(text_b, "second change")
    steps = _check_steps(steps)
    picture = load_upload(image)
    pipe = manipulation_pipeline()
    messages = _unknown_words_message([text_a, text_b], pipe.info.get("vocabulary") or [], pipe.info, "the editor")
    out = pipe.interpolate(picture, text_a, text_b, steps=steps)
    if out.note:
        messages.append(out.note)
    return Edited(tensor_to_pil(out.sources[0]), tensor_to_pil(out.images[-1]), messages + [f"left: {text_a!r}, right: {text_b!r}"],
                  strip=out.to_pil())


RETRIEVAL_FILE = "retrieval.json"
SYNTHETIC_GALLERY_SIZE = 48
MAX_GALLERY_IMAGES = 5000
RETRIEVAL_TOP_K = 8


def find_retrieval_models(models_dir: Optional[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """TIRG pipeline folders (``retrieval.json`` next to ``model/``) under ``models_dir``, and messages about
    folders refused (pickles, no safetensors)."""
    if models_dir is None or not Path(models_dir).is_dir():
        return [], []
    found, refused = [], []
    for meta in sorted(Path(models_dir).rglob(RETRIEVAL_FILE)):
        try:
            check_safe_folder(meta.parent)
            found.append(meta.parent)
        except InputError as exc:
            refused.append(str(exc))
    return found, refused


def synthetic_gallery(n: int = SYNTHETIC_GALLERY_SIZE, size: int = 64) -> Path:
    """``n`` synthetic test scenes written once as PNGs to the demo's temp folder (the default TIRG gallery)."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / "wordsight-demo-gallery" / f"synthetic-{n}-{size}"
    if len(list(folder.glob("*.png"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    world = SyntheticWorld(WorldConfig(split="test", image_size=size, max_objects=1, seed=1))
    for i in range(n):
        tmp = folder / f".{i:03d}.png.tmp"
        world.scene(i).image.convert("RGB").save(tmp, format="PNG")
        tmp.replace(folder / f"{i:03d}.png")
    return folder


def check_gallery(folder: str | os.PathLike) -> Path:
    """A gallery folder of at most :data:`MAX_GALLERY_IMAGES` images, or an InputError saying why not."""
    from ..pipelines.retrieval import IMAGE_SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"gallery folder not found: {folder}")
    count = sum(1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if count == 0:
        raise InputError(f"the gallery {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    if count > MAX_GALLERY_IMAGES:
        raise InputError(f"the gallery {folder} has {count} images; the demo indexes at most {MAX_GALLERY_IMAGES}")
    return folder


@dataclass
class Retrieved:
    query: Image.Image
    hits: list[tuple[Image.Image, str]]  # (gallery image, "rank. name (cosine)")
    messages: list[str]


def retrieve(model_folder: str | os.PathLike, image, text: str, gallery: str | os.PathLike, k: int = RETRIEVAL_TOP_K) -> Retrieved:
    """TIRG composed retrieval: the ``k`` images of ``gallery`` closest to ``image`` modified by ``text``."""
    from ..pipelines.retrieval import Retrieval
    from ..utils.images import load_image

    text = check_caption(text, "change")
    picture = load_upload(image)
    folder = Path(model_folder)
    check_safe_folder(folder)
    gallery = check_gallery(gallery)
    pipe = CACHE.get("retrieval", folder, lambda: Retrieval.from_pretrained(folder, device="cpu"))
    index = CACHE.get("gallery", gallery, lambda: pipe.index(gallery))
    hits = pipe.search(picture, text, index, k=k)
    trained = pipe.info.get("trained_on") or {}
    messages = _unknown_words_message([text], pipe.info.get("vocabulary") or [], pipe.info, "this retrieval model")
    messages.append(f"{len(index.paths)} gallery images from {gallery}; model trained on "
                    f"{trained.get('description') or trained.get('data') or 'unknown data'}")
    return Retrieved(picture, [(load_image(p), f"{r + 1}. {Path(p).name} ({score:.3f})") for r, (p, score) in enumerate(hits)],
                     messages)


# ---------------------------------------------------------------- saliency on OSIE with the human maps
@dataclass
class HumanComparison:
    image: Image.Image
    predicted: Image.Image  # overlay of the model's map
    human: Image.Image  # overlay of the blurred human fixations
    scores: dict[str, float]  # NSS, CC and AUC-Judd of the prediction on this image
    messages: list[str]


def osie_stems(root: str | os.PathLike, split: str = "test") -> list[str]:
    """The OSIE images of ``split`` (the held-out 140 by default: the shipped model never saw them)."""
    from ..data.saliency_sets import OSIEDataset

    return [item.key for item in OSIEDataset(root, split=split, strict=False).items]


def osie_dataset(root: str | os.PathLike):
    from ..data.saliency_sets import OSIEDataset

    return CACHE.get("osie", Path(root), lambda: OSIEDataset(root, split="all", strict=False))


def saliency_with_humans(root: str | os.PathLike, stem: str, model: str, text: Optional[str] = None) -> HumanComparison:
    """An OSIE image, the model's prediction and the 15 observers' blurred fixations side by side, with the
    prediction's NSS, CC and AUC-Judd on this image (the MIT definitions of ``wordsight.metrics.saliency``)."""
    from ..metrics.saliency import auc_judd, cc, nss
    from ..pipelines.saliency_evaluation import record_density

    dataset = osie_dataset(root)
    keys = {item.key: i for i, item in enumerate(dataset.items)}
    if stem not in keys:
        raise InputError(f"no OSIE image {stem!r} in {root}")
    record = dataset[keys[stem]]
    result = saliency(record.image, model, text)
    density = record_density(record)
    binary = torch.from_numpy(record.binary_map())
    pred = torch.from_numpy(np.asarray(result.saliency, dtype=np.float64))
    scores = {"NSS": float(nss(pred[None], binary[None])[0]), "CC": float(cc(pred[None], torch.from_numpy(density)[None])[0]),
              "AUC-J": float(auc_judd(pred[None], binary[None], generator=torch.Generator().manual_seed(0))[0])}
    return HumanComparison(record.image.convert("RGB"), result.overlay, heatmap_overlay(record.image.convert("RGB"), density),
                           scores, result.messages + [f"OSIE {stem}: {int(binary.sum())} fixated pixels of "
                                                      f"{record.fixations.num_observers if record.fixations else '?'} observers"])
