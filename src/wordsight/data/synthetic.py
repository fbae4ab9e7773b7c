"""The synthetic caption world: procedural scenes with exact ground truth, the built-in default data.

Scenes hold 1-3 flat shapes on a gradient background. Every scene is a pure function of
``(seed, split, index)``, rendered on the fly (no disk) at any size from 16 to 256 px, anti-aliased
analytically from signed distance functions (coverage = clamp(0.5 - d, 0, 1) with d in pixels).
Ground truth per object: attributes, mask, box. Each scene comes with >= 5 captions from varied
templates, simulated gaze for the text-guided saliency categories of seed 000, and manipulation pairs
in which exactly one object changes (CSS-style instructions, seed 004).

Splits:
- ``train``: seen colour/shape combinations, training caption templates.
- ``test``: fresh scenes (another random stream) with seen combinations and training templates.
- ``heldout``: zero-shot; the first object of every scene has an unseen colour/shape combination
  (``HELDOUT_COMBOS``) and every caption uses an unseen template.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Literal, Optional, Sequence

import numpy as np
from PIL import Image

from ..utils.checks import InputError
from .records import SALIENCY_CATEGORIES, CaptionedImage, Fixations, SaliencyRecord

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "hexagon", "diamond")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 38, 38),
    "orange": (245, 140, 20),
    "yellow": (240, 215, 35),
    "green": (40, 165, 60),
    "cyan": (40, 205, 215),
    "blue": (40, 75, 215),
    "purple": (135, 55, 195),
    "pink": (245, 135, 195),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)
SIZES: tuple[str, ...] = ("small", "large")
# what a caption says about one object, and what a contrastive caption may change
ATTRIBUTES: tuple[str, ...] = ("colour", "shape", "size")
# radius as a fraction of the image side
SIZE_RADIUS: dict[str, tuple[float, float]] = {"small": (0.085, 0.115), "large": (0.165, 0.205)}
BACKGROUNDS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "grey": ((118, 118, 118), (150, 150, 150)),
    "sand": ((228, 214, 176), (200, 182, 138)),
    "night": ((18, 22, 58), (48, 54, 96)),
    "slate": ((62, 78, 88), (98, 112, 122)),
}
BACKGROUND_NAMES: tuple[str, ...] = tuple(BACKGROUNDS)
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")

# One unseen colour per shape: 6 of the 48 combinations never appear in train/test scenes.
HELDOUT_COMBOS: frozenset[tuple[str, str]] = frozenset(
    (COLOR_NAMES[(3 * i + 1) % len(COLOR_NAMES)], shape) for i, shape in enumerate(SHAPES)
)

SPLITS = ("train", "test", "heldout")
_SPLIT_STREAM = {"train": 0, "test": 1, "heldout": 2}

SHAPE_WORDS = {
    "circle": ("circle", "disc", "circle"),
    "square": ("square", "square", "box"),
    "triangle": ("triangle",),
    "star": ("star",),
    "hexagon": ("hexagon",),
    "diamond": ("diamond", "rhombus", "diamond"),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big", "large")}
RELATION_WORDS = {
    "left of": ("left of", "to the left of", "on the left of"),
    "right of": ("right of", "to the right of", "on the right of"),
    "above": ("above", "over", "above"),
    "below": ("below", "under", "beneath"),
}

# Templates. {objs} is the list of object phrases (with articles), {rel} a relation sentence when
# the scene has 2+ objects, {bg} the background name.
TRAIN_TEMPLATES = (
    "{objs}",
    "{objs} on a {bg} background",
    "there is {objs} in the picture",
    "this image shows {objs}",
    "a picture of {objs} against a {bg} backdrop",
    "on a {bg} background there is {objs}",
    "drawn here: {objs}",
)
HELDOUT_TEMPLATES = (
    "we can see {objs}",
    "an illustration with {objs} and a {bg} sky",
    "somebody painted {objs}",
    "in this scene {objs} can be seen on {bg}",
    "look at {objs}",
)


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    color: str
    size: str
    cx: float  # centre, fraction of width
    cy: float  # centre, fraction of height
    radius: float  # fraction of the image side

    @property
    def name(self) -> str:
        return f"{self.color}_{self.shape}"


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[ObjectSpec, ...]
    background: str


@dataclass
class Scene:
    """A rendered scene with its ground truth."""

    key: str
    split: str
    spec: SceneSpec
    image: Image.Image
    masks: np.ndarray  # bool [n_objects, H, W]
    boxes: np.ndarray  # float [n_objects, 4] as x0, y0, x1, y1 in pixels
    captions: list[str]
    label: int  # class id of the first object's colour+shape
    class_name: str

    @property
    def objects(self) -> tuple[ObjectSpec, ...]:
        return self.spec.objects

    def attributes(self) -> list[dict]:
        return [{"shape": o.shape, "color": o.color, "size": o.size, "cx": o.cx, "cy": o.cy} for o in self.objects]


@dataclass
class ManipulationPair:
    """(image, instruction, target image) where exactly one object changed."""

    key: str
    source: Image.Image
    target: Image.Image
    instruction: str
    source_caption: str
    target_caption: str
    operation: str  # colour | shape | size | remove | add
    change_mask: np.ndarray  # bool [H, W], the pixels of the changed object before or after
    source_spec: SceneSpec
    target_spec: SceneSpec


@dataclass
class GazeSample:
    text: Optional[str]
    category: str
    fixations: Fixations
    density: np.ndarray  # float64 [H, W], max 1
    target_objects: tuple[int, ...]  # indices of the objects the text mentions


@dataclass
class WorldConfig:
    seed: int = 0
    image_size: int = 64
    min_objects: int = 1
    max_objects: int = 3
    split: Literal["train", "test", "heldout"] = "train"
    length: int = 10000  # nominal length of the sequence; any index >= 0 works
    captions_per_image: int = 5
    backgrounds: Optional[list[str]] = None  # restrict backgrounds (curriculum); None = all
    observers: int = 8
    fixations_per_observer: tuple[int, int] = (3, 6)
    gaze_sigma: float = 0.035  # density-map blur, fraction of the image side

    def __post_init__(self) -> None:
        if not 16 <= self.image_size <= 256:
            raise InputError(f"image_size must be in [16, 256], got {self.image_size}")
        if not 1 <= self.min_objects <= self.max_objects <= 3:
            raise InputError(f"need 1 <= min_objects <= max_objects <= 3, got {self.min_objects}, {self.max_objects}")
        if self.split not in SPLITS:
            raise InputError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.captions_per_image < 1:
            raise InputError("captions_per_image must be >= 1")
        if self.backgrounds is not None:
            bad = [b for b in self.backgrounds if b not in BACKGROUNDS]
            if bad or not self.backgrounds:
                raise InputError(f"unknown backgrounds {bad}; known: {list(BACKGROUNDS)}")
        if self.seed < 0 or self.length < 0:
            raise InputError(f"seed and length must be >= 0, got {self.seed} and {self.length}")
        if self.observers < 1:
            raise InputError(f"observers must be >= 1, got {self.observers}")
        if len(self.fixations_per_observer) != 2 or not 1 <= self.fixations_per_observer[0] <= self.fixations_per_observer[1]:
            raise InputError(f"fixations_per_observer must be (fewest, most) with 1 <= fewest <= most, got {self.fixations_per_observer}")
        if not (math.isfinite(self.gaze_sigma) and self.gaze_sigma > 0):
            raise InputError(f"gaze_sigma must be a positive fraction of the image side, got {self.gaze_sigma}")


# ----------------------------------------------------------------------------------------------
# Signed distance functions (Inigo Quilez's 2D primitives), y pointing up, in units of pixels.


def _sd_circle(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    return np.sqrt(x * x + y * y) - r


def _sd_box(x: np.ndarray, y: np.ndarray, b: float) -> np.ndarray:
    dx, dy = np.abs(x) - b, np.abs(y) - b
    outside = np.sqrt(np.maximum(dx, 0) ** 2 + np.maximum(dy, 0) ** 2)
    return outside + np.minimum(np.maximum(dx, dy), 0)


def _sd_diamond(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    c = math.sqrt(0.5)
    return _sd_box((x + y) * c, (y - x) * c, r * c)


def _sd_triangle(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    k = math.sqrt(3.0)
    r = r * 0.87  # side length so the triangle's circumradius matches r
    px = np.abs(x) - r
    py = y + r / k
    flip = px + k * py > 0
    qx = np.where(flip, (px - k * py) / 2, px)
    qy = np.where(flip, (-k * px - py) / 2, py)
    qx = qx - np.clip(qx, -2 * r, 0)
    return -np.sqrt(qx * qx + qy * qy) * np.sign(qy)


def _sd_hexagon(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    kx, ky, kz = -0.866025404, 0.5, 0.577350269
    r = r * 0.87  # inradius; circumradius ~ r
    px, py = np.abs(x), np.abs(y)
    d = 2 * np.minimum(kx * px + ky * py, 0)
    px, py = px - d * kx, py - d * ky
    px = px - np.clip(px, -kz * r, kz * r)
    py = py - r
    return np.sqrt(px * px + py * py) * np.sign(py)


def _sd_star(x: np.ndarray, y: np.ndarray, r: float, rf: float = 0.5) -> np.ndarray:
    k1x, k1y = 0.809016994375, -0.587785252292
    k2x, k2y = -k1x, k1y
    px, py = np.abs(x), y.copy()
    d = 2 * np.maximum(k1x * px + k1y * py, 0)
    px, py = px - d * k1x, py - d * k1y
    d = 2 * np.maximum(k2x * px + k2y * py, 0)
    px, py = px - d * k2x, py - d * k2y
    px = np.abs(px)
    py = py - r
    bax, bay = rf * -k1y, rf * k1x - 1
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, r)
    return np.sqrt((px - bax * h) ** 2 + (py - bay * h) ** 2) * np.sign(py * bax - px * bay)


_SDF = {
    "circle": _sd_circle,
    "square": lambda x, y, r: _sd_box(x, y, r * 0.82),
    "triangle": _sd_triangle,
    "star": lambda x, y, r: _sd_star(x, y, r * 1.05),
    "hexagon": _sd_hexagon,
    "diamond": _sd_diamond,
}


def object_coverage(obj: ObjectSpec, size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Anti-aliased coverage in [0, 1] of ``obj`` inside its pixel box, and the box (y0, y1, x0, x1)."""
    r = obj.radius * size
    cx, cy = obj.cx * size, obj.cy * size
    x0, x1 = max(0, int(math.floor(cx - r - 2))), min(size, int(math.ceil(cx + r + 2)))
    y0, y1 = max(0, int(math.floor(cy - r - 2))), min(size, int(math.ceil(cy + r + 2)))
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5 - cx
    ys = cy - (np.arange(y0, y1, dtype=np.float32) + 0.5)  # y up
    d = _SDF[obj.shape](xs[None, :], ys[:, None], np.float32(r))
    return np.clip(0.5 - d, 0.0, 1.0), (y0, y1, x0, x1)


