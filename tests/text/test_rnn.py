"""The trainable RNN caption encoder of the manipulation systems: packing, merging, word vectors, save/load."""

import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.text.rnn import RNNTextEncoder, load_word_vectors
from wordsight.text.tokenizer import Vocabulary
from wordsight.utils.checks import InputError

VOCAB = Vocabulary.build(["make the red circle blue", "a small green square", "remove the star"])


@pytest.mark.parametrize("rnn,merge", [("gru", "mean"), ("lstm", "concat")])
def test_features_do_not_depend_on_the_batch_and_padding_is_zero(rnn, merge):
    torch.manual_seed(0)
    enc = RNNTextEncoder(VOCAB.words, embedding_dim=4, hidden_dim=6, rnn=rnn, merge=merge).eval()
    both = enc.encode(["make the red circle blue", "a square"])
    alone = enc.encode(["a square"])
    assert both.words.shape == (2, 5, 6) and both.sentence.shape == (2, 6)
    assert torch.allclose(both.sentence[1], alone.sentence[0], atol=1e-6)
    assert torch.allclose(both.words[1, :2], alone.words[0], atol=1e-6)
    assert both.words[1, 2:].abs().max() == 0


def test_mean_merge_averages_the_two_directions():
    torch.manual_seed(0)
    enc = RNNTextEncoder(VOCAB.words, embedding_dim=4, hidden_dim=6, merge="mean")
    ids, lengths = enc.tokenize(["the red circle"])
    out, h = enc.rnn(enc.embedding(ids))  # one caption, no padding: packing changes nothing
    assert torch.allclose(enc(ids, lengths).words, (out[..., :6] + out[..., 6:]) / 2, atol=1e-6)
    assert torch.allclose(enc(ids, lengths).sentence, (h[0] + h[1]) / 2, atol=1e-6)


def test_word_vectors_file_fills_known_rows(tmp_path):
    enc = RNNTextEncoder(VOCAB.words, embedding_dim=3, hidden_dim=4)
    path = tmp_path / "vectors.vec"
    path.write_text("3 3\nred 1 2 3\nzebra 4 5 6\nblue 0.5 0.5 0.5\n")
    assert load_word_vectors(enc, path) == 2
    assert torch.equal(enc.embedding.weight[VOCAB.words.index("red")], torch.tensor([1.0, 2.0, 3.0]))
    (tmp_path / "bad.vec").write_text("2 4\nred 1 2 3 4\n")
    with pytest.raises(InputError, match="4 dimensions"):
        load_word_vectors(enc, tmp_path / "bad.vec")
    with pytest.raises(InputError, match="not found"):
        load_word_vectors(enc, tmp_path / "none.vec")


def test_round_trip_keeps_the_vocabulary(tmp_path):
    torch.manual_seed(0)
    enc = RNNTextEncoder(VOCAB.words, embedding_dim=4, hidden_dim=6, freeze_embeddings=True).eval()
    assert not enc.embedding.weight.requires_grad
    save_pretrained(enc, tmp_path / "e")
    loaded = from_pretrained(tmp_path / "e")
    assert loaded.vocabulary.words == enc.vocabulary.words
    assert torch.allclose(loaded.encode(["remove the star"]).sentence, enc.encode(["remove the star"]).sentence)
