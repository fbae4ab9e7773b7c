"""The converters of wordsight.models.official against the official layer order.

Each test takes a state dict with the official key names and shapes (fixtures/*_official_keys.json, at the
released models' sizes) and random values, converts it, checks that every key was used, and compares the
converted module with a forward written here from the official code's layer order (plain torch functional
ops on the official state dict): tobran/DF-GAN ``code/models/GAN.py``, taoxugit/AttnGAN ``code/model.py`` and
``code/GlobalAttention.py``, hanzhanggit/StackGAN-v2 ``code/model.py``.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from conftest import FIXTURES, load_keys, make_fixtures_module, random_state

from wordsight.models.official import (convert_attngan, convert_damsm_image_encoder, convert_dfgan, convert_stackgan2,
                                       damsm_text_encoder_options)
from wordsight.utils.checks import InputError

TOL = 1e-5


def max_diff(a, b) -> float:
    return (a - b).abs().max().item()


def leaky(x):
    return F.leaky_relu(x, 0.2)


def glu(x):
    nc = x.size(1) // 2
    return x[:, :nc] * torch.sigmoid(x[:, nc:])


def bn(s, p, x):
    return F.batch_norm(x, s[f"{p}.running_mean"], s[f"{p}.running_var"], s[f"{p}.weight"], s[f"{p}.bias"], False, 0.0, 1e-5)


def conv(s, p, x, stride=1, padding=0):
    return F.conv2d(x, s[f"{p}.weight"], s.get(f"{p}.bias"), stride, padding)


def lin(s, p, x):
    return F.linear(x, s[f"{p}.weight"], s.get(f"{p}.bias"))


# ------------------------------------------------------------------------------------------- DF-GAN
def ref_affine(s, p, x, y):
    weight = lin(s, f"{p}.fc_gamma.linear2", F.relu(lin(s, f"{p}.fc_gamma.linear1", y)))
    bias = lin(s, f"{p}.fc_beta.linear2", F.relu(lin(s, f"{p}.fc_beta.linear1", y)))
    return weight[:, :, None, None].expand(x.size()) * x + bias[:, :, None, None].expand(x.size())


def ref_dfblk(s, p, x, y):
    return leaky(ref_affine(s, f"{p}.affine1", leaky(ref_affine(s, f"{p}.affine0", x, y)), y))


def ref_netg(s, noise, c):
    """NetG.forward: fc -> view(8 ngf, 4, 4); cond = cat(noise, c); G_Blocks; to_rgb."""
    out = lin(s, "fc", noise).view(noise.size(0), -1, 4, 4)
    cond = torch.cat((noise, c), dim=1)
    i = 0
    while f"GBlocks.{i}.c1.weight" in s:
        p = f"GBlocks.{i}"
        x = F.interpolate(out, scale_factor=2)
        shortcut = conv(s, f"{p}.c_sc", x) if f"{p}.c_sc.weight" in s else x
        h = conv(s, f"{p}.c1", ref_dfblk(s, f"{p}.fuse1", x, cond), padding=1)
        h = conv(s, f"{p}.c2", ref_dfblk(s, f"{p}.fuse2", h, cond), padding=1)
        out = shortcut + h
        i += 1
    return torch.tanh(conv(s, "to_rgb.1", leaky(out), padding=1))


def ref_netd_netc(d, c, x, y):
    """NetD.forward (conv_img, D_Blocks: x = conv_s(x) only when fin != fout, avg-pool, + gamma * res) then NetC."""
    out = conv(d, "conv_img", x, padding=1)
    i = 0
    while f"DBlocks.{i}.gamma" in d:
        p = f"DBlocks.{i}"
        res = leaky(conv(d, f"{p}.conv_r.2", leaky(conv(d, f"{p}.conv_r.0", out, 2, 1)), padding=1))
        w = d[f"{p}.conv_s.weight"]
        sc = conv(d, f"{p}.conv_s", out) if w.shape[0] != w.shape[1] else out
        out = F.avg_pool2d(sc, 2) + d[f"{p}.gamma"] * res
        i += 1
    yy = y.view(-1, y.shape[1], 1, 1).repeat(1, 1, 4, 4)
    h = conv(c, "joint_conv.2", leaky(conv(c, "joint_conv.0", torch.cat((out, yy), 1), padding=1)))
    return h.view(-1)


@pytest.fixture(scope="module")
def dfgan_checkpoint():
    parts = load_keys("dfgan")
    model = {name: random_state(pairs, seed=i) for i, (name, pairs) in enumerate(parts.items())}
    return {"model": model, "optimizers": {"optimizer_G": {"state": {}, "param_groups": []}}, "epoch": 1220}


def test_dfgan_converts_every_key_and_matches_the_official_forward(dfgan_checkpoint):
    generator, discriminator = convert_dfgan(dfgan_checkpoint)
    g, d = generator.module, discriminator.module
    assert (g.nf, g.z_dim, g.sentence_dim, g.image_size) == (32, 100, 256, 256)
    model = dfgan_checkpoint["model"]
    assert sum(v.numel() for v in g.state_dict().values()) == sum(v.numel() for v in model["netG"].values())
    # the only keys not carried over: conv_s of D_Blocks whose width does not change (built, never applied)
    w = {k: v for k, v in model["netD"].items() if k.endswith("conv_s.weight")}
    never_used = {k.replace("weight", n) for k, v in w.items() if v.shape[0] == v.shape[1] for n in ("weight", "bias")}
    assert set(discriminator.unused) == never_used and len(never_used) == 6
    torch.manual_seed(0)
    noise, sentence = torch.randn(1, 100), torch.randn(1, 256)
    with torch.no_grad():
        images = g(noise, sentence)
        assert max_diff(images, ref_netg(model["netG"], noise, sentence)) < TOL
        x, y = torch.rand(2, 3, 256, 256) * 2 - 1, torch.randn(2, 256)
        scores, ref = d(x, y), ref_netd_netc(model["netD"], model["netC"], x, y)
        assert scores.shape == ref.shape == (2,) and max_diff(scores, ref) < TOL


def test_dfgan_bare_netg_and_ddp_prefix_and_errors(dfgan_checkpoint):
    netg = {f"module.{k}": v for k, v in dfgan_checkpoint["model"]["netG"].items()}
    generator, discriminator = convert_dfgan(netg)
    assert discriminator is None and generator.module.image_size == 256
    with pytest.raises(InputError, match="no place"):
        convert_dfgan({**dfgan_checkpoint["model"]["netG"], "extra.weight": torch.zeros(1)})
    broken = dict(dfgan_checkpoint["model"]["netG"])
    del broken["GBlocks.2.c1.bias"]
    with pytest.raises(InputError, match="lacks"):
        convert_dfgan(broken)
    with pytest.raises(InputError, match="not a DF-GAN checkpoint"):
        convert_dfgan({"ca_net.fc.weight": torch.zeros(4, 4)})


# ------------------------------------------------------------------------------------------- AttnGAN
def ref_upblock(s, p, x):
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    return glu(bn(s, f"{p}.2", conv(s, f"{p}.1", x, padding=1)))


def ref_resblock(s, p, x):
    h = glu(bn(s, f"{p}.block.1", conv(s, f"{p}.block.0", x, padding=1)))
    return bn(s, f"{p}.block.4", conv(s, f"{p}.block.3", h, padding=1)) + x


def ref_ca(s, sentence, eps):
    """CA_NET: GLU(fc(t)) -> mu, logvar; c = eps * std + mu (eps = 0: the mean)."""
    x = glu(lin(s, "ca_net.fc", sentence))
    c_dim = x.shape[1] // 2
    mu, logvar = x[:, :c_dim], x[:, c_dim:]
    return eps * logvar.mul(0.5).exp() + mu


def ref_init_stage(s, z, c):
    """INIT_STAGE_G: fc(cat(c_code, z_code)) -> BN1d -> GLU -> view(ngf, 4, 4) -> upsample1..4."""
    out = glu(bn(s, "h_net1.fc.1", F.linear(torch.cat((c, z), 1), s["h_net1.fc.0.weight"])))
    out = out.view(z.shape[0], -1, 4, 4)
    for i in range(1, 5):
        out = ref_upblock(s, f"h_net1.upsample{i}", out)
    return out


def ref_global_attention(s, p, x, words, mask):
    """GlobalAttentionGeneral.forward with applyMask(mask) (mask True at padding, repeated as the official code)."""
    b, _, ih, iw = x.shape
    query_len, source_len = ih * iw, words.size(2)
    target_t = x.view(b, -1, query_len).transpose(1, 2)
    source_t = F.conv2d(words.unsqueeze(3), s[f"{p}.weight"]).squeeze(3)
    attn = torch.bmm(target_t, source_t).view(b * query_len, source_len)
    attn = attn.masked_fill(mask.repeat(query_len, 1), -float("inf"))
    attn = torch.softmax(attn, dim=1).view(b, query_len, source_len).transpose(1, 2)
    return torch.bmm(source_t, attn).view(b, -1, ih, iw), attn.reshape(b, -1, ih, iw)


def ref_attngan(s, z, sentence, words, mask):
    """G_NET.forward (eps = 0): words [B, D, T], mask True at padding (``captions == 0``)."""
    c = ref_ca(s, sentence, 0.0)
    h = ref_init_stage(s, z, c)
    images, maps = [torch.tanh(conv(s, "img_net1.img.0", h, padding=1))], []
    n = 2
    while f"h_net{n}.att.conv_context.weight" in s:
        context, att = ref_global_attention(s, f"h_net{n}.att.conv_context", h, words, mask)
        h = torch.cat((h, context), 1)
        r = 0
        while f"h_net{n}.residual.{r}.block.0.weight" in s:
            h = ref_resblock(s, f"h_net{n}.residual.{r}", h)
            r += 1
        h = ref_upblock(s, f"h_net{n}.upsample", h)
        images.append(torch.tanh(conv(s, f"img_net{n}.img.0", h, padding=1)))
        maps.append(att)
        n += 1
    return images, maps


@pytest.mark.parametrize("name, gf_dim, r_num", [("attngan", 32, 2), ("attngan_coco", 48, 3)])
def test_attngan_converts_every_key_and_matches_the_official_forward(name, gf_dim, r_num):
    state = random_state(load_keys(name))
    g = convert_attngan(state).module
    assert (g.gf_dim, g.z_dim, g.c_dim, g.text_dim, g.branch_num, g.r_num, g.image_size) == (gf_dim, 100, 100, 256, 3, r_num, 256)
    assert sum(v.numel() for v in g.state_dict().values()) == sum(v.numel() for v in state.values())
    if name == "attngan_coco":
        return  # same code path at another width; the forward comparison runs on the bird layout
    torch.manual_seed(0)
    # batch of two captions of equal length (the official mask.repeat pairs rows with the right captions
    # only then, see test_attngan_masks_each_caption_by_its_own_words) and one alone
    for lengths in ([5, 5], [3]):
        b, t = len(lengths), 6
        z, sentence, words = torch.randn(b, 100), torch.randn(b, 256), torch.randn(b, t, 256)
        mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
        words = words * mask[..., None]
        with torch.no_grad():
            out = g.forward_with_attention(z, sentence, words, mask)
            ref_images, ref_maps = ref_attngan(state, z, sentence, words.transpose(1, 2), ~mask)
        for ours, theirs in zip(out.images, ref_images):
            assert ours.shape == theirs.shape and max_diff(ours, theirs) < TOL
        for ours, theirs in zip(out.attention, ref_maps):
            assert max_diff(ours, theirs) < TOL


def test_attngan_masks_each_caption_by_its_own_words():
    """With captions of different lengths in one batch the official ``mask.repeat(queryL, 1)`` gives rows of
    one caption the mask of another; wordsight masks each caption by its own words (eq. 2), which equals the
    official forward run one caption at a time."""
    state = random_state(load_keys("attngan"))
    g = convert_attngan(state).module
    torch.manual_seed(1)
    lengths, t = [2, 6], 6
    z, sentence, words = torch.randn(2, 100), torch.randn(2, 256), torch.randn(2, t, 256)
    mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
    words = words * mask[..., None]
    with torch.no_grad():
        ours = g(z, sentence, words, mask)[-1]
        alone = torch.cat([ref_attngan(state, z[i:i + 1], sentence[i:i + 1], words[i:i + 1].transpose(1, 2), ~mask[i:i + 1])[0][-1]
                           for i in range(2)])
        batched = ref_attngan(state, z, sentence, words.transpose(1, 2), ~mask)[0][-1]
    assert max_diff(ours, alone) < TOL
    assert max_diff(ours, batched) > 1e-3


def test_attngan_without_num_batches_tracked_converts():
    """Files saved by PyTorch < 0.4.1 have no batch-norm counters."""
    state = {k: v for k, v in random_state(load_keys("attngan")).items() if not k.endswith("num_batches_tracked")}
    assert convert_attngan(state).module.branch_num == 3


# ------------------------------------------------------------------------------------------- StackGAN-v2
def ref_stackgan2(s, z, sentence):
    """G_NET.forward with B_CONDITION (eps = 0); NEXT_STAGE_G: cat(c tiled, h) -> jointConv -> residual -> upsample."""
    s = {k[len("module."):]: v for k, v in s.items()}
    c = ref_ca(s, sentence, 0.0)
    h = ref_init_stage(s, z, c)
    images = [torch.tanh(conv(s, "img_net1.img.0", h, padding=1))]
    n = 2
    while f"h_net{n}.jointConv.0.weight" in s:
        size = h.size(2)
        cc = c.view(-1, c.shape[1], 1, 1).repeat(1, 1, size, size)
        h = glu(bn(s, f"h_net{n}.jointConv.1", conv(s, f"h_net{n}.jointConv.0", torch.cat((cc, h), 1), padding=1)))
        r = 0
        while f"h_net{n}.residual.{r}.block.0.weight" in s:
            h = ref_resblock(s, f"h_net{n}.residual.{r}", h)
            r += 1
        h = ref_upblock(s, f"h_net{n}.upsample", h)
        images.append(torch.tanh(conv(s, f"img_net{n}.img.0", h, padding=1)))
        n += 1
    return images


def test_stackgan2_converts_every_key_and_matches_the_official_forward():
    state = random_state(load_keys("stackgan2"))
    assert all(k.startswith("module.") for k in state)  # saved from nn.DataParallel
    g = convert_stackgan2(state).module
    assert (g.gf_dim, g.z_dim, g.c_dim, g.sentence_dim, g.branch_num, g.image_size) == (64, 100, 128, 1024, 3, 256)
    assert sum(v.numel() for v in g.state_dict().values()) == sum(v.numel() for v in state.values())
    torch.manual_seed(0)
    z, sentence = torch.randn(2, 100), torch.randn(2, 1024)
    with torch.no_grad():
        for ours, theirs in zip(g(z, sentence), ref_stackgan2(state, z, sentence)):
            assert ours.shape == theirs.shape and max_diff(ours, theirs) < TOL


def test_stackgan2_unconditional_models_are_refused():
    state = {k: v for k, v in random_state(load_keys("stackgan2")).items() if "ca_net" not in k}
    with pytest.raises(InputError, match="unconditional"):
        convert_stackgan2(state)


# ------------------------------------------------------------------------------------------- DAMSM
def ref_lstm_direction(x, w_ih, w_hh, b_ih, b_hh):
    """One direction of nn.LSTM over x [L, D] (gates i, f, g, o): outputs [L, H], final h."""
    h = x.new_zeros(w_hh.shape[1])
    c = torch.zeros_like(h)
    outs = []
    for t in range(x.shape[0]):
        i, f, g, o = (x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h


def ref_rnn_encoder(s, ids, lengths):
    """RNN_ENCODER.forward in eval mode: embedding, packed bidirectional LSTM; words [B, 2H, T] (zero past the
    length), sentence = cat of both directions' final states."""
    words, sentences = [], []
    for b in range(ids.shape[0]):
        x = F.embedding(ids[b, : lengths[b]], s["encoder.weight"])
        fw, h_fw = ref_lstm_direction(x, *(s[f"rnn.{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
        bw, h_bw = ref_lstm_direction(x.flip(0), *(s[f"rnn.{n}_l0_reverse"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
        out = torch.cat((fw, bw.flip(0)), 1)
        words.append(F.pad(out, (0, 0, 0, ids.shape[1] - lengths[b])).T)
        sentences.append(torch.cat((h_fw, h_bw)))
    return torch.stack(words), torch.stack(sentences)


def test_damsm_text_encoder_converts_and_matches_the_official_forward():
    from wordsight.text.bilstm import DAMSMTextEncoder
    from wordsight.text.tokenizer import Vocabulary

    state = random_state(load_keys("damsm_text"))
    state, options = damsm_text_encoder_options(state)
    assert options == {"vocab_size": 64, "embedding_dim": 300, "hidden_dim": 256}
    vocab = Vocabulary(tuple(["<end>"] + [f"w{i}" for i in range(63)]), unk_token=None)
    encoder = DAMSMTextEncoder.from_vocabulary(vocab, embedding_dim=300, hidden_dim=256)
    encoder.load_state_dict(state)  # strict: the names are RNN_ENCODER's
    encoder.eval()
    ids = torch.tensor([[5, 9, 3, 7, 0], [11, 2, 0, 0, 0]])
    lengths = torch.tensor([4, 2])
    with torch.no_grad():
        feats = encoder(ids, lengths)
        words, sentence = ref_rnn_encoder(state, ids, lengths)
    assert max_diff(feats.words.transpose(1, 2), words) < TOL
    assert max_diff(feats.sentence, sentence) < TOL
    with pytest.raises(InputError, match="multi-layer"):
        damsm_text_encoder_options({**state, "rnn.weight_ih_l1": torch.zeros(1)})


def ref_cnn_encoder(s, x):
    """CNN_ENCODER.forward: resize to 299, the Inception-v3 trunk (torchvision's modules, as the official code
    builds it) with the two max pools, regions after Mixed_6e, 8x8 average pool after Mixed_7c, projections."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=False, init_weights=False)
    missing, _ = net.load_state_dict({k: v for k, v in s.items() if not k.startswith("emb_")}, strict=False)
    assert all(k.startswith("fc.") for k in missing)
    net.eval()
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = net.Conv2d_2b_3x3(net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(x)))
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    x = F.max_pool2d(net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x)), kernel_size=3, stride=2)
    for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        x = getattr(net, name)(x)
    features = x
    x = net.Mixed_7c(net.Mixed_7b(net.Mixed_7a(x)))
    x = F.avg_pool2d(x, kernel_size=8).view(x.size(0), -1)
    return F.conv2d(features, s["emb_features.weight"]), lin(s, "emb_cnn_code", x)


def test_damsm_image_encoder_converts_and_matches_the_official_forward():
    state = random_state(load_keys("damsm_image"))
    encoder = convert_damsm_image_encoder(state).module
    assert encoder.embed_dim == 256
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        regions, pooled = encoder(x)
        ref_regions, ref_pooled = ref_cnn_encoder(state, x)
    assert regions.shape == (2, 256, 17, 17)
    assert max_diff(regions, ref_regions) < TOL and max_diff(pooled, ref_pooled) < TOL


def test_fixtures_are_what_make_fixtures_writes(tmp_path, monkeypatch):
    module = make_fixtures_module()
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    for path in sorted(FIXTURES.glob("*.json")):
        assert json.loads((tmp_path / path.name).read_text()) == json.loads(path.read_text()), path.name
