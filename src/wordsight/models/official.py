"""The released weights of the official repositories, mapped onto wordsight's model classes.

One function per system takes the state dict of an official file (already read with
``torch.load(weights_only=True)``, :func:`wordsight.hub.load_torch_state_dict`) and returns the wordsight
module with those weights, its configuration read from the tensor shapes:

* :func:`convert_dfgan` - tobran/DF-GAN ``state_epoch_*.pth`` (``{"model": {"netG", "netD", "netC"},
  "optimizers", "epoch"}``; ``code/models/GAN.py`` NetG / NetD / NetC) -> :class:`DFGenerator` and
  :class:`DFDiscriminator`;
* :func:`convert_attngan` - taoxugit/AttnGAN ``netG_epoch_*.pth`` (``code/model.py`` G_NET) ->
  :class:`AttnGANGenerator`;
* :func:`convert_stackgan2` - hanzhanggit/StackGAN-v2 ``netG_*.pth`` (``code/model.py`` G_NET, saved from
  ``nn.DataParallel``) -> :class:`StackGANPPGenerator`;
* :func:`convert_damsm_image_encoder` - AttnGAN's ``image_encoder*.pth`` (CNN_ENCODER) ->
  :class:`InceptionDAMSMImageEncoder`; :func:`damsm_text_encoder_options` reads the sizes of a
  ``text_encoder*.pth`` (RNN_ENCODER, whose names ``DAMSMTextEncoder`` keeps), which the caller builds
  with the ``captions.pickle`` vocabulary (models do not import ``text``).

Every official key is used or named in the error: a leftover or a missing tensor is an InputError listing
them. The only keys read and not used are those the official forward never reads (DF-GAN's ``conv_s`` of
discriminator blocks whose widths do not change); files from PyTorch < 0.4.1 lack the batch-norm
``num_batches_tracked`` counters, which are then left at zero (they do not enter an eval-mode forward).

Layout differences that change nothing once the weights are mapped:

* AttnGAN and StackGAN-v2 feed ``cat(c, z)`` to the first linear layer, wordsight ``cat(z, c)``: the
  columns of that weight are swapped;
* AttnGAN's word projection is a 1x1 convolution, wordsight's a linear layer: the weight is reshaped.

A difference that stays: the official sampling scripts draw the conditioning-augmentation code
c ~ N(mu, sigma) at test time too; wordsight's conditioning augmentation uses c = mu in eval mode, so a
converted AttnGAN / StackGAN-v2 varies its images through z only.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, NamedTuple

import torch
from torch import nn

from ..utils.checks import InputError
from .attngan import AttnGANGenerator
from .damsm import INCEPTION_TRUNK_MODULES, InceptionDAMSMImageEncoder
from .dfgan import DFDiscriminator, DFGenerator
from .stackgan_pp import StackGANPPGenerator

__all__ = ["Converted", "convert_attngan", "convert_damsm_image_encoder", "convert_dfgan", "convert_stackgan2",
           "damsm_text_encoder_options", "strip_module_prefix", "dfgan_parts"]

Tensors = Mapping[str, torch.Tensor]


class Converted(NamedTuple):
    """A converted module and the official keys read but unused (each unused by the official forward too)."""

    module: nn.Module
    unused: tuple[str, ...] = ()


def strip_module_prefix(state: Tensors) -> dict[str, torch.Tensor]:
    """Keys without the ``module.`` prefix that ``nn.DataParallel`` / DDP add (StackGAN-v2, DF-GAN)."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def _tensors(state: object, what: str) -> dict[str, torch.Tensor]:
    if not isinstance(state, Mapping) or not state:
        raise InputError(f"{what}: expected a state dict of tensors, got {type(state).__name__}")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(f"{what}: not a state dict of tensors (entries {bad[:5]} are not named tensors)")
    return strip_module_prefix(state)


