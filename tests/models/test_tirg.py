import math

import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.metrics.retrieval import recall_at_k
from wordsight.models.tirg import TIRG, FeatureNormalization, TIRGComposition
from wordsight.text.rnn import RNNTextEncoder
from wordsight.text.tokenizer import Vocabulary
from wordsight.utils.checks import InputError

TEXTS = ["make the red circle blue", "remove the green square", "make the small triangle large"]
WORDS = list(Vocabulary.build(TEXTS).words)


def _tiny(**kw) -> TIRG:
    torch.manual_seed(0)
    args = dict(embed_dim=8, word_embedding_dim=6, image_size=16, channels=(4, 8))
    args.update(kw)
    return TIRG(WORDS, **args)


def _images(b=3, size=16, seed=1):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_shapes_norms_and_official_initial_values():
    m = _tiny()
    q = m.compose(_images(), TEXTS)
    y = m.image_features(_images(seed=2))
    assert q.shape == y.shape == (3, 8)
    # both sides normalised to the learned scale, initialised to 4 (official NormalizationLayer(4.0))
    assert torch.allclose(q.norm(dim=1), torch.full((3,), 4.0), atol=1e-5)
    assert torch.allclose(y.norm(dim=1), torch.full((3,), 4.0), atol=1e-5)
    assert isinstance(m.normalization.scale, torch.nn.Parameter)
    assert m.composition.weights.tolist() == [1.0, 10.0]  # official self.a[0], self.a[1]
    assert isinstance(m.text_encoder, RNNTextEncoder) and m.text_encoder.rnn_type == "lstm"
    assert not m.text_encoder.bidirectional
    assert m.encode_images(_images()).shape == (3, 8)
    assert m.text_features(TEXTS).shape == (3, 8)
    # composition layout of the official gated_feature_composer / res_info_composer
    c = m.composition
    assert [type(x).__name__ for x in c.gate] == ["BatchNorm1d", "ReLU", "Linear"]
    assert [type(x).__name__ for x in c.residual] == ["BatchNorm1d", "ReLU", "Linear", "ReLU", "Linear"]
    assert c.gate[0].num_features == 16 and c.residual[2].out_features == 16 and c.residual[4].out_features == 8


def test_other_image_sizes_are_resized_and_bad_inputs_are_input_errors():
    m = _tiny().eval()
    assert m.image_features(_images(size=32)).shape == (3, 8)
    with pytest.raises(InputError):
        m.image_features(torch.rand(3, 1, 16, 16))
    with pytest.raises(InputError):
        m.compose(_images(), TEXTS[:2])  # one text per image
    with pytest.raises(InputError):
        m.composition(torch.randn(3, 8), torch.randn(2, 8))
    with pytest.raises(InputError):
        TIRG(WORDS, embed_dim=8, channels=())


def test_open_gate_and_zero_residual_give_the_image_feature():
    torch.manual_seed(0)
    comp = TIRGComposition(8).eval()
    with torch.no_grad():
        comp.gate[-1].weight.zero_()
        comp.gate[-1].bias.fill_(100.0)  # sigmoid(100) = 1: the gate is open
        comp.weights[1] = 0.0  # w_r = 0: no residual
    image, text = torch.randn(4, 8), torch.randn(4, 8)
    gate, residual = comp.gate_and_residual(image, text)
    assert torch.allclose(gate, torch.ones(4, 8))
    assert residual.shape == (4, 8)
    assert torch.allclose(comp(image, text), image)
    # equivalently with w_r kept at 10 and the residual's last layer zeroed
    with torch.no_grad():
        comp.weights[1] = 10.0
        comp.residual[-1].weight.zero_()
        comp.residual[-1].bias.zero_()
    assert torch.allclose(comp(image, text), image)


def test_composition_is_the_weighted_sum_of_gated_image_and_residual():
    torch.manual_seed(0)
    comp = TIRGComposition(5).eval()
    image, text = torch.randn(3, 5), torch.randn(3, 5)
    gate, residual = comp.gate_and_residual(image, text)
    assert ((gate > 0) & (gate < 1)).all()
    assert torch.allclose(comp(image, text), 1.0 * gate * image + 10.0 * residual, atol=1e-6)


