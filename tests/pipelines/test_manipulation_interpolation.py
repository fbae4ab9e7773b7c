"""The sentence interpolation strip (TAGAN Fig. 7), the positional `wordsight manipulate [MODEL] IMAGE "text"`
form, `--interpolate`, and the shipped default editor."""

import pytest
import torch
from PIL import Image

from wordsight.cli.main import main
from wordsight.cli.manipulate import split_arguments
from wordsight.models.sisgan import SISGANGenerator
from wordsight.models.tagan import TAGANGenerator
from wordsight.pipelines import manipulation
from wordsight.pipelines.manipulation import Manipulation
from wordsight.text.tokenizer import Vocabulary
from wordsight.utils.checks import InputError

CAPTIONS = ["a red circle", "a blue square", "a big green star"]
WORDS = list(Vocabulary.build(CAPTIONS).words)
INFO = {"system": "test", "trained_on": {"data": "synthetic", "description": "the shape world"},
        "vocabulary": sorted({w for c in CAPTIONS for w in c.split()})}


def _editors():
    torch.manual_seed(0)
    return [TAGANGenerator(WORDS, image_size=16, nf=4, text_dim=8, word_embedding_dim=6, c_dim=4, r_num=1),
            SISGANGenerator(WORDS, image_size=16, ngf=4, text_dim=8, word_embedding_dim=6, c_dim=4, r_num=1)]


@pytest.mark.parametrize("index", [0, 1], ids=["tagan", "sisgan"])
def test_the_strip_ends_at_the_two_edits_and_mixes_the_sentences_between(index):
    editor = _editors()[index]
    pipe = Manipulation(editor, INFO, device="cpu")
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    strip = pipe.interpolate(x, "a red circle", "a blue square", steps=5)
    assert strip.images.shape == (5, 3, 16, 16) and strip.texts == ["w=0.00", "w=0.25", "w=0.50", "w=0.75", "w=1.00"]
    with torch.no_grad():
        ends = pipe(x, ["a red circle", "a blue square"]).images
        a, b = editor.encode_texts(["a red circle", "a blue square"])
        middle = editor.edit_encoded(x, (0.5 * a + 0.5 * b)[None]).clamp(-1, 1)
    assert torch.allclose(strip.images[0], ends[0], atol=1e-5) and torch.allclose(strip.images[-1], ends[1], atol=1e-5)
    assert torch.allclose(strip.images[2], middle[0], atol=1e-5)
    assert not torch.allclose(strip.images[2], strip.images[0])
    with pytest.raises(InputError, match="steps"):
        pipe.interpolate(x, "a red circle", "a blue square", steps=1)
    with pytest.raises(InputError, match="one image"):
        pipe.interpolate(torch.zeros(2, 3, 16, 16), "a red circle", "a blue square")


def test_an_editor_without_sentence_vectors_cannot_interpolate():
    from test_manipulation import NegatingEditor  # same folder, rootdir-relative import

    with pytest.raises(InputError, match="cannot interpolate"):
        Manipulation(NegatingEditor(), INFO, device="cpu").interpolate(torch.zeros(1, 3, 16, 16), "a", "b")


def test_positional_arguments_are_split_into_model_images_and_text(tmp_path):
    (tmp_path / "m").mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (16, 16)).save(tmp_path / name)
    a, b, m = str(tmp_path / "a.png"), str(tmp_path / "b.png"), str(tmp_path / "m")
    assert split_arguments([m, a, b, "make it blue"], None, None) == (tmp_path / "m", [tmp_path / "a.png", tmp_path / "b.png"], "make it blue")
    assert split_arguments([a, "make it blue"], None, None) == (None, [tmp_path / "a.png"], "make it blue")
    assert split_arguments([a], "blue", tmp_path / "m") == (tmp_path / "m", [tmp_path / "a.png"], "blue")
    assert split_arguments([a], None, None, need_text=False) == (None, [tmp_path / "a.png"], None)
    with pytest.raises(InputError, match="last argument"):
        split_arguments([a], None, None)
    with pytest.raises(InputError, match="is a file"):
        split_arguments([a, b], None, None)
    with pytest.raises(InputError, match="at least one image"):
        split_arguments([m, "blue"], None, None)
    with pytest.raises(InputError, match="model folder"):
        split_arguments([a, "blue"], None, None, need_model=True)


def test_cli_positional_form_interpolation_and_the_shipped_default(tmp_path, monkeypatch, capsys):
    pipe = Manipulation(_editors()[1], INFO, device="cpu")
    pipe.save_pretrained(tmp_path / "pipe")
    Image.new("RGB", (16, 16), (200, 20, 20)).save(tmp_path / "a.png")
    out = tmp_path / "e.png"
    assert main(["manipulate", str(tmp_path / "pipe"), str(tmp_path / "a.png"), "a blue square", "--out", str(out)]) == 0
    assert 2 * 96 <= Image.open(out).width < 3 * 96
    strip = tmp_path / "strip.png"
    assert main(["manipulate", str(tmp_path / "pipe"), str(tmp_path / "a.png"), "--interpolate", "a red circle", "a blue square",
                 "--interpolation-steps", "4", "--out", str(strip)]) == 0
    assert 5 * 96 <= Image.open(strip).width < 6 * 96  # the source and four mixes
    # without MODEL the shipped editor is used, and the command says so
    monkeypatch.setattr(manipulation, "SHIPPED_DIR", tmp_path / "pipe")
    capsys.readouterr()
    assert main(["manipulate", str(tmp_path / "a.png"), "a blue square", "--out", str(out)]) == 0
    assert "shipped editor" in capsys.readouterr().err
    monkeypatch.setattr(manipulation, "SHIPPED_DIR", tmp_path / "missing")
    assert main(["manipulate", str(tmp_path / "a.png"), "a blue square", "--out", str(out)]) != 0
    assert "shipped editor is missing" in capsys.readouterr().err


def test_the_shipped_editor_loads_says_what_it_knows_and_edits():
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig
    from wordsight.pipelines.text_to_image import UnknownWordsWarning

    pipe = Manipulation.from_pretrained(device="cpu")
    assert pipe.info["system"] == "sisgan" and pipe.info["trained_on"]["data"] == "synthetic" and pipe.image_size == 64
    assert (manipulation.SHIPPED_DIR / "eval.json").is_file()
    scene = SyntheticWorld(WorldConfig(seed=1234, image_size=64, split="test", min_objects=1, max_objects=1)).captioned_image(3).image
    out = pipe(scene, "a big circle colored orange")
    assert out.images.shape == (1, 3, 64, 64) and torch.isfinite(out.images).all()
    with pytest.warns(UnknownWordsWarning, match="zebra"):
        pipe(scene, "a big orange zebra")