def _need(state: Tensors, key: str, what: str, ndim: int | None = None) -> torch.Tensor:
    if key not in state:
        raise InputError(f"{what}: no {key!r}; not this system's checkpoint? (keys start with {sorted(state)[:5]})")
    t = state[key]
    if ndim is not None and t.dim() != ndim:
        raise InputError(f"{what}: {key} has shape {tuple(t.shape)}, expected {ndim} dimensions")
    return t


def _count(state: Tensors, pattern: str) -> int:
    """How many consecutive indices i >= 0 (or >= 1 with a literal 1 in ``pattern``) have a key matching."""
    found = {int(m.group(1)) for k in state for m in [re.match(pattern, k)] if m}
    n = 0
    while (min(found, default=0) + n) in found:
        n += 1
    return n


def _rename(state: Tensors, rules: list[tuple[str, str | Callable[[re.Match], str]]]) -> dict[str, str]:
    """official key -> wordsight key, the first matching rule applied; unmatched keys are left out."""
    out = {}
    for key in state:
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key, count=1)
            if n:
                out[key] = new
                break
    return out


def _load(module: nn.Module, state: Tensors, names: dict[str, str], what: str, ignored: set[str] = frozenset(),
          transforms: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] | None = None) -> Converted:
    """Copy ``state`` into ``module`` by ``names`` (official -> ours), checking that every official key is
    used (or in ``ignored``) and that every tensor of ``module`` is given (``num_batches_tracked`` may be
    missing: old files)."""
    transforms = transforms or {}
    leftover = sorted(k for k in state if k not in names and k not in ignored)
    if leftover:
        raise InputError(f"{what}: {len(leftover)} official tensors have no place in {type(module).__name__}: {leftover[:8]}")
    target = module.state_dict()
    mapped = {}
    for official, ours in names.items():
        value = state[official]
        if ours in transforms:
            value = transforms[ours](value)
        if ours not in target:
            raise InputError(f"{what}: {official} maps to {ours}, which {type(module).__name__} does not have")
        if tuple(value.shape) != tuple(target[ours].shape):
            raise InputError(f"{what}: {official} has shape {tuple(state[official].shape)}, "
                             f"{type(module).__name__}.{ours} needs {tuple(target[ours].shape)}")
        mapped[ours] = value.to(target[ours].dtype)
    missing = sorted(k for k in target if k not in mapped and not k.endswith("num_batches_tracked"))
    if missing:
        raise InputError(f"{what}: the file lacks {len(missing)} tensors {type(module).__name__} needs "
                         f"(official names unknown for: {missing[:8]})")
    module.load_state_dict(mapped, strict=False)
    return Converted(module.eval(), tuple(sorted(ignored & set(state))))