def test_compose_features_normalises_the_composition():
    m = _tiny().eval()
    with torch.no_grad():
        m.composition.gate[-1].weight.zero_()
        m.composition.gate[-1].bias.fill_(100.0)
        m.composition.weights[1] = 0.0
        m.normalization.scale.fill_(2.5)
    image = m.encode_images(_images())
    text = m.text_features(TEXTS)
    expected = 2.5 * image / image.norm(dim=1, keepdim=True)
    assert torch.allclose(m.compose_features(image, text), expected, atol=1e-5)
    assert torch.allclose(m.compose(_images(), TEXTS), expected, atol=1e-5)


def test_feature_normalization():
    norm = FeatureNormalization(4.0)
    x = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.allclose(norm(x), torch.tensor([[2.4, 3.2], [0.0, 4.0]]))


def test_token_ids_give_the_same_queries_as_texts():
    m = _tiny().eval()
    ids, lengths = m.tokenize(TEXTS, pad_to=m.max_length)
    assert ids.shape == (3, m.max_length)
    assert torch.allclose(m.compose_ids(_images(), ids, lengths), m.compose(_images(), TEXTS), atol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    m = _tiny().eval()
    with torch.no_grad():
        m.normalization.scale.fill_(3.0)
    save_pretrained(m, tmp_path / "tirg")
    loaded = from_pretrained(tmp_path / "tirg")
    assert isinstance(loaded, TIRG)
    assert loaded.config == m.config and loaded.config["words"] == WORDS
    images = _images()
    assert torch.equal(loaded.compose(images, TEXTS), m.compose(images, TEXTS))
    assert torch.equal(loaded.image_features(images), m.image_features(images))


# ---- recall@K ---------------------------------------------------------------------------------
def test_recall_at_k_on_a_hand_made_gallery():
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    # query 0 is nearest gallery 0 (its target: rank 1); query 1 points between 1 and 2, nearer 1
    # (target 2: rank 2); query 2 ranks 3, 0, 2, 1 (target 1: rank 4, the least similar)
    query = torch.tensor([[2.0, 0.1], [-0.4, 1.0], [0.5, -1.0]])
    targets = torch.tensor([0, 2, 1])
    r = recall_at_k(query, gallery, targets, ks=(1, 2, 3, 4))
    assert r == pytest.approx({"recall@1": 1 / 3, "recall@2": 2 / 3, "recall@3": 2 / 3, "recall@4": 1.0})
    # cosine similarity: the scale of a query does not matter
    assert recall_at_k(query * 7.0, gallery * 0.1, targets, ks=(1, 2)) == pytest.approx({"recall@1": 1 / 3, "recall@2": 2 / 3})


def test_recall_at_k_excludes_each_querys_source_image():
    gallery = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    query = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    targets = torch.tensor([1, 2])
    # without the rule, query 0's own source (gallery 0) outranks its target
    assert recall_at_k(query, gallery, targets, ks=(1, 2)) == pytest.approx({"recall@1": 0.0, "recall@2": 0.5})
    r = recall_at_k(query, gallery, targets, ks=(1, 2), exclude=torch.tensor([0, 1]))
    # query 0: gallery 0 removed -> its target 1 is first; query 1: gallery 1 removed -> 0 first, then 2
    assert r == pytest.approx({"recall@1": 0.5, "recall@2": 1.0})


def test_recall_at_k_rejects_bad_inputs():
    g, q = torch.randn(4, 3), torch.randn(2, 3)
    t = torch.tensor([0, 1])
    with pytest.raises(InputError):
        recall_at_k(q, torch.randn(4, 2), t)  # dims differ
    with pytest.raises(InputError):
        recall_at_k(q, g, torch.tensor([0, 1, 2]))  # one target per query
    with pytest.raises(InputError):
        recall_at_k(q, g, torch.tensor([0, 4]), ks=(1,))  # out of the gallery
    with pytest.raises(InputError):
        recall_at_k(q, g, torch.tensor([0.0, 1.0]), ks=(1,))  # not indices
    with pytest.raises(InputError):
        recall_at_k(torch.tensor([[math.nan, 0.0, 0.0], [1.0, 0.0, 0.0]]), g, t, ks=(1,))
    with pytest.raises(InputError):
        recall_at_k(q, g, t, ks=(5,))  # k larger than the gallery
    with pytest.raises(InputError):
        recall_at_k(q, g, t, ks=(4,), exclude=torch.tensor([2, 3]))  # one item fewer to rank
    with pytest.raises(InputError):
        recall_at_k(q, g, t, ks=(1,), exclude=torch.tensor([0, 3]))  # a target excluded