@functools.lru_cache(maxsize=64)
def _background(name: str, size: int) -> np.ndarray:
    top, bottom = (np.array(c, dtype=np.float32) for c in BACKGROUNDS[name])
    t = (np.arange(size, dtype=np.float32) + 0.5) / size
    col = top[None, :] * (1 - t[:, None]) + bottom[None, :] * t[:, None]
    img = np.broadcast_to(col[:, None, :], (size, size, 3)).copy()
    img.setflags(write=False)
    return img


def render_scene(spec: SceneSpec, size: int) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """Render ``spec`` at ``size`` px. Returns (image, masks bool [n,H,W], boxes [n,4] x0,y0,x1,y1)."""
    img = _background(spec.background, size).copy()
    masks = np.zeros((len(spec.objects), size, size), dtype=bool)
    boxes = np.zeros((len(spec.objects), 4), dtype=np.float32)
    for i, obj in enumerate(spec.objects):
        cov, (y0, y1, x0, x1) = object_coverage(obj, size)
        region = img[y0:y1, x0:x1]
        colour = np.asarray(COLORS[obj.color], dtype=np.float32)
        a = cov[:, :, None]
        img[y0:y1, x0:x1] = region * (1 - a) + colour * a
        m = cov >= 0.5
        masks[i, y0:y1, x0:x1] = m
        ys, xs = np.nonzero(m)
        if len(xs):
            boxes[i] = (x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1)
    out = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8), "RGB")
    return out, masks, boxes


