"""Untrusted files: every path that reads a pickle or a torch file (the restricted unpickler of the
AttnGAN/DF-GAN pickles, ``hub.load_torch_state_dict`` behind the VGG-16 / Inception-v3 / AttnGAN image
encoder converters, safetensors weights of pipeline folders, open_clip checkpoints) is fed pickles whose
``__reduce__`` would create a marker file, in protocols 0, 2 and 5 and torch's zip format, under the names
.pickle/.pth/.safetensors: no code runs and the error is one InputError naming the file. Fuzzed pickle
bytes give plain data or that error. Paths listed inside data files (manifests, filenames.pickle, COCO
annotations) may not leave the data set folder."""

from __future__ import annotations

import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_fixtures import CLASS_NAMES, captioned, saliency_records
from reliability_helpers import run_cli
from wordsight.data.attngan import CUBDataset
from wordsight.data.coco import COCOCaptionsDataset
from wordsight.data.export import write_cub_layout, write_saliency_manifest
from wordsight.data.manifest import ManifestDataset
from wordsight.data.safe_pickle import load_pickle, loads_restricted
from wordsight.hub import load_torch_state_dict
from wordsight.models.damsm import InceptionDAMSMImageEncoder, load_attngan_image_encoder_state, read_torchvision_inception_v3_state
from wordsight.models.vgg import read_torchvision_vgg16_state
from wordsight.pipelines.saliency import Saliency
from wordsight.pipelines.text_to_image import SHIPPED_DIR, TextToImage
from wordsight.utils.checks import InputError

AREA = "untrusted_files"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROTOCOLS = (0, 2, 5)
SUFFIXES = (".pickle", ".pth", ".safetensors")


class Payload:
    """Unpickling this would run ``open(marker, "w")`` (or ``exec``), creating the marker file."""

    def __init__(self, marker: Path, via: str = "open"):
        self.marker, self.via = str(marker), via

    def __reduce__(self):
        if self.via == "exec":
            return (exec, (f"open({self.marker!r}, 'w').close()",))
        return (open, (self.marker, "w"))


def evil_bytes(marker: Path, protocol: int | str, via: str = "open", wrap=lambda p: p) -> bytes:
    obj = wrap(Payload(marker, via))
    if protocol == "torch_zip":
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()
    return pickle.dumps(obj, protocol=protocol)


FORMATS = [*PROTOCOLS, "torch_zip"]
CASES = [(p, s, via) for p in FORMATS for s in SUFFIXES for via in ("open", "exec")]


def _assert_refused(call, path: Path, marker: Path) -> str:
    with pytest.raises(InputError) as err:
        call()
    assert not marker.exists(), "the pickle's code ran"
    assert path.name in str(err.value), str(err.value)
    return str(err.value)


@pytest.mark.parametrize("protocol,suffix,via", CASES)
def test_restricted_unpickler(tmp_path, tally, protocol, suffix, via):
    with tally.case():
        marker = tmp_path / "MARKER"
        for wrap in (lambda p: p, lambda p: ["001.a/b", {"k": p}], lambda p: [[0], [1], {0: "<end>"}, {"<end>": p}]):
            path = tmp_path / f"filenames{suffix}"
            path.write_bytes(evil_bytes(marker, protocol, via, wrap))
            message = _assert_refused(lambda: load_pickle(path), path, marker)
            assert "\n" not in message
            assert "unsafe pickle" in message or "corrupt pickle" in message


@pytest.mark.parametrize("protocol", FORMATS)
@pytest.mark.parametrize("which", ["train/filenames.pickle", "captions.pickle", "train/class_info.pickle"])
def test_attngan_layout_pickles(tmp_path, tally, protocol, which):
    """A malicious pickle inside a CUB folder: the loader and ``data inspect`` report it; nothing runs."""
    with tally.case():
        root = tmp_path / "birds"
        write_cub_layout(root, captioned(2), class_names=CLASS_NAMES)
        marker = tmp_path / "MARKER"
        (root / which).write_bytes(evil_bytes(marker, protocol, wrap=lambda p: [p]))
        message = _assert_refused(lambda: CUBDataset(root, "train"), root / which, marker)
        assert "unsafe pickle" in message or "corrupt pickle" in message
        result = run_cli(["data", "inspect", str(root)])
        assert result.code in (1, 2) and "Traceback" not in result.err + result.out
        assert Path(which).name in result.out + result.err
        assert not marker.exists()


TORCH_READERS = {
    "load_torch_state_dict": lambda p: load_torch_state_dict(p, "test"),
    "vgg16": read_torchvision_vgg16_state,
    "inception_v3": read_torchvision_inception_v3_state,
    "attngan_image_encoder": lambda p: load_attngan_image_encoder_state(_inception(), p),
}
_INCEPTION: list = []


