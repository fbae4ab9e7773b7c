"""`wordsight convert ...` end to end, on small state dicts in the official layout (the key lists of
fixtures/make_fixtures.py at reduced widths), and its refusal of files that hold code."""

import pickle

import pytest
import torch
from conftest import load_keys, make_fixtures_module, random_state

from wordsight.cli.main import main
from wordsight.data.safe_pickle import dump_pickle

WORDS = ["<end>", "this", "bird", "is", "red", "with", "white", "wings", "a"]
EMB = 16  # the DAMSM space of the small layouts


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def layouts():
    return make_fixtures_module()


@pytest.fixture()
def damsm_files(tmp_path, layouts):
    """(text_encoder.pth, captions.pickle) of a small DAMSM with the 9-word vocabulary above."""
    captions = tmp_path / "captions.pickle"
    captions.write_bytes(dump_pickle([[[1, 2, 3, 4]], [[1, 2]], dict(enumerate(WORDS)), {w: i for i, w in enumerate(WORDS)}]))
    text = tmp_path / "text_encoder200.pth"
    torch.save(random_state(layouts.damsm_text(ntoken=len(WORDS), ninput=8, nhidden=EMB)), text)
    return text, captions


def test_dfgan_official_writes_a_pipeline_that_generates(tmp_path, layouts, damsm_files, capsys):
    from wordsight.hub import from_pretrained
    from wordsight.models.official import convert_dfgan

    parts = layouts.dfgan(nf=4, nz=10, cond=EMB, imsize=64)
    checkpoint = {"model": {name: random_state(pairs, seed=i) for i, (name, pairs) in enumerate(parts.items())},
                  "optimizers": {"optimizer_G": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]}}, "epoch": 1220}
    file, out = tmp_path / "state_epoch_1220.pth", tmp_path / "dfgan"
    torch.save(checkpoint, file)
    text, captions = damsm_files
    assert main(["convert", "dfgan-official", str(file), str(out), "--text-encoder", str(text), "--captions", str(captions)]) == 0
    assert "wordsight generate --model" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"pipeline.json", "generator", "text_encoder", "discriminator"}
    g = from_pretrained(out / "generator")
    expected = convert_dfgan(checkpoint)[0].module.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in g.state_dict().items())
    assert from_pretrained(out / "discriminator").image_size == 64
    png = tmp_path / "g.png"
    assert main(["generate", "--model", str(out), "this bird is red", "-n", "2", "--out", str(png)]) == 0 and png.is_file()
    # OUT is not replaced unless asked
    args = ["convert", "dfgan-official", str(file), str(out), "--text-encoder", str(text), "--captions", str(captions)]
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


def test_attngan_official_with_a_converted_damsm_folder(tmp_path, layouts, damsm_files, capsys):
    text, captions = damsm_files
    damsm = tmp_path / "damsm"
    assert main(["convert", "damsm-official", str(text), str(damsm), "--captions", str(captions)]) == 0
    assert (damsm / "text_encoder" / "config.json").is_file()
    file, out = tmp_path / "bird_AttnGAN2.pth", tmp_path / "attngan"
    torch.save(random_state(layouts.attngan(gf=2, z=10, c=6, emb=EMB, r_num=1, branches=2)), file)
    assert main(["convert", "attngan-official", str(file), str(out), "--text-encoder", str(damsm)]) == 0
    png = tmp_path / "a.png"
    assert main(["generate", "--model", str(out), "--attention", "a red bird with white wings", "-n", "1", "--out", str(png)]) == 0
    assert png.is_file()


def test_vocabulary_and_encoder_must_belong_together(tmp_path, layouts, damsm_files, capsys):
    text, _ = damsm_files
    other = tmp_path / "other.pickle"
    other.write_bytes(dump_pickle([[], [], {0: "<end>", 1: "bird"}, {"<end>": 0, "bird": 1}]))
    assert main(["convert", "damsm-official", str(text), str(tmp_path / "d"), "--captions", str(other)]) == 2
    err = capsys.readouterr().err
    assert "holds 2 words" in err and "embeds 9" in err and len(err.strip().splitlines()) == 1


def test_damsm_official_with_the_image_encoder(tmp_path, layouts):
    from wordsight.models.damsm import load_damsm_pair

    captions = tmp_path / "captions.pickle"
    captions.write_bytes(dump_pickle([[], [], dict(enumerate(WORDS)), {w: i for i, w in enumerate(WORDS)}]))
    text, image = tmp_path / "text_encoder200.pth", tmp_path / "image_encoder200.pth"
    torch.save(random_state(layouts.damsm_text(ntoken=len(WORDS), ninput=8, nhidden=256)), text)
    torch.save({k: v for k, v in random_state(load_keys("damsm_image")).items() if not k.endswith("num_batches_tracked")}, image)
    out = tmp_path / "damsm"
    assert main(["convert", "damsm-official", str(text), str(out), "--captions", str(captions), "--image-encoder", str(image)]) == 0
    text_encoder, image_encoder = load_damsm_pair(out)
    assert text_encoder.sentence_dim == image_encoder.embed_dim == 256


def test_stackgan2_official_writes_a_model_folder(tmp_path, layouts):
    from wordsight.hub import from_pretrained

    file, out = tmp_path / "netG_210000.pth", tmp_path / "stackgan2"
    torch.save(random_state(layouts.stackgan2(gf=4, z=10, ef=6, t_dim=32, r_num=1, branches=2)), file)
    assert main(["convert", "stackgan2-official", str(file), str(out)]) == 0
    g = from_pretrained(out)
    assert (g.sentence_dim, g.branch_num, g.image_size) == (32, 2, 128)
    assert [x.shape[-1] for x in g(g.sample_noise(2), torch.randn(2, 32))] == [64, 128]


class _Evil:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


@pytest.mark.parametrize("saver", ["torch.save", "pickle"])
@pytest.mark.parametrize("command, where", [("dfgan-official", "FILE"), ("attngan-official", "FILE"), ("stackgan2-official", "FILE"),
                                            ("damsm-official", "FILE"), ("dfgan-official", "--text-encoder"),
                                            ("attngan-official", "--captions"), ("damsm-official", "--image-encoder")])
def test_a_file_holding_code_runs_none_and_exits_2(tmp_path, damsm_files, layouts, capsys, command, where, saver):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    if saver == "torch.save":
        torch.save({"model": _Evil(marker)}, evil)
    else:
        evil.write_bytes(pickle.dumps(_Evil(marker)))
    text, captions = damsm_files
    good = tmp_path / "good.pth"
    if command == "dfgan-official":
        torch.save(random_state(layouts.dfgan(nf=4, nz=10, cond=EMB, imsize=64)["netG"]), good)
    else:
        torch.save(random_state(layouts.attngan(gf=2, z=10, c=6, emb=EMB, r_num=1, branches=2)), good)
    files = {"FILE": evil if where == "FILE" else (text if command == "damsm-official" else good),
             "--text-encoder": evil if where == "--text-encoder" else text,
             "--captions": evil if where == "--captions" else captions}
    args = ["convert", command, str(files["FILE"]), str(tmp_path / "out")]
    if command in ("dfgan-official", "attngan-official"):
        args += ["--text-encoder", str(files["--text-encoder"]), "--captions", str(files["--captions"])]
    elif command == "damsm-official":
        args += ["--captions", str(files["--captions"])] + (["--image-encoder", str(evil)] if where == "--image-encoder" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert not marker.exists()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "pickle" in err or "refused" in err or "unsafe" in err, err
    assert not (tmp_path / "out").exists()