# ----------------------------------------------------------------------------------------------
# Scene sampling


def _rng(seed: int, split: str, index: int, purpose: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_STREAM[split], index, purpose]))


def _place(rng: np.random.Generator, radius: float, others: Sequence[ObjectSpec], margin: float = 0.03):
    """A centre for an object of ``radius`` that keeps clear of ``others`` (None after 200 tries).

    Objects never overlap and their centres differ by >= 0.12 in x, so that left-to-right order (the
    oracle's slot order) and the relations in captions are never ambiguous.
    """
    lo, hi = radius + margin, 1 - radius - margin
    for _ in range(200):
        cx, cy = rng.uniform(lo, hi, size=2)
        ok = all(
            math.hypot(cx - o.cx, cy - o.cy) > radius + o.radius + 0.04 and abs(cx - o.cx) >= 0.12 for o in others
        )
        if ok:
            return float(cx), float(cy)
    return None


def relation(a: ObjectSpec, b: ObjectSpec) -> str:
    """Where ``a`` is relative to ``b``: the dominant axis decides (image y grows downwards)."""
    dx, dy = a.cx - b.cx, a.cy - b.cy
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _replace_attribute_word(caption: str, i: int, attribute: str, word: str) -> str:
    """Replace object ``i``'s ``attribute`` word in a world caption. Every object phrase holds exactly one
    colour, one size and one shape word and templates hold none, so object i's word is the i-th of its kind."""
    kind = {"colour": set(COLOR_NAMES), "size": set(_WORD_TO_SIZE), "shape": set(_WORD_TO_SHAPE)}[attribute]
    tokens = caption.split(" ")
    hits = [t for t, tok in enumerate(tokens) if tok in kind]
    if i >= len(hits):
        raise InputError(f"caption {caption!r} names fewer than {i + 1} objects' {attribute}")
    t = hits[i]
    tokens[t] = word
    if t > 0 and tokens[t - 1] in ("a", "an"):
        tokens[t - 1] = _article(word)
    return " ".join(tokens)