def _inception():
    if not _INCEPTION:
        _INCEPTION.append(InceptionDAMSMImageEncoder(weights=None))
    return _INCEPTION[0]


@pytest.mark.parametrize("protocol,suffix,via", CASES)
@pytest.mark.parametrize("reader", sorted(TORCH_READERS))
def test_torch_weight_converters(tmp_path, tally, reader, protocol, suffix, via):
    with tally.case():
        marker = tmp_path / "MARKER"
        path = tmp_path / f"weights{suffix}"
        path.write_bytes(evil_bytes(marker, protocol, via, wrap=lambda p: {"features.0.weight": p}))
        message = _assert_refused(lambda: TORCH_READERS[reader](path), path, marker)
        assert "cannot read" in message


def test_torch_refusal_is_one_line(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(evil_bytes(tmp_path / "MARKER", 2))
    with pytest.raises(InputError) as err:
        load_torch_state_dict(path, "VGG-16")
    assert "\n" not in str(err.value) and "weights_only=False" not in str(err.value)


@pytest.mark.parametrize("protocol", FORMATS)
@pytest.mark.parametrize("pipeline", ["text_to_image", "saliency"])
def test_pipeline_folder_with_pickle_as_safetensors(tmp_path, tally, pipeline, protocol):
    """A pipeline folder whose model.safetensors is really a pickle: refused by safetensors, nothing runs."""
    with tally.case():
        if pipeline == "text_to_image":
            folder = Path(shutil.copytree(SHIPPED_DIR, tmp_path / "pipe"))
            weights, load = folder / "generator" / "model.safetensors", TextToImage.from_pretrained
        else:
            from wordsight.pipelines.saliency import OSIE_DIR

            folder = Path(shutil.copytree(OSIE_DIR, tmp_path / "pipe"))
            weights, load = folder / "model" / "model.safetensors", Saliency.from_pretrained
        marker = tmp_path / "MARKER"
        weights.write_bytes(evil_bytes(marker, protocol))
        _assert_refused(lambda: load(folder), weights, marker)
        args = (["generate", "--model", str(folder), "-n", "1", "--out", str(tmp_path / "g.png"), "a red circle"]
                if pipeline == "text_to_image" else ["saliency", str(tmp_path / "none.png"), "--model", str(folder)])
        if pipeline == "saliency":
            from PIL import Image

            Image.new("RGB", (8, 8)).save(tmp_path / "none.png")
        result = run_cli(args)
        assert result.code == 2 and "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
        assert "model.safetensors" in result.err and not marker.exists()


TINY_CLIP = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 24, "heads": 2, "layers": 1}}  # tests/text's


@pytest.mark.parametrize("protocol,suffix", [(p, s) for p in FORMATS for s in SUFFIXES])
def test_open_clip_checkpoint(tmp_path, tally, protocol, suffix):
    pytest.importorskip("open_clip")
    from wordsight.text.clip import CLIPEncoder

    with tally.case():
        marker = tmp_path / "MARKER"
        path = tmp_path / f"clip{suffix}"
        path.write_bytes(evil_bytes(marker, protocol))
        with pytest.raises(Exception) as err:  # noqa: PT011 - the type is checked below
            CLIPEncoder(path, arch="tiny", model_cfg=TINY_CLIP)
        assert not marker.exists()
        assert isinstance(err.value, InputError), repr(err.value)


PLAIN = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                               st.binary(max_size=8)),
                     lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4),
                                             st.tuples(inner, inner)), max_leaves=12)


@settings(max_examples=300, **SETTINGS)
@given(obj=PLAIN, protocol=st.integers(0, 5), cuts=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
       truncate=st.one_of(st.none(), st.integers(0, 400)))
def test_fuzzed_pickles(tally, obj, protocol, cuts, truncate):
    """Plain data round-trips; flipped bytes or truncation give plain data or one InputError, never another
    exception or code run."""
    with tally.case():
        data = bytearray(pickle.dumps(obj, protocol=protocol))
        if not cuts and truncate is None:
            assert loads_restricted(bytes(data)) == _as_str(obj)
            return
        for pos, value in cuts:
            if data:
                data[pos % len(data)] = value
        if truncate is not None:
            data = data[:truncate]
        try:
            loads_restricted(bytes(data), source="fuzz.pickle")
        except InputError as err:
            assert "fuzz.pickle" in str(err) and "\n" not in str(err)