def _swap_columns(first: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """W for cat(a, b) with ``first`` = dim(a) -> the same map for cat(b, a)."""
    def swap(w: torch.Tensor) -> torch.Tensor:
        return torch.cat((w[:, first:], w[:, :first]), dim=1)
    return swap


# ---------------------------------------------------------------------------------------------- DF-GAN
def dfgan_parts(checkpoint: Mapping) -> dict[str, dict[str, torch.Tensor]]:
    """``{"netG": ..., "netD": ..., "netC": ...}`` of a DF-GAN ``state_epoch_*.pth``; a bare NetG state dict
    (keys ``fc.*``, ``GBlocks.*``) gives ``{"netG": ...}``. The optimizer states and the epoch are not weights."""
    model = checkpoint.get("model") if isinstance(checkpoint, Mapping) else None
    if isinstance(model, Mapping):
        if "netG" not in model:
            raise InputError(f"DF-GAN checkpoint: 'model' holds {sorted(model)}, no 'netG'")
        return {name: _tensors(model[name], f"DF-GAN {name}") for name in ("netG", "netD", "netC") if name in model}
    state = _tensors(checkpoint, "DF-GAN checkpoint")
    if not any(k.startswith("GBlocks.") for k in state):
        raise InputError("not a DF-GAN checkpoint: neither a state_epoch_*.pth dict ({'model': {'netG', ...}}) "
                         f"nor a NetG state dict (keys start with {sorted(state)[:5]})")
    return {"netG": state}


def convert_dfgan(checkpoint: Mapping) -> tuple[Converted, Converted | None]:
    """(generator, discriminator or None) from a DF-GAN checkpoint (see :func:`dfgan_parts`).

    Read from the shapes: nf from ``fc`` (nf * 8 * 4 * 4 outputs), z_dim its inputs, the sentence size from
    the first affine layer (cond = z + sentence), the image size from the number of G blocks (4 * 2**n)."""
    parts = dfgan_parts(checkpoint)
    g_state = parts["netG"]
    fc = _need(g_state, "fc.weight", "DF-GAN netG", 2)
    nf, rem = divmod(fc.shape[0], 8 * 16)
    if rem or nf < 1:
        raise InputError(f"DF-GAN netG: fc.weight has {fc.shape[0]} outputs, not nf * 8 * 4 * 4")
    z_dim = fc.shape[1]
    blocks = _count(g_state, r"GBlocks\.(\d+)\.")
    cond = _need(g_state, "GBlocks.0.fuse1.affine0.fc_gamma.linear1.weight", "DF-GAN netG", 2).shape[1]
    rgb = _need(g_state, "to_rgb.1.weight", "DF-GAN netG", 4)
    image_size = 4 << blocks
    g = DFGenerator(nf=nf, z_dim=z_dim, sentence_dim=cond - z_dim, image_size=image_size, out_channels=rgb.shape[0])
    names = _rename(g_state, [
        (r"^GBlocks\.(\d+)\.(fuse\d\.affine\d\.fc_(?:gamma|beta))\.linear1\.", r"blocks.\1.\2.0."),
        (r"^GBlocks\.(\d+)\.(fuse\d\.affine\d\.fc_(?:gamma|beta))\.linear2\.", r"blocks.\1.\2.2."),
        (r"^GBlocks\.(\d+)\.", r"blocks.\1."),
        (r"^(fc|to_rgb\.1)\.", r"\1."),
    ])
    generator = _load(g, g_state, names, "DF-GAN netG")
    if "netD" not in parts:
        return generator, None
    if "netC" not in parts:
        raise InputError("DF-GAN checkpoint: netD without netC (the conditional head)")
    d_state, c_state = parts["netD"], parts["netC"]
    in_channels = _need(d_state, "conv_img.weight", "DF-GAN netD", 4).shape[1]
    d = DFDiscriminator(nf=nf, sentence_dim=cond - z_dim, image_size=image_size, in_channels=in_channels)
    names = _rename(d_state, [(r"^DBlocks\.(\d+)\.", r"blocks.\1."), (r"^conv_img\.", "conv_img.")])
    # D_Block builds conv_s always but uses it only when the width changes (learned_shortcut)
    unused = {k for k, v in names.items() if re.match(r"blocks\.\d+\.conv_s\.", v) and v not in d.state_dict()}
    for k in unused:
        del names[k]
    joint = {f"netC.{k}": v for k, v in c_state.items()}
    names.update(_rename(joint, [(r"^netC\.joint_conv\.", "joint_conv.")]))
    discriminator = _load(d, {**d_state, **joint}, names, "DF-GAN netD + netC", ignored=unused)
    return generator, discriminator


# ---------------------------------------------------------------------------------------------- AttnGAN
def convert_attngan(state: Mapping) -> Converted:
    """AttnGAN's G_NET state dict (``netG_epoch_600.pth``, ``bird_AttnGAN2.pth``, ``coco_AttnGAN2.pth``) ->
    :class:`AttnGANGenerator`. gf_dim from the image convs, c_dim / text_dim from CA_NET, z_dim from the
    first linear layer, branches and residual blocks by counting."""
    state = _tensors(state, "AttnGAN netG")
    what = "AttnGAN netG"
    ca = _need(state, "ca_net.fc.weight", what, 2)
    c_dim, text_dim = ca.shape[0] // 4, ca.shape[1]
    gf_dim = _need(state, "img_net1.img.0.weight", what, 4).shape[1]
    fc = _need(state, "h_net1.fc.0.weight", what, 2)
    z_dim = fc.shape[1] - c_dim
    branches = _count(state, r"h_net(\d+)\.")
    r_num = _count(state, r"h_net2\.residual\.(\d+)\.") if branches > 1 else 2
    if branches > 1:
        words = _need(state, "h_net2.att.conv_context.weight", what, 4).shape[1]
        if words != text_dim:
            raise InputError(f"{what}: word features of {words} dims but sentence features of {text_dim}: "
                             "wordsight's AttnGAN takes both from one DAMSM text encoder")
    for n in range(3, branches + 1):
        if _count(state, rf"h_net{n}\.residual\.(\d+)\.") != r_num:
            raise InputError(f"{what}: stage {n} has a different number of residual blocks than stage 2")
    ups = _count(state, r"h_net1\.upsample(\d+)\.")
    g = AttnGANGenerator(gf_dim=gf_dim, z_dim=z_dim, text_dim=text_dim, c_dim=c_dim, base_size=4 << ups,
                         branch_num=branches, r_num=r_num)
    names = _rename(state, [
        (r"^ca_net\.fc\.", "ca.fc."),
        (r"^h_net1\.fc\.", "init.fc."),
        (r"^h_net1\.upsample(\d+)\.", lambda m: f"init.up.{int(m.group(1)) - 1}."),
        (r"^h_net(\d+)\.att\.conv_context\.weight$", lambda m: f"stages.{int(m.group(1)) - 2}.attention.project.weight"),
        (r"^h_net(\d+)\.(residual|upsample)\.",
         lambda m: f"stages.{int(m.group(1)) - 2}.{'up' if m.group(2) == 'upsample' else 'residual'}."),
        (r"^img_net(\d+)\.img\.0\.", lambda m: f"to_rgb.{int(m.group(1)) - 1}.0."),
    ])
    transforms = {"init.fc.0.weight": _swap_columns(c_dim)}  # INIT_STAGE_G: cat(c_code, z_code)
    for s in range(branches - 1):
        transforms[f"stages.{s}.attention.project.weight"] = lambda w: w.reshape(w.shape[0], w.shape[1])
    return _load(g, state, names, what, transforms=transforms)


# ---------------------------------------------------------------------------------------------- StackGAN-v2
_STACKGAN2_PARTS = {"jointConv": "joint", "residual": "residual", "upsample": "up"}  # NEXT_STAGE_G -> _NextBranch

def convert_stackgan2(state: Mapping) -> Converted:
    """StackGAN-v2's text-conditioned G_NET state dict (``netG_*.pth``, keys ``module.*``) ->
    :class:`StackGANPPGenerator`. The unconditional models (dog, cat, bedroom, church) have no CA_NET and
    condition the later stages on z: wordsight's StackGAN++ has no such mode, so they are refused."""
    state = _tensors(state, "StackGAN-v2 netG")
    what = "StackGAN-v2 netG"
    if "ca_net.fc.weight" not in state and "h_net1.fc.0.weight" in state:
        raise InputError(f"{what}: an unconditional model (no ca_net; B_CONDITION False): wordsight converts the "
                         "text-conditioned ones (birds)")
    ca = _need(state, "ca_net.fc.weight", what, 2)
    c_dim, sentence_dim = ca.shape[0] // 4, ca.shape[1]
    gf_dim = _need(state, "img_net1.img.0.weight", what, 4).shape[1]
    z_dim = _need(state, "h_net1.fc.0.weight", what, 2).shape[1] - c_dim
    branches = _count(state, r"h_net(\d+)\.")
    r_num = _count(state, r"h_net2\.residual\.(\d+)\.") if branches > 1 else 2
    for n in range(3, branches + 1):
        if _count(state, rf"h_net{n}\.residual\.(\d+)\.") != r_num:
            raise InputError(f"{what}: stage {n} has a different number of residual blocks than stage 2 "
                             "(the 4- and 5-branch layouts): wordsight's StackGAN++ uses one r_num")
    ups = _count(state, r"h_net1\.upsample(\d+)\.")
    g = StackGANPPGenerator(gf_dim=gf_dim, z_dim=z_dim, sentence_dim=sentence_dim, c_dim=c_dim, base_size=4 << ups,
                            branch_num=branches, r_num=r_num)
    names = _rename(state, [
        (r"^ca_net\.fc\.", "ca.fc."),
        (r"^h_net1\.fc\.", "fc."),
        (r"^h_net1\.upsample(\d+)\.", lambda m: f"init_up.{int(m.group(1)) - 1}."),
        (r"^h_net(\d+)\.(jointConv|residual|upsample)\.",
         lambda m: f"branches.{int(m.group(1)) - 2}.{_STACKGAN2_PARTS[m.group(2)]}."),
        (r"^img_net(\d+)\.img\.0\.", lambda m: f"to_rgb.{int(m.group(1)) - 1}.0."),
    ])
    return _load(g, state, names, what, transforms={"fc.0.weight": _swap_columns(c_dim)})  # cat(c_code, z_code)


# ---------------------------------------------------------------------------------------------- DAMSM
def convert_damsm_image_encoder(state: Mapping) -> Converted:
    """AttnGAN's CNN_ENCODER state dict (``image_encoder*.pth``: the Inception-v3 trunk it was built from and
    the two trained projections) -> :class:`InceptionDAMSMImageEncoder` (same names). The trunk comes from
    the file, so torchvision's Inception file is not needed."""
    state = _tensors(state, "DAMSM image encoder")
    embed_dim = _need(state, "emb_cnn_code.weight", "DAMSM image encoder", 2).shape[0]
    encoder = InceptionDAMSMImageEncoder(embed_dim=embed_dim, weights=None)
    names = {k: k for k in state if k.split(".", 1)[0] in (*INCEPTION_TRUNK_MODULES, "emb_features", "emb_cnn_code")}
    return _load(encoder, state, names, "DAMSM image encoder")


_LSTM_KEYS = ("weight_ih_l{}", "weight_hh_l{}", "bias_ih_l{}", "bias_hh_l{}")


def damsm_text_encoder_options(state: Mapping) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """(the state dict, ``DAMSMTextEncoder`` options) of AttnGAN's RNN_ENCODER (``text_encoder*.pth``): a
    one-layer bidirectional LSTM over an embedding. Returns ``vocab_size`` (rows of the embedding, which must
    equal the ``captions.pickle`` vocabulary), ``embedding_dim`` and ``hidden_dim`` (both directions)."""
    state = _tensors(state, "DAMSM text encoder")
    what = "DAMSM text encoder"
    emb = _need(state, "encoder.weight", what, 2)
    if "rnn.weight_ih_l1" in state:
        raise InputError(f"{what}: a multi-layer LSTM; the official sentence vector (all layers' final states) "
                         "and wordsight's (the last layer's) differ there")
    if "rnn.weight_ih_l0_reverse" not in state:
        raise InputError(f"{what}: not bidirectional (no rnn.*_reverse): AttnGAN's RNN_ENCODER is")
    expected = {f"rnn.{k.format(0)}{suffix}" for k in _LSTM_KEYS for suffix in ("", "_reverse")} | {"encoder.weight"}
    extra, missing = sorted(set(state) - expected), sorted(expected - set(state))
    if extra or missing:
        raise InputError(f"{what}: unexpected {extra[:5]}, missing {missing[:5]} (a GRU text encoder is not supported)")
    hidden = _need(state, "rnn.weight_hh_l0", what, 2).shape[1]
    return state, {"vocab_size": emb.shape[0], "embedding_dim": emb.shape[1], "hidden_dim": 2 * hidden}
