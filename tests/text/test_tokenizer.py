import json

import pytest
import torch

from wordsight.text import END_TOKEN, UNK_TOKEN, Vocabulary, subsample_tokens, tokenize
from wordsight.utils import InputError

CAPTIONS = [
    "A small bird with a red crown.",
    "This bird has a red belly and a short beak",
    "a small yellow bird",
]


def test_tokenize_follows_attngan():
    assert tokenize("A small, bright-red Bird!") == ["a", "small", "bright", "red", "bird"]
    # non-ASCII characters are dropped inside tokens; tokens left empty disappear
    assert tokenize("café 鳥 naïve") == ["caf", "nave"]
    assert tokenize("under_score 42") == ["under_score", "42"]
    assert tokenize("left\ufffd\ufffdright") == ["left", "right"]
    with pytest.raises(InputError):
        tokenize(3)


def test_build_orders_by_count_then_alphabet():
    vocab = Vocabulary.build(CAPTIONS)
    assert vocab.words[:2] == (END_TOKEN, UNK_TOKEN)
    assert vocab.end_id == vocab.pad_id == 0 and vocab.unk_id == 1
    # counts: a=4, bird=3, red=2, small=2, then single words alphabetically
    assert vocab.words[2:6] == ("a", "bird", "red", "small")
    assert list(vocab.words[6:]) == sorted(vocab.words[6:])
    assert Vocabulary.build(list(reversed(CAPTIONS))) == vocab


def test_build_min_count_and_max_size():
    vocab = Vocabulary.build(CAPTIONS, min_count=2)
    assert vocab.words == (END_TOKEN, UNK_TOKEN, "a", "bird", "red", "small")
    assert len(Vocabulary.build(CAPTIONS, max_size=4)) == 4
    with pytest.raises(InputError):
        Vocabulary.build(CAPTIONS, min_count=10)
    with pytest.raises(InputError):
        Vocabulary.build([])


def test_round_trip_of_known_words():
    vocab = Vocabulary.build(CAPTIONS)
    ids = vocab.encode("This bird has a red belly")
    assert vocab.decode(ids) == "this bird has a red belly"
    assert vocab.decode(ids + [0, 5, 6]) == "this bird has a red belly"  # stops at <end>


def test_unknown_words_map_to_unk_or_are_dropped():
    vocab = Vocabulary.build(CAPTIONS)
    ids = vocab.encode("a purple bird")
    assert ids == [vocab.id_of("a"), vocab.unk_id, vocab.id_of("bird")]
    no_unk = Vocabulary.build(CAPTIONS, unk=False)
    assert no_unk.unk_id is None and UNK_TOKEN not in no_unk
    assert no_unk.encode("a purple bird") == [no_unk.id_of("a"), no_unk.id_of("bird")]
    with pytest.raises(InputError, match="no known words"):
        no_unk.encode("purple zebra")
    with pytest.raises(InputError, match="no known words"):
        vocab.encode("!!! ...")


def test_max_length_truncates_head_by_default_and_strict_raises():
    vocab = Vocabulary.build(CAPTIONS)
    text = "this bird has a red belly and a short beak"
    assert vocab.encode(text, max_length=4) == vocab.encode("this bird has a")
    with pytest.raises(InputError, match="limit is 4"):
        vocab.encode(text, max_length=4, strict=True)
    assert vocab.encode("a small bird", max_length=4, strict=True) == vocab.encode("a small bird")


def test_random_truncation_keeps_order_and_follows_the_generator():
    tokens = list(range(20))
    a = subsample_tokens(tokens, 7, "random", torch.Generator().manual_seed(1))
    b = subsample_tokens(tokens, 7, "random", torch.Generator().manual_seed(1))
    others = {tuple(subsample_tokens(tokens, 7, "random", torch.Generator().manual_seed(s))) for s in range(2, 8)}
    assert a == b and len(a) == 7 and a == sorted(a) and len(set(a)) == 7
    assert len(others | {tuple(a)}) > 1
    assert subsample_tokens(tokens, 7) == list(range(7))
    with pytest.raises(InputError):
        subsample_tokens(tokens, 7, "middle")


def test_encode_batch_pads_with_end_id():
    vocab = Vocabulary.build(CAPTIONS)
    ids, lengths = vocab.encode_batch(["a small bird", "a bird"])
    assert ids.shape == (2, 3) and ids.dtype == torch.long
    assert lengths.tolist() == [3, 2] and ids[1, 2].item() == 0
    ids18, _ = vocab.encode_batch(["a small bird", "a bird"], pad_to=18)
    assert ids18.shape == (2, 18) and torch.equal(ids18[:, :3], ids)
    with pytest.raises(InputError, match="caption 1"):
        vocab.encode_batch(["a bird", 7])
    with pytest.raises(InputError):
        vocab.encode_batch([])


def test_save_and_load_round_trip(tmp_path):
    vocab = Vocabulary.build(CAPTIONS)
    path = vocab.save(tmp_path / "vocab.json")
    assert json.loads(path.read_text())["words"][0] == END_TOKEN
    loaded = Vocabulary.load(path)
    assert loaded == vocab and loaded.encode("a red bird") == vocab.encode("a red bird")
    no_unk = Vocabulary.build(CAPTIONS, unk=False)
    assert Vocabulary.load(no_unk.save(tmp_path / "v2.json")).unk_token is None


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.json"):
        Vocabulary.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        Vocabulary.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"words": ["<end>"]}))
    with pytest.raises(InputError, match="not a wordsight vocabulary"):
        Vocabulary.load(other)


def test_invalid_word_lists():
    with pytest.raises(InputError, match="id 0"):
        Vocabulary(("a", "<end>"))
    with pytest.raises(InputError, match="twice"):
        Vocabulary(("<end>", "<unk>", "a", "a"))
    with pytest.raises(InputError, match="unk_token"):
        Vocabulary(("<end>", "a"), unk_token="<unk>")


def test_from_attngan_captions_pickle_object():
    ixtoword = {0: "<end>", 1: "this", 2: "bird", 3: "red"}
    wordtoix = {w: i for i, w in ixtoword.items()}
    obj = [[[1, 2], [2, 3]], [[3, 2]], ixtoword, wordtoix]
    vocab = Vocabulary.from_attngan(obj)
    assert vocab.words == ("<end>", "this", "bird", "red") and vocab.unk_token is None
    assert vocab.encode("This red bird, purple") == [1, 3, 2]  # unknown words dropped, as in AttnGAN
    assert vocab.to_attngan() == (ixtoword, wordtoix)
    with pytest.raises(InputError, match="4 items"):
        Vocabulary.from_attngan(obj[:3])
    with pytest.raises(InputError, match="wordtoix"):
        Vocabulary.from_attngan([[], [], ixtoword, {**wordtoix, "red": 2}])
    with pytest.raises(InputError, match="gaps"):
        Vocabulary.from_attngan([[], [], {0: "<end>", 2: "bird"}, {"<end>": 0, "bird": 2}])