def _as_str(obj):
    """What loads_restricted returns for ``obj``: bytes decoded to str (Python 2 pickles)."""
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            return obj.decode("latin-1")
    if isinstance(obj, list):
        return [_as_str(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_as_str(v) for v in obj)
    if isinstance(obj, dict):
        return {_as_str(k): _as_str(v) for k, v in obj.items()}
    return obj


# ------------------------------------------------------------------------------------------ listed paths
ESCAPES = ["../outside.png", "../../outside.png", "/ABS/outside.png", "images/../../outside.png", "./../outside.png"]


@pytest.fixture(scope="module")
def outside_image(tmp_path_factory):
    from PIL import Image

    base = tmp_path_factory.mktemp("escape")
    Image.new("RGB", (32, 32), (200, 0, 0)).save(base / "outside.png")
    return base


@settings(max_examples=40, **SETTINGS)
@given(escape=st.sampled_from(ESCAPES), field=st.sampled_from(["image", "map", "points"]))
def test_manifest_paths_stay_inside_when_asked(tmp_path_factory, outside_image, tally, escape, field):
    with tally.case():
        root = tmp_path_factory.mktemp("escape_root", numbered=True)
        data = root / "data"
        write_saliency_manifest(data, saliency_records(2))
        shutil.copy(outside_image / "outside.png", root / "outside.png")
        manifest = data / "manifest.jsonl"
        lines = manifest.read_text().splitlines()
        entry = json.loads(lines[0])
        target = str(root / "outside.png") if escape.startswith("/ABS") else escape
        if field == "points":
            (root / "outside.json").write_text("[[1.0, 2.0, 0]]")
            target = target.replace(".png", ".json")
        entry[field] = target
        manifest.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
        with pytest.raises(InputError) as err:
            ManifestDataset(data, inside_root=True)
        assert "outside the data set folder" in str(err.value) and f"{field}" in str(err.value)
        assert "manifest.jsonl:1" in str(err.value)
        lenient = ManifestDataset(data, strict=False, inside_root=True)
        assert len(lenient) == 1  # the other entry stays


@pytest.mark.parametrize("key", ["../../escape", "/abs/escape", "001.a/../../../escape"])
def test_attngan_keys_stay_inside(tmp_path, tally, key):
    with tally.case():
        from wordsight.data.safe_pickle import dump_pickle

        root = tmp_path / "birds"
        write_cub_layout(root, captioned(2), class_names=CLASS_NAMES)
        keys = load_pickle(root / "train" / "filenames.pickle")
        (root / "train" / "filenames.pickle").write_bytes(dump_pickle([keys[0], key]))
        with pytest.raises(InputError) as err:
            CUBDataset(root, "train")
        assert repr(key) in str(err.value) and "inside" in str(err.value)


@pytest.mark.parametrize("file_name", ["../outside.jpg", "/etc/hostname", "sub/../../outside.jpg"])
def test_coco_file_names_stay_inside(tmp_path, tally, file_name):
    with tally.case():
        from data_fixtures import square_image

        root = tmp_path / "coco"
        (root / "annotations").mkdir(parents=True)
        (root / "val2014").mkdir()
        square_image(0).save(root / "val2014" / "a.jpg")
        square_image(1).save(root / "outside.jpg")
        images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": file_name}]
        anns = [{"id": 1, "image_id": 1, "caption": "a"}, {"id": 2, "image_id": 2, "caption": "b"}]
        (root / "annotations" / "captions_val2014.json").write_text(json.dumps({"images": images, "annotations": anns}))
        with pytest.raises(InputError) as err:
            COCOCaptionsDataset(root, "val")
        assert repr(file_name) in str(err.value) and "inside" in str(err.value)
        assert len(COCOCaptionsDataset(root, "val", strict=False)) == 1


def test_numpy_is_not_an_escape_hatch(tmp_path, tally):
    """Allowed numpy reconstructors cannot smuggle in an object array of payloads."""
    with tally.case():
        marker = tmp_path / "MARKER"
        arr = np.empty(1, dtype=object)
        arr[0] = Payload(marker)
        path = tmp_path / "class_info.pickle"
        path.write_bytes(pickle.dumps(arr, protocol=2))
        _assert_refused(lambda: load_pickle(path), path, marker)


@pytest.mark.parametrize("data", [
    b"c__builtin__\nbytearray\n(I1000000000000\ntR.",  # bytearray(10**12): a terabyte, not data
    b"c__builtin__\nbytes\n(I1000000000000\ntR.",
    b"(" * 200_000 + b"l" * 200_000 + b".",  # deeply nested lists
])
def test_resource_pickles(tally, data):
    with tally.case():
        with pytest.raises(InputError, match="bomb.pickle"):
            loads_restricted(data, source="bomb.pickle")
