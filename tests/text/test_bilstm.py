import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.text import DAMSMTextEncoder, Vocabulary
from wordsight.utils import InputError

CAPTIONS = [
    "a small bird with a red crown and black wings",
    "this bird is yellow",
    "a bird with a long beak",
]


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return DAMSMTextEncoder.from_vocabulary(Vocabulary.build(CAPTIONS)).eval()


def test_default_sizes_follow_attngan(encoder):
    assert encoder.encoder.embedding_dim == 300
    assert encoder.rnn.hidden_size == 128 and encoder.rnn.bidirectional
    assert encoder.drop.p == 0.5 and encoder.max_length == 18
    # AttnGAN's submodule names, so released text_encoder*.pth state dicts load as they are
    assert set(encoder.state_dict()) == {
        "encoder.weight",
        *(f"rnn.{kind}_l0{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for suffix in ("", "_reverse")),
    }


def test_shapes_and_mask(encoder):
    f = encoder.encode(CAPTIONS)
    assert f.words.shape == (3, 10, 256) and f.sentence.shape == (3, 256)
    assert f.lengths.tolist() == [10, 4, 6]
    assert f.mask[1].tolist() == [True] * 4 + [False] * 6
    assert torch.all(f.words[~f.mask] == 0)


def test_sentence_is_the_final_state_of_each_direction(encoder):
    f = encoder.encode(CAPTIONS)
    for i, n in enumerate(f.lengths.tolist()):
        assert torch.allclose(f.sentence[i, :128], f.words[i, n - 1, :128])  # forward ends at the last word
        assert torch.allclose(f.sentence[i, 128:], f.words[i, 0, 128:])  # backward ends at the first


def test_padding_invariance(encoder):
    alone = encoder.encode([CAPTIONS[1]])
    batch = encoder.encode(CAPTIONS)
    torch.testing.assert_close(batch.sentence[1], alone.sentence[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(batch.words[1, :4], alone.words[0], rtol=0, atol=1e-6)
    ids, lengths = encoder.tokenize(CAPTIONS)
    padded = torch.zeros(3, 18, dtype=torch.long)
    padded[:, : ids.shape[1]] = ids  # AttnGAN pads every caption to WORDS_NUM
    fixed = encoder(padded, lengths)
    assert fixed.words.shape == (3, 18, 256)
    torch.testing.assert_close(fixed.sentence, batch.sentence, rtol=0, atol=1e-6)


def test_gradient_flows_to_used_embeddings_and_lstm(encoder):
    encoder.train()
    ids, lengths = encoder.tokenize(CAPTIONS[1:2])
    f = encoder(ids, lengths)
    (f.sentence.pow(2).sum() + f.words.sum()).backward()
    grad = encoder.encoder.weight.grad
    used = set(ids[0].tolist())
    assert all(grad[i].abs().sum() > 0 for i in used)
    assert all(grad[i].abs().sum() == 0 for i in range(len(encoder.vocabulary)) if i not in used)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.rnn.parameters())


def test_truncation_and_strict(encoder):
    long_caption = " ".join(["bird"] * 25)
    assert encoder.encode([long_caption]).words.shape[1] == 18
    with pytest.raises(InputError, match="25 words; the limit is 18"):
        encoder.encode([long_caption], strict=True)
    with pytest.raises(InputError, match="caption 0 is empty"):
        encoder.encode([""])


def test_random_truncation_uses_the_generator():
    vocab = Vocabulary.build([" ".join(f"w{i}" for i in range(30))])
    enc = DAMSMTextEncoder.from_vocabulary(vocab, max_length=5, truncation="random", embedding_dim=8, hidden_dim=8)
    text = " ".join(f"w{i}" for i in range(30))
    a, _ = enc.tokenize([text], generator=torch.Generator().manual_seed(3))
    b, _ = enc.tokenize([text], generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (1, 5)
    positions = [int(w[1:]) for w in vocab.decode(a[0].tolist()).split()]
    assert len(positions) == 5 and positions == sorted(positions)  # word order kept
    assert positions != list(range(5))  # not the deterministic head


def test_forward_input_checks(encoder):
    ids = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(InputError, match="lengths"):
        encoder(ids, torch.tensor([4, 0]))
    with pytest.raises(InputError, match="lengths"):
        encoder(ids, torch.tensor([5, 1]))
    with pytest.raises(InputError, match="token_ids"):
        encoder(ids[0], torch.tensor([4]))


def test_save_and_load_round_trip(encoder, tmp_path):
    save_pretrained(encoder, tmp_path / "damsm")
    loaded = from_pretrained(tmp_path / "damsm")
    assert isinstance(loaded, DAMSMTextEncoder)
    assert loaded.vocabulary == encoder.vocabulary and loaded.max_length == encoder.max_length
    before, after = encoder.encode(CAPTIONS), loaded.encode(CAPTIONS)
    assert torch.equal(before.sentence, after.sentence) and torch.equal(before.words, after.words)


def test_loads_an_attngan_state_dict():
    """A state dict with AttnGAN's key names and sizes (ntoken from captions.pickle) loads directly."""
    ixtoword = {0: "<end>", 1: "this", 2: "bird", 3: "red"}
    vocab = Vocabulary.from_attngan([[], [], ixtoword, {w: i for i, w in ixtoword.items()}])
    enc = DAMSMTextEncoder.from_vocabulary(vocab).eval()
    reference = torch.nn.LSTM(300, 128, 1, batch_first=True, bidirectional=True)
    state = {"encoder.weight": torch.randn(4, 300), **{f"rnn.{k}": v for k, v in reference.state_dict().items()}}
    enc.load_state_dict(state)
    f = enc.encode(["This red bird"])
    assert f.words.shape == (1, 3, 256)