class SyntheticWorld:
    """A deterministic, indexable world of captioned scenes with gaze and manipulation ground truth.

    >>> world = SyntheticWorld(WorldConfig(seed=0, image_size=64))
    >>> scene = world.scene(0)
    >>> scene.captions[0]  # doctest: +SKIP
    'a large red circle left of a small blue star'
    """

    def __init__(self, config: WorldConfig | None = None, **kwargs):
        self.config = config if config is not None else WorldConfig(**kwargs)
        if config is not None and kwargs:
            self.config = replace(config, **kwargs)
        self.split = self.config.split
        self.size = self.config.image_size
        self.class_names = [f"{c}_{s}" for c in COLOR_NAMES for s in SHAPES]

    def __len__(self) -> int:
        return self.config.length

    def __getitem__(self, index: int) -> Scene:
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.scene(index)

    # -- sampling ---------------------------------------------------------------------------------
    def _combo_allowed(self, color: str, shape: str, first: bool) -> bool:
        held = (color, shape) in HELDOUT_COMBOS
        if self.split == "heldout" and first:
            return held
        return not held

    def _sample_object(self, rng: np.random.Generator, others: Sequence[ObjectSpec], first: bool):
        for _ in range(50):
            shape = SHAPES[rng.integers(len(SHAPES))]
            color = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
            if not self._combo_allowed(color, shape, first):
                continue
            if any(o.color == color and o.shape == shape for o in others):
                continue  # keep "the red circle" unique within a scene
            size = SIZES[rng.integers(len(SIZES))]
            radius = float(rng.uniform(*SIZE_RADIUS[size]))
            pos = _place(rng, radius, others)
            if pos is None:
                size, radius = "small", float(rng.uniform(*SIZE_RADIUS["small"]))
                pos = _place(rng, radius, others)
                if pos is None:
                    return None
            return ObjectSpec(shape, color, size, pos[0], pos[1], radius)
        return None

    def spec(self, index: int) -> SceneSpec:
        cfg = self.config
        rng = _rng(cfg.seed, self.split, index)
        bgs = cfg.backgrounds or list(BACKGROUND_NAMES)
        background = bgs[rng.integers(len(bgs))]
        n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
        while True:
            objects: list[ObjectSpec] = []
            for k in range(n):
                obj = self._sample_object(rng, objects, first=(k == 0))
                if obj is None:
                    break
                objects.append(obj)
            if len(objects) == n:
                return SceneSpec(tuple(objects), background)

    def scene(self, index: int, size: int | None = None) -> Scene:
        spec = self.spec(index)
        size = size or self.size
        image, masks, boxes = render_scene(spec, size)
        first = spec.objects[0]
        captions = self.captions(spec, index)
        label = COLOR_NAMES.index(first.color) * len(SHAPES) + SHAPES.index(first.shape)
        return Scene(f"{self.split}_{index:06d}", self.split, spec, image, masks, boxes, captions, label, first.name)

    # -- captions ---------------------------------------------------------------------------------
    def object_phrase(self, obj: ObjectSpec, rng: np.random.Generator, with_article: bool = True) -> str:
        size = SIZE_WORDS[obj.size][rng.integers(len(SIZE_WORDS[obj.size]))]
        shape = SHAPE_WORDS[obj.shape][rng.integers(len(SHAPE_WORDS[obj.shape]))]
        order = rng.integers(3)
        if order == 0 or not with_article:
            core = f"{size} {obj.color} {shape}"
        elif order == 1:
            core = f"{obj.color} {shape} that is {size}"
        else:
            core = f"{size} {shape} colored {obj.color}"
        return f"{_article(core)} {core}" if with_article else core

    def _objects_text(self, spec: SceneSpec, rng: np.random.Generator) -> str:
        objs = spec.objects
        phrases = [self.object_phrase(o, rng) for o in objs]
        if len(objs) == 1:
            return phrases[0]
        rel = relation(objs[0], objs[1])
        rel_word = RELATION_WORDS[rel][rng.integers(len(RELATION_WORDS[rel]))]
        text = f"{phrases[0]} {rel_word} {phrases[1]}"
        if len(objs) == 3:
            text += f" and {phrases[2]}"
        return text

    def captions(self, spec: SceneSpec, index: int) -> list[str]:
        """``captions_per_image`` captions; every one names colour, size and shape of every object."""
        rng = _rng(self.config.seed, self.split, index, purpose=1)
        templates = HELDOUT_TEMPLATES if self.split == "heldout" else TRAIN_TEMPLATES
        order = rng.permutation(len(templates))
        out = []
        for k in range(self.config.captions_per_image):
            tpl = templates[order[k % len(templates)]]
            objs = self._objects_text(spec, rng)
            out.append(tpl.format(objs=objs, bg=spec.background))
        return out

    def scene_captions(self, index: int) -> list[str]:
        """The captions of scene ``index`` without rendering it."""
        return self.captions(self.spec(index), index)

    def contrastive_captions(self, index: int, attributes: Sequence[str] = ATTRIBUTES) -> list[str]:
        """Hard negatives for scene ``index``: caption ``k`` is :meth:`scene_captions`'s caption ``k`` with
        one attribute word of one object replaced and every other word kept (an article follows its word).

        The attribute of each caption is drawn from ``attributes`` (``colour``, ``shape``, ``size``); a new
        colour/shape combination never breaks the split's rule (no held-out combination in train/test
        text) nor duplicates another object of the scene.
        """
        bad = [a for a in attributes if a not in ATTRIBUTES]
        if bad or not attributes:
            raise InputError(f"contrastive attributes must be a non-empty subset of {ATTRIBUTES}, got {list(attributes)}")
        spec = self.spec(index)
        rng = _rng(self.config.seed, self.split, index, purpose=11)
        out = []
        for caption in self.captions(spec, index):
            for _ in range(100):  # some (object, attribute) draws have no legal change; a size change always has one
                i = int(rng.integers(len(spec.objects)))
                attribute = attributes[int(rng.integers(len(attributes)))]
                word = self._swapped_word(spec, i, attribute, rng)
                if word is not None:
                    out.append(_replace_attribute_word(caption, i, attribute, word))
                    break
            else:  # e.g. the held-out split's single object: no other shape keeps its combination held out
                raise InputError(f"scene {index} of split {self.split!r} allows no change of {list(attributes)} "
                                 "that keeps the split's colour/shape rule")
        return out

    def _swapped_word(self, spec: SceneSpec, i: int, attribute: str, rng: np.random.Generator) -> str | None:
        o = spec.objects[i]
        if attribute == "size":
            words = SIZE_WORDS["small" if o.size == "large" else "large"]
            return words[int(rng.integers(len(words)))]
        taken = {(x.color, x.shape) for j, x in enumerate(spec.objects) if j != i}
        current = o.color if attribute == "colour" else o.shape
        values = [v for v in (COLOR_NAMES if attribute == "colour" else SHAPES) if v != current]
        rng.shuffle(values)
        for v in values:
            color, shape = (v, o.shape) if attribute == "colour" else (o.color, v)
            if (color, shape) not in taken and self._combo_allowed(color, shape, first=(i == 0)):
                return v if attribute == "colour" else SHAPE_WORDS[v][int(rng.integers(len(SHAPE_WORDS[v])))]
        return None

    # -- records ----------------------------------------------------------------------------------
    def captioned_image(self, index: int) -> CaptionedImage:
        s = self.scene(index)
        return CaptionedImage(key=s.key, image=s.image, captions=s.captions, label=s.label)

    # -- gaze -------------------------------------------------------------------------------------
    def object_salience(self, spec: SceneSpec) -> np.ndarray:
        """Bottom-up salience of each object: sqrt(area) times colour contrast to the background."""
        bg = np.mean(np.asarray(BACKGROUNDS[spec.background], dtype=np.float64), axis=0)
        out = []
        for o in spec.objects:
            contrast = np.linalg.norm(np.asarray(COLORS[o.color], dtype=np.float64) - bg) / 441.7
            out.append(o.radius * (0.25 + contrast))
        return np.asarray(out)

    def gaze(self, index: int, category: str = "none", size: int | None = None) -> GazeSample:
        """Simulated observers' fixations for one scene under a text condition (seed 000 categories).

        - ``none``: free viewing: a centre-biased first fixation, then objects weighted by salience^2,
          with some background fixations under a centre-bias Gaussian.
        - ``salient`` / ``nonsalient``: the text names the most / least salient object; 75% of the
          object fixations land on it.
        - ``general``: a general text ("a few shapes on a grey background"); objects equally weighted.
        - ``scene``: a whole-scene description (a caption); the objects it mentions equally weighted.
        """
        if category not in SALIENCY_CATEGORIES:
            raise InputError(f"unknown saliency category {category!r}; known: {SALIENCY_CATEGORIES}")
        cfg = self.config
        size = size or self.size
        spec = self.spec(index)
        rng = _rng(cfg.seed, self.split, index, purpose=2 + SALIENCY_CATEGORIES.index(category))
        sal = self.object_salience(spec)
        n = len(spec.objects)
        text, targets, weights = None, tuple(range(n)), sal**2
        if category in ("salient", "nonsalient"):
            t = int(np.argmax(sal) if category == "salient" else np.argmin(sal))
            targets = (t,)
            text = self.object_phrase(spec.objects[t], rng)
            weights = np.full(n, 0.25 / max(n - 1, 1))
            weights[t] = 0.75 if n > 1 else 1.0
        elif category == "general":
            text = f"a few shapes on a {spec.background} background"
            weights = np.ones(n)
        elif category == "scene":
            text = self.captions(spec, index)[0]
            weights = np.ones(n)
        weights = weights / weights.sum()
        p_background = 0.15 if category == "none" else 0.08
        xs, ys, obs = [], [], []
        lo, hi = cfg.fixations_per_observer
        for o in range(cfg.observers):
            k = int(rng.integers(lo, hi + 1))
            for j in range(k):
                if j == 0 and category == "none" or rng.random() < p_background:
                    x, y = rng.normal(0.5, 0.18), rng.normal(0.5, 0.15)
                else:
                    obj = spec.objects[rng.choice(n, p=weights)]
                    x, y = rng.normal(obj.cx, 0.3 * obj.radius), rng.normal(obj.cy, 0.3 * obj.radius)
                xs.append(np.clip(x, 0, 0.9999) * size)
                ys.append(np.clip(y, 0, 0.9999) * size)
                obs.append(o)
        fix = Fixations(np.asarray(xs), np.asarray(ys), np.asarray(obs))
        density = fixation_density_map(fix, size, size, sigma=cfg.gaze_sigma * size)
        return GazeSample(text, category, fix, density, targets)

    def saliency_record(self, index: int, category: str = "none") -> SaliencyRecord:
        s = self.scene(index)
        g = self.gaze(index, category)
        return SaliencyRecord(
            key=f"{s.key}_{category}", image=s.image, fixation_map=g.density, fixations=g.fixations,
            text=g.text, category=category, extra={"target_objects": list(g.target_objects)},
        )

    # -- manipulation -----------------------------------------------------------------------------
    def manipulation(self, index: int, operation: str | None = None) -> ManipulationPair:
        """A pair in which exactly one object changes (seed 004's CSS-style edits)."""
        ops = ("colour", "shape", "size", "remove", "add")
        if operation is not None and operation not in ops:
            raise InputError(f"unknown operation {operation!r}; known: {ops}")
        spec = self.spec(index)
        rng = _rng(self.config.seed, self.split, index, purpose=10)
        n = len(spec.objects)
        allowed = [op for op in ops if not (op == "remove" and n < 2) and not (op == "add" and n >= 3)]
        op = operation or allowed[rng.integers(len(allowed))]
        if op not in allowed:
            raise InputError(f"operation {op!r} is impossible on scene {index} with {n} objects")
        for _ in range(100):
            out = self._edit(spec, op, rng)
            if out is not None:
                break
        else:
            raise InputError(f"could not apply {op!r} to scene {index}")
        target_spec, instruction, changed_src, changed_tgt = out
        src_img, _, _ = render_scene(spec, self.size)
        tgt_img, _, _ = render_scene(target_spec, self.size)
        change = np.zeros((self.size, self.size), dtype=bool)
        # every pixel the changed object touches, anti-aliased edges included
        for objs, k in ((spec.objects, changed_src), (target_spec.objects, changed_tgt)):
            if k is not None:
                cov, (y0, y1, x0, x1) = object_coverage(objs[k], self.size)
                change[y0:y1, x0:x1] |= cov > 0
        return ManipulationPair(
            key=f"{self.split}_{index:06d}_{op}", source=src_img, target=tgt_img, instruction=instruction,
            source_caption=self.captions(spec, index)[0], target_caption=self._caption_of(target_spec, rng),
            operation=op, change_mask=change, source_spec=spec, target_spec=target_spec,
        )

    def _caption_of(self, spec: SceneSpec, rng: np.random.Generator) -> str:
        return self._objects_text(spec, rng)

    def _edit(self, spec: SceneSpec, op: str, rng: np.random.Generator):
        objs = list(spec.objects)
        i = int(rng.integers(len(objs)))
        o = objs[i]
        ref = f"the {o.color} {o.shape}"
        taken = {(x.color, x.shape) for j, x in enumerate(objs) if j != i}

        def ok(color: str, shape: str) -> bool:
            return (color, shape) not in taken and self._combo_allowed(color, shape, first=(i == 0))

        if op == "colour":
            new = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
            if new == o.color or not ok(new, o.shape):
                return None
            objs[i] = replace(o, color=new)
            verb = ("make {ref} {new}", "change the color of {ref} to {new}", "paint {ref} {new}")
            text = verb[rng.integers(3)].format(ref=ref, new=new)
        elif op == "shape":
            new = SHAPES[rng.integers(len(SHAPES))]
            if new == o.shape or not ok(o.color, new):
                return None
            objs[i] = replace(o, shape=new)
            text = f"turn {ref} into {_article(new)} {new}"
        elif op == "size":
            new = "small" if o.size == "large" else "large"
            radius = float(rng.uniform(*SIZE_RADIUS[new]))
            moved = replace(o, size=new, radius=radius)
            lo, hi = radius + 0.03, 1 - radius - 0.03
            if not (lo <= o.cx <= hi and lo <= o.cy <= hi):
                return None
            if any(math.hypot(o.cx - x.cx, o.cy - x.cy) <= radius + x.radius + 0.04 for j, x in enumerate(objs) if j != i):
                return None
            objs[i] = moved
            text = f"make {ref} {'bigger' if new == 'large' else 'smaller'}"
        elif op == "remove":
            del objs[i]
            return SceneSpec(tuple(objs), spec.background), f"remove {ref}", i, None
        else:  # add
            new = self._sample_object(rng, objs, first=False)
            if new is None:
                return None
            objs.append(new)
            text = f"add {self.object_phrase(new, rng)}"
            return SceneSpec(tuple(objs), spec.background), text, None, len(objs) - 1
        return SceneSpec(tuple(objs), spec.background), text, i, i


