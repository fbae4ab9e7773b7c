"""Damaged data folders (missing captions, mismatched stems, empty files, corrupt or truncated images,
captions that are only blank lines, bad fixation points) in the published layouts (folder:, cub:, the
saliency folder and manifest), through the loaders and ``wordsight data inspect``: strict loading is one
InputError naming every damaged file; lenient loading keeps exactly the undamaged items."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_fixtures import CLASS_NAMES, captioned, saliency_records
from reliability_helpers import run_cli
from wordsight.data.attngan import CUBDataset
from wordsight.data.export import write_caption_folder, write_cub_layout, write_saliency_folder, write_saliency_manifest
from wordsight.data.folder import CaptionFolderDataset
from wordsight.data.manifest import ManifestDataset
from wordsight.data.saliency import SaliencyFolderDataset
from wordsight.utils.checks import InputError

AREA = "data_folders"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
N = 4
IMAGE_DAMAGE = ["zero_image", "corrupt_image", "truncated_image", "missing_image"]
CAPTION_DAMAGE = ["no_caption", "empty_caption_file", "blank_lines", "mismatched_stem"]
SALIENCY_DAMAGE = ["zero_image", "corrupt_image", "corrupt_map", "empty_map_file", "points_nan", "points_outside",
                   "points_bad_json", "points_wrong_shape", "mismatched_map_stem"]


def _damage_image(path, kind: str, rng) -> None:
    if kind == "zero_image":
        path.write_bytes(b"")
    elif kind == "corrupt_image":
        path.write_bytes(bytes(rng.integers(0, 256, 50, dtype=np.uint8)))
    elif kind == "truncated_image":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "missing_image":
        path.unlink()


def _damages(kinds):
    """A dict {item index: damage kind} for some of the N items (possibly none)."""
    return st.dictionaries(st.integers(0, N - 1), st.sampled_from(kinds), max_size=3)


def _check(make, damaged: dict, named: dict, maybe: dict, total: int = N) -> None:
    """``make(strict)`` builds the data set. Strict: one InputError naming every file of ``named`` (index ->
    file name). Lenient: exactly the items not in ``damaged``, plus perhaps those of ``maybe`` (index ->
    file name: truncated images whose header still parses), which raise an InputError naming the file when
    loaded."""
    if named:
        with pytest.raises(InputError) as err:
            make(True)
        for name in named.values():
            assert name in str(err.value), (name, str(err.value))
    elif not maybe:
        assert len(make(True)) == total
    lenient = make(False)
    good = total - len(damaged)
    assert good <= len(lenient) <= good + len(maybe), (damaged, len(lenient), [str(p) for p in lenient.problems])
    for index, item in enumerate(lenient.items):
        name = getattr(item, "image_path").name
        if name in maybe.values():
            with pytest.raises(InputError, match="cannot read image") as err:
                lenient[index]
            assert name in str(err.value)
        else:
            lenient[index]


@settings(max_examples=60, **SETTINGS)
@given(damaged=_damages(IMAGE_DAMAGE + CAPTION_DAMAGE), seed=st.integers(0, 2**32 - 1))
def test_caption_folder(tmp_path_factory, tally, damaged, seed):
    with tally.case():
        rng = np.random.default_rng(seed)
        root = tmp_path_factory.mktemp("folder")
        write_caption_folder(root, captioned(N, captions=3))
        named, maybe = {}, {}
        for i, kind in damaged.items():
            image, text = root / f"img_{i:03d}.png", root / f"img_{i:03d}.txt"
            if kind in IMAGE_DAMAGE:
                _damage_image(image, kind, rng)
                if kind == "truncated_image":
                    maybe[i] = image.name
                else:
                    named[i] = image.name if kind != "missing_image" else text.name
            elif kind == "no_caption":
                text.unlink()
                named[i] = image.name
            elif kind == "empty_caption_file":
                text.write_bytes(b"")
                named[i] = text.name
            elif kind == "blank_lines":
                text.write_text("\n   \n\t\n\r\n")
                named[i] = text.name
            elif kind == "mismatched_stem":
                text.rename(root / f"other_{i:03d}.txt")
                named[i] = f"other_{i:03d}.txt"
        _check(lambda strict: CaptionFolderDataset(root, strict=strict), damaged, named, maybe)


@settings(max_examples=40, **SETTINGS)
@given(damaged=_damages(IMAGE_DAMAGE + CAPTION_DAMAGE[:3]), seed=st.integers(0, 2**32 - 1))
def test_cub_layout(tmp_path_factory, tally, damaged, seed):
    with tally.case():
        rng = np.random.default_rng(seed)
        root = tmp_path_factory.mktemp("cub") / "birds"
        write_cub_layout(root, captioned(N), class_names=CLASS_NAMES)
        ds = CUBDataset(root, "train")
        keys = [it.key for it in ds.items]
        named, maybe = {}, {}
        for i, kind in damaged.items():
            image = root / "CUB_200_2011" / "images" / f"{keys[i]}.jpg"
            text = root / "text" / f"{keys[i]}.txt"
            if kind in IMAGE_DAMAGE:
                _damage_image(image, kind, rng)
                if kind == "truncated_image":
                    maybe[i] = image.name
                else:
                    named[i] = image.name
            elif kind == "no_caption":
                text.unlink()
                named[i] = text.name
            else:
                text.write_text("" if kind == "empty_caption_file" else "\n \n\t\n")
                named[i] = text.name
        _check(lambda strict: CUBDataset(root, "train", strict=strict), damaged, named, maybe)


def _damage_saliency(root, stem: str, kind: str, rng) -> tuple[str, bool]:
    """Damage one item of a saliency folder; (file the report must name, whether the item is unusable)."""
    image, density, points = root / "images" / f"{stem}.png", root / "maps" / f"{stem}.png", root / "points" / f"{stem}.json"
    if kind in IMAGE_DAMAGE:
        _damage_image(image, kind, rng)
        return image.name, True
    if kind == "corrupt_map":
        density.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 40, dtype=np.uint8)))
        return density.name, True
    if kind == "empty_map_file":
        density.write_bytes(b"")
        return density.name, True
    if kind == "points_nan":
        points.write_text('[[NaN, 3.0, 0], [4.0, 5.0, 1]]')
        return points.name, True
    if kind == "points_outside":
        points.write_text(json.dumps([[40.0, 3.0, 0], [4.0, -1.0, 1]]))
        return points.name, True
    if kind == "points_bad_json":
        points.write_text("[[1, 2, 0], ")
        return points.name, True
    if kind == "points_wrong_shape":
        points.write_text(json.dumps([[1.0, 2.0]]))
        return points.name, True
    if kind == "mismatched_map_stem":
        density.rename(density.with_name(f"zz_{stem}.png"))
        return f"zz_{stem}.png", False  # a stray map; the item keeps its fixations
    raise ValueError(kind)


@settings(max_examples=60, **SETTINGS)
@given(damaged=_damages(SALIENCY_DAMAGE), seed=st.integers(0, 2**32 - 1), manifest=st.booleans())
def test_saliency_layouts(tmp_path_factory, tally, damaged, seed, manifest):
    with tally.case():
        rng = np.random.default_rng(seed)
        root = tmp_path_factory.mktemp("sal")
        records = saliency_records(N)
        (write_saliency_manifest if manifest else write_saliency_folder)(root, records)
        if manifest:
            damaged = {i: k for i, k in damaged.items() if k != "mismatched_map_stem"}  # no stems in a manifest
        named, unusable = {}, []
        for i, kind in damaged.items():
            stem = records[i].key
            if manifest:
                entry = json.loads((root / "manifest.jsonl").read_text().splitlines()[i])
                stem = entry["image"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
                root_map = root / entry["map"]
                if kind in ("corrupt_map", "empty_map_file") and root_map.name != f"{stem}.png":
                    stem = root_map.stem  # manifest maps may be named after the record
            name, bad = _damage_saliency(root, stem, kind, rng)
            named[i] = name
            if bad:
                unusable.append(i)
        make = (lambda strict: ManifestDataset(root, strict=strict)) if manifest else (
            lambda strict: SaliencyFolderDataset(root, strict=strict))
        lenient_damage = {i: damaged[i] for i in unusable}
        _check(make, lenient_damage, named, {})


@settings(max_examples=15, **SETTINGS)
@given(damaged=_damages(["zero_image", "corrupt_image", "truncated_image", "no_caption", "blank_lines"]).filter(bool),
       seed=st.integers(0, 2**32 - 1))
def test_data_inspect_cli(tmp_path_factory, tally, damaged, seed):
    with tally.case():
        rng = np.random.default_rng(seed)
        root = tmp_path_factory.mktemp("inspect")
        write_caption_folder(root, captioned(N, captions=2))
        names = []
        for i, kind in damaged.items():
            image, text = root / f"img_{i:03d}.png", root / f"img_{i:03d}.txt"
            if kind in IMAGE_DAMAGE:
                _damage_image(image, kind, rng)
                names.append(image.name)
            elif kind == "no_caption":
                text.unlink()
                names.append(image.name)
            else:
                text.write_text("\n\n  \n")
                names.append(text.name)
        result = run_cli(["data", "inspect", str(root)])
        assert result.code in (1, 2), (result.code, result.out)
        assert "Traceback" not in result.out + result.err
        for name in names:
            assert name in result.out + result.err, (name, result.out, result.err)
