import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.dfgan import DFDiscriminator, DFGenerator, truncated_noise
from wordsight.utils.checks import InputError


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_generator_matches_the_official_parameter_count():
    # official NetG (bird config, nf 32, z 100, sentence 256): 4.87 M params at 64 px, 9.74 M at 256 px
    assert _count(DFGenerator(32, 100, 256, 64)) == 4_868_867
    assert round(_count(DFGenerator(32, 100, 256, 256)) / 1e6, 2) == 9.74


@pytest.mark.parametrize("size,blocks", [(16, 2), (32, 3), (64, 4)])
def test_generator_output_shape_range_and_block_count(size, blocks):
    torch.manual_seed(0)
    g = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=size)
    assert len(g.blocks) == blocks
    out = g(torch.randn(3, 10), torch.randn(3, 8))
    assert out.shape == (3, 3, size, size)
    assert out.abs().max() <= 1.0


def test_generator_depends_on_the_sentence():
    torch.manual_seed(0)
    g = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=16)
    with torch.no_grad():  # move the affine MLPs off their identity initialisation
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
    z = torch.randn(2, 10)
    assert not torch.allclose(g(z, torch.randn(2, 8)), g(z, torch.randn(2, 8)))


def test_discriminator_features_are_4x4_and_scores_per_sample():
    d = DFDiscriminator(nf=4, sentence_dim=8, image_size=32)
    x, s = torch.randn(5, 3, 32, 32), torch.randn(5, 8)
    feats = d.features(x)
    assert feats.shape == (5, 32, 4, 4)
    assert d.logits(feats, s).shape == (5,)
    assert torch.allclose(d(x, s), d.logits(feats, s))


def test_bad_inputs_name_the_tensor():
    g = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=16)
    with pytest.raises(InputError, match="sentence"):
        g(torch.randn(2, 10), torch.randn(2, 9))
    d = DFDiscriminator(nf=4, sentence_dim=8, image_size=16)
    with pytest.raises(InputError, match="images"):
        d(torch.randn(2, 3, 32, 32), torch.randn(2, 8))
    with pytest.raises(InputError, match="power of two"):
        DFGenerator(image_size=48)


def test_truncated_noise_is_bounded_and_reproducible():
    z = truncated_noise(256, 100, 0.88, generator=torch.Generator().manual_seed(1))
    assert z.abs().max() <= 2 * 0.88 + 1e-6
    assert torch.equal(z, truncated_noise(256, 100, 0.88, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(InputError):
        truncated_noise(2, 3, truncation=1.5)


def test_save_and_load_pretrained_round_trip(tmp_path):
    g = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=16)
    save_pretrained(g, tmp_path / "g")
    g2 = from_pretrained(tmp_path / "g")
    assert isinstance(g2, DFGenerator) and g2.config["nf"] == 4
    z, s = torch.randn(2, 10), torch.randn(2, 8)
    assert torch.equal(g.eval()(z, s), g2(z, s))


def _perturbed_generator(**kw):
    torch.manual_seed(0)
    g = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=32, **kw)
    with torch.no_grad():  # off the identity initialisation of the affine MLPs
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return g


def test_fused_affine_equals_the_per_block_affines_forward_and_backward():
    plain = _perturbed_generator()
    fused = DFGenerator(nf=4, z_dim=10, sentence_dim=8, image_size=32, fused_affine=True)
    fused.load_state_dict(plain.state_dict())  # the same parameter names: an old state dict loads as is
    assert list(fused.state_dict()) == list(plain.state_dict())
    z, s = torch.randn(3, 10), torch.randn(3, 8)
    out_plain, out_fused = plain(z, s), fused(z, s)
    assert torch.allclose(out_plain, out_fused, atol=1e-5, rtol=0)
    (out_plain * torch.linspace(-1, 1, out_plain.numel()).reshape(out_plain.shape)).sum().backward()
    (out_fused * torch.linspace(-1, 1, out_fused.numel()).reshape(out_fused.shape)).sum().backward()
    for (name, p), q in zip(plain.named_parameters(), fused.parameters()):
        scale = max(1.0, float(p.grad.abs().max()))
        assert torch.allclose(p.grad, q.grad, atol=1e-5 * scale, rtol=1e-5), name


def test_fused_affine_mlps_match_each_affine_module():
    g = _perturbed_generator(fused_affine=True)
    cond = torch.randn(5, 18)
    for mlp, got in zip(g._affine_mlps(), g.affine_params(cond)):
        assert torch.allclose(mlp(cond), got, atol=1e-5, rtol=0)


def test_shipped_generator_loads_into_the_fused_affine_and_draws_the_same_images():
    from wordsight.pipelines.text_to_image import SHIPPED_DIR

    old = from_pretrained(SHIPPED_DIR / "generator").eval()
    fused = DFGenerator(**{**old.config, "fused_affine": True}).eval()
    fused.load_state_dict(old.state_dict())
    z = truncated_noise(4, old.z_dim, generator=torch.Generator().manual_seed(3))
    s = torch.randn(4, old.sentence_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.allclose(old(z, s), fused(z, s), atol=1e-5, rtol=0)
    assert old.fused_affine is False  # folders saved before the option rebuild the per-block path