def fixation_density_map(fix: Fixations, height: int, width: int, sigma: float) -> np.ndarray:
    """Blur fixation counts with a Gaussian of ``sigma`` px (zero padding, truncated at 3 sigma); max 1."""
    counts = np.zeros((height, width), dtype=np.float64)
    f = fix.inside(height, width)
    np.add.at(counts, (f.y.astype(np.int64), f.x.astype(np.int64)), 1.0)
    from scipy.ndimage import gaussian_filter

    blurred = gaussian_filter(counts, sigma, mode="constant", truncate=3.0)
    peak = blurred.max()
    return blurred / peak if peak > 0 else blurred


# ----------------------------------------------------------------------------------------------
# Caption parsing: lets the oracle score images generated from free-form captions.

_WORD_TO_SHAPE = {w: s for s, ws in SHAPE_WORDS.items() for w in ws}
_WORD_TO_SIZE = {w: s for s, ws in SIZE_WORDS.items() for w in ws}
_WORD_TO_SIZE.update({"bigger": "large", "huge": "large", "smaller": "small"})


def parse_caption(text: str) -> list[dict]:
    """Read the objects a caption names: [{"color", "shape", "size"}] in order of mention.

    An attribute the caption leaves out is None. Relation words are returned on the first object as
    ``relation`` (relative to the second) when present.
    """
    import re

    words = re.findall(r"\w+", text.lower())
    objects: list[dict] = []
    cur: dict = {"color": None, "shape": None, "size": None}
    relation_found = None
    consumed: set[int] = set()
    for i, w in enumerate(words):
        if i in consumed:
            continue
        if w in COLORS:
            cur["color"] = w
        elif w in _WORD_TO_SIZE:
            cur["size"] = _WORD_TO_SIZE[w]
        elif w in _WORD_TO_SHAPE:
            cur["shape"] = _WORD_TO_SHAPE[w]
            # "square that is small", "star colored red": attributes may follow the shape
            for j in range(i + 1, min(i + 6, len(words))):
                nxt = words[j]
                if nxt in _WORD_TO_SHAPE or nxt in ("a", "an", "and", "the"):
                    break
                if nxt in COLORS and cur["color"] is None:
                    cur["color"] = nxt
                    consumed.add(j)
                elif nxt in _WORD_TO_SIZE and cur["size"] is None:
                    cur["size"] = _WORD_TO_SIZE[nxt]
                    consumed.add(j)
            objects.append(cur)
            cur = {"color": None, "shape": None, "size": None}
        elif w in ("left", "right", "above", "over", "below", "under", "beneath") and len(objects) == 1:
            relation_found = {"left": "left of", "right": "right of", "above": "above", "over": "above"}.get(w, "below")
    if objects and relation_found and len(objects) >= 2:
        objects[0]["relation"] = relation_found
    return objects


# ----------------------------------------------------------------------------------------------
# Targets for the oracle (and for scoring generated images against the scene a caption describes)


def slot_targets(objects: Sequence[dict | ObjectSpec], background: str | None = None, max_objects: int = 3) -> dict:
    """Integer targets with objects in left-to-right slots; empty slots get the "none" class.

    ``objects`` are ObjectSpecs or dicts with color/shape/size (None = unknown, encoded as -100 so a
    loss or an accuracy ignores it) and optionally cx/cy. Returns plain python lists.
    """
    objs = [o if isinstance(o, dict) else {"color": o.color, "shape": o.shape, "size": o.size, "cx": o.cx, "cy": o.cy}
            for o in objects]
    if len(objs) > max_objects:
        raise InputError(f"{len(objs)} objects; the oracle reads at most {max_objects}")
    if all("cx" in o for o in objs):
        objs = sorted(objs, key=lambda o: o["cx"])
    vocab = {"color": COLOR_NAMES, "shape": SHAPES, "size": SIZES}
    out: dict = {"count": len(objs) - 1, "background": BACKGROUND_NAMES.index(background) if background else -100}
    for attr, names in vocab.items():
        col = []
        for k in range(max_objects):
            if k < len(objs):
                v = objs[k].get(attr)
                col.append(names.index(v) if v is not None else -100)
            else:
                col.append(len(names))  # the "none" class
        out[attr] = col
    out["position"] = [[o.get("cx", 0.0), o.get("cy", 0.0)] for o in objs] + [[0.0, 0.0]] * (max_objects - len(objs))
    out["position_mask"] = [1.0 if k < len(objs) and "cx" in objs[k] else 0.0 for k in range(max_objects)]
    return out
