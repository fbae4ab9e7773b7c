"""DAMSM image encoders (AttnGAN, Xu et al. CVPR 2018, sec. 3.3; ``CNN_ENCODER`` in taoxugit/AttnGAN
``code/model.py``).

An image encoder maps RGB images in [-1, 1], float [B, 3, H, W], to

- region features ``v``  [B, D, R_h, R_w]: one D-vector per sub-region (AttnGAN eq. 6, v = W f), and
- a global feature ``v_bar`` [B, D] (eq. 6, v_bar = W_bar f_bar),

both in the multimodal space of the DAMSM text encoder (D = 256). Two encoders:

- :class:`InceptionDAMSMImageEncoder`: AttnGAN's encoder. torchvision's ImageNet Inception-v3 up to
  ``Mixed_6e`` (768 x 17 x 17 regions) and on to ``Mixed_7c`` + 8x8 average pooling (2048-d global),
  input resized to 299 x 299 (bilinear); a 1x1 convolution 768 -> D and a linear layer 2048 -> D are the
  only trained parameters. The trunk is frozen and always runs in eval mode.
- :class:`SmallDAMSMImageEncoder`: a small CNN trained from scratch, sized for the synthetic world
  (e.g. 64 px input, 8 x 8 regions), with the same projection heads.

Module names follow AttnGAN (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``emb_features``, ``emb_cnn_code``), so a
released ``image_encoder*.pth`` state dict loads with :func:`load_attngan_image_encoder_state`.

A trained DAMSM is saved as one folder (``wordsight train damsm --out runs/damsm``) holding both encoders:
``text_encoder/`` (:data:`TEXT_ENCODER_DIR`, a ``wordsight.text.DAMSMTextEncoder``) and ``image_encoder/``
(:data:`IMAGE_ENCODER_DIR`); every reader goes through :func:`load_damsm_part` or :func:`load_damsm_pair`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import CONFIG_NAME, from_pretrained, load_torch_state_dict, register_model
from ..utils.checks import InputError, check_shape

__all__ = [
    "DAMSM_EMBED_DIM",
    "DAMSM_PARTS",
    "IMAGE_ENCODER_DIR",
    "INCEPTION_INPUT_SIZE",
    "INCEPTION_V3_FILENAME",
    "INCEPTION_TRUNK_MODULES",
    "InceptionDAMSMImageEncoder",
    "SmallDAMSMImageEncoder",
    "TEXT_ENCODER_DIR",
    "check_images",
    "damsm_part_folder",
    "default_inception_v3_path",
    "load_attngan_image_encoder_state",
    "load_damsm_pair",
    "load_damsm_part",
    "read_torchvision_inception_v3_state",
]

DAMSM_EMBED_DIM = 256  # AttnGAN cfg.TEXT.EMBEDDING_DIM (the multimodal space D)
INCEPTION_INPUT_SIZE = 299
INCEPTION_V3_FILENAME = "inception_v3_google-0cc3c7bd.pth"  # torchvision's ImageNet Inception-v3
HEAD_INIT_RANGE = 0.1  # AttnGAN CNN_ENCODER.init_trainable_weights: U(-0.1, 0.1) on both projections
# the sub-folders of a `wordsight train damsm` output folder
TEXT_ENCODER_DIR = "text_encoder"
IMAGE_ENCODER_DIR = "image_encoder"
DAMSM_PARTS = (TEXT_ENCODER_DIR, IMAGE_ENCODER_DIR)

# The trunk in forward order; the ``region`` features are read after Mixed_6e (AttnGAN CNN_ENCODER).
INCEPTION_TRUNK_MODULES: tuple[str, ...] = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    "Mixed_7a", "Mixed_7b", "Mixed_7c",
)
_REGION_CHANNELS, _GLOBAL_CHANNELS = 768, 2048


def check_images(name: str, images: torch.Tensor) -> dict[str, int]:
    """Images must be float [B, 3, H, W] (RGB in [-1, 1]); the error names the tensor."""
    dims = check_shape(name, images, ["B", 3, "H", "W"])
    if not images.is_floating_point():
        raise InputError(f"{name}: expected a float tensor in [-1, 1], got dtype {images.dtype}")
    return dims


class _DAMSMHeads(nn.Module):
    """The trained projections of AttnGAN eq. 6: ``emb_features`` (1x1 conv, no bias) for the regions,
    ``emb_cnn_code`` (linear) for the global vector."""

    def __init__(self, region_channels: int, global_channels: int, embed_dim: int):
        super().__init__()
        self.emb_features = nn.Conv2d(region_channels, embed_dim, kernel_size=1, bias=False)
        self.emb_cnn_code = nn.Linear(global_channels, embed_dim)
        nn.init.uniform_(self.emb_features.weight, -HEAD_INIT_RANGE, HEAD_INIT_RANGE)
        nn.init.uniform_(self.emb_cnn_code.weight, -HEAD_INIT_RANGE, HEAD_INIT_RANGE)


# ---------------------------------------------------------------------------------------------------
# Inception-v3 (AttnGAN)


def default_inception_v3_path() -> Path:
    """``$WORDSIGHT_INCEPTION_V3`` if set, else ``<torch hub>/checkpoints/inception_v3_google-0cc3c7bd.pth``."""
    env = os.environ.get("WORDSIGHT_INCEPTION_V3")
    if env:
        return Path(env).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_V3_FILENAME


def read_torchvision_inception_v3_state(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The trunk tensors (``Conv2d_1a_3x3`` .. ``Mixed_7c``) of torchvision's Inception-v3 file.

    ``.pth`` is read with ``torch.load(weights_only=True)`` (no code is unpickled), ``.safetensors`` with
    safetensors. ``AuxLogits`` and ``fc`` are dropped. Nothing is downloaded.
    """
    path = Path(path).expanduser() if path is not None else default_inception_v3_path()
    if not path.is_file():
        raise InputError(
            f"Inception-v3 weights not found: {path}. Copy torchvision's {INCEPTION_V3_FILENAME} "
            f"(https://download.pytorch.org/models/{INCEPTION_V3_FILENAME}, fetched on a machine with internet) "
            "there, or point $WORDSIGHT_INCEPTION_V3 at it (a .safetensors conversion with the same keys also works)."
        )
    state = load_torch_state_dict(path, "Inception-v3")
    trunk = {k: v for k, v in state.items() if k.split(".", 1)[0] in INCEPTION_TRUNK_MODULES}
    if not trunk:
        raise InputError(f"{path}: not a torchvision Inception-v3 state dict (no Conv2d_1a_3x3 / Mixed_* keys)")
    return trunk


@register_model("damsm_inception_image_encoder")
class InceptionDAMSMImageEncoder(nn.Module):
    """AttnGAN's DAMSM image encoder: frozen ImageNet Inception-v3 trunk + trained projections.

    Args:
        embed_dim: D, the multimodal feature size (AttnGAN 256).
        weights: path of torchvision's ``inception_v3_google-0cc3c7bd.pth`` (or a .safetensors copy);
            ``"default"`` = :func:`default_inception_v3_path`; None = random trunk (tests only).

    ``forward(images [B,3,H,W] in [-1,1]) -> (regions [B,D,17,17], global [B,D])``. The Google weights
    expect inputs in [-1, 1] (what torchvision's ``transform_input`` produces), so images enter unchanged,
    as in AttnGAN. Unlike AttnGAN's ``pretrain_DAMSM.py``, which calls ``.train()`` on the whole encoder
    and so runs the frozen trunk's batch norms on batch statistics, the trunk here stays in eval mode.
    """

    def __init__(self, embed_dim: int = DAMSM_EMBED_DIM, weights: str | None = "default"):
        super().__init__()
        from torchvision.models import inception_v3  # torchvision is heavy; only this encoder needs it

        if embed_dim < 1:
            raise InputError(f"embed_dim must be >= 1, got {embed_dim}")
        self.embed_dim = embed_dim
        # init_weights=False: skip torchvision's slow truncated-normal init (the trunk is loaded or, in tests, random)
        net = inception_v3(weights=None, aux_logits=False, init_weights=False)
        if weights is not None:
            state = read_torchvision_inception_v3_state(None if weights == "default" else weights)
            missing, _ = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if k.split(".", 1)[0] in INCEPTION_TRUNK_MODULES]
            if missing:
                raise InputError(f"{weights}: Inception-v3 trunk weights missing: {missing[:5]}")
        for name in INCEPTION_TRUNK_MODULES:
            setattr(self, name, getattr(net, name))
        heads = _DAMSMHeads(_REGION_CHANNELS, _GLOBAL_CHANNELS, embed_dim)
        self.emb_features, self.emb_cnn_code = heads.emb_features, heads.emb_cnn_code
        for module in self.trunk_modules():
            module.requires_grad_(False)
            module.eval()

    def trunk_modules(self) -> list[nn.Module]:
        return [getattr(self, name) for name in INCEPTION_TRUNK_MODULES]

    def train(self, mode: bool = True) -> "InceptionDAMSMImageEncoder":
        super().train(mode)
        for module in self.trunk_modules():
            module.eval()  # frozen trunk: batch norms keep their ImageNet statistics
        return self

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_images("images", images)
        x = F.interpolate(images, size=(INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE), mode="bilinear", align_corners=False)
        for name in INCEPTION_TRUNK_MODULES[:5]:
            x = getattr(self, name)(x)
            if name in ("Conv2d_2b_3x3", "Conv2d_4a_3x3"):
                x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in INCEPTION_TRUNK_MODULES[5:13]:
            x = getattr(self, name)(x)
        region_features = x  # Mixed_6e: 768 x 17 x 17
        for name in INCEPTION_TRUNK_MODULES[13:]:
            x = getattr(self, name)(x)
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)  # 8x8 average pool of Mixed_7c: 2048
        return self.emb_features(region_features), self.emb_cnn_code(pooled)


def load_attngan_image_encoder_state(encoder: InceptionDAMSMImageEncoder, path: str | os.PathLike) -> None:
    """Load AttnGAN's released ``image_encoder*.pth`` (``torch.load(weights_only=True)``) into ``encoder``.

    Files from PyTorch < 0.4 lack batch-norm ``num_batches_tracked`` buffers; only those may be missing.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"AttnGAN image encoder file not found: {path}")
    state = load_torch_state_dict(path, "AttnGAN image encoder")
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise InputError(f"{path}: not an AttnGAN image encoder: missing {missing[:5]}, unexpected {unexpected[:5]}")


# ---------------------------------------------------------------------------------------------------
# Small CNN for the synthetic world


def _down_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv + 4x4 stride-2 conv, GroupNorm and LeakyReLU(0.2): halves the resolution.

    GroupNorm, not BatchNorm: the DAMSM loss contrasts the images of a batch with each other, and batch
    statistics would let an image's features depend on the other images of its batch.
    """
    groups = math.gcd(8, c_out)  # up to 8 groups that divide the channels
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, 1, 1),
        nn.GroupNorm(groups, c_out),
        nn.LeakyReLU(0.2),
        nn.Conv2d(c_out, c_out, 4, 2, 1),
        nn.GroupNorm(groups, c_out),
        nn.LeakyReLU(0.2),
    )


@register_model("damsm_small_image_encoder")
class SmallDAMSMImageEncoder(nn.Module):
    """A small DAMSM image encoder trained from scratch (for the synthetic world and tests).

    Images are resized to ``image_size`` (bilinear, as AttnGAN resizes to 299), then pass
    ``len(channels)`` blocks that each halve the resolution. Like AttnGAN's Mixed_6e / Mixed_7c split,
    the regions are read one block before the end (``image_size / 2**(n-1)`` per side) and the global
    vector is the average-pooled output of the last block.

    Args:
        image_size: the input side the encoder works at (divisible by ``2**len(channels)``).
        channels: output channels per block (at least 2 blocks).
        embed_dim: D, the multimodal feature size (the text encoder's word/sentence size).

    Example: ``SmallDAMSMImageEncoder(64, (32, 64, 128, 256))`` gives regions [B, 256, 8, 8] and
    global [B, 256].
    """

    def __init__(self, image_size: int = 64, channels: Sequence[int] = (32, 64, 128, 256), embed_dim: int = DAMSM_EMBED_DIM):
        super().__init__()
        channels = [int(c) for c in channels]
        if len(channels) < 2 or min(channels) < 1:
            raise InputError(f"channels needs at least 2 positive entries, got {channels}")
        if image_size < 2 ** len(channels) or image_size % 2 ** len(channels):
            raise InputError(f"image_size {image_size} must be a multiple of 2**len(channels) = {2 ** len(channels)}")
        if embed_dim < 1:
            raise InputError(f"embed_dim must be >= 1, got {embed_dim}")
        self.image_size, self.embed_dim = image_size, embed_dim
        ins = [3] + channels[:-1]
        self.region_blocks = nn.Sequential(*[_down_block(i, o) for i, o in zip(ins[:-1], channels[:-1])])
        self.global_block = _down_block(ins[-1], channels[-1])
        heads = _DAMSMHeads(channels[-2], channels[-1], embed_dim)
        self.emb_features, self.emb_cnn_code = heads.emb_features, heads.emb_cnn_code

    @property
    def region_size(self) -> int:
        return self.image_size // 2 ** len(self.region_blocks)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dims = check_images("images", images)
        if (dims["H"], dims["W"]) != (self.image_size, self.image_size):
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        features = self.region_blocks(images)
        pooled = F.adaptive_avg_pool2d(self.global_block(features), 1).flatten(1)
        return self.emb_features(features), self.emb_cnn_code(pooled)


# ---------------------------------------------------------------------------- saved DAMSM folders
def damsm_part_folder(path: str | os.PathLike, part: str) -> Path:
    """``path/part`` when ``path`` is not itself a saved model but ``path/part`` is, else ``path``: options
    may name a ``wordsight train damsm`` output folder or one encoder (``part``) in it."""
    folder = Path(path)
    if not (folder / CONFIG_NAME).exists() and (folder / part / CONFIG_NAME).exists():
        return folder / part
    return folder


def load_damsm_part(path: str | os.PathLike, part: str, *, frozen: bool = True, what: str = "DAMSM folder",
                    error: type[Exception] = InputError) -> nn.Module:
    """One encoder of a trained DAMSM: ``part`` (:data:`TEXT_ENCODER_DIR` or :data:`IMAGE_ENCODER_DIR`) of the
    ``wordsight train damsm`` output folder ``path``, or ``path`` itself when it is that encoder's folder.

    ``frozen``: in eval mode with gradients off (a loss network or a caption encoder); ``frozen=False``
    leaves the gradients on (training continues from it). A missing encoder raises ``error`` (InputError,
    or ConfigError for a config option) naming ``what`` (the option) and the folders looked in.
    """
    if part not in DAMSM_PARTS:
        raise ValueError(f"part must be one of {DAMSM_PARTS}, got {part!r}")
    folder = damsm_part_folder(path, part)
    if not (folder / CONFIG_NAME).is_file():
        raise error(f"{what}: no DAMSM {part.replace('_', ' ')} at {path}: {CONFIG_NAME} not found in "
                    f"{Path(path) / part} or {path} (write one with 'wordsight train damsm --out {path}')")
    module = from_pretrained(folder)  # registered in wordsight.text / wordsight.models, found by name
    return module.eval().requires_grad_(False) if frozen else module


def load_damsm_pair(path: str | os.PathLike, *, frozen: bool = True, what: str = "DAMSM folder",
                    error: type[Exception] = InputError) -> tuple[nn.Module, nn.Module]:
    """``(text_encoder, image_encoder)`` of the ``wordsight train damsm`` output folder ``path`` (both
    sub-folders must be there); ``frozen``, ``what`` and ``error`` as :func:`load_damsm_part`."""
    if (Path(path) / CONFIG_NAME).is_file():
        raise error(f"{what}: {path} holds one saved model, not a DAMSM; give the `wordsight train damsm` output "
                    f"folder that holds {TEXT_ENCODER_DIR}/ and {IMAGE_ENCODER_DIR}/")
    text, image = (load_damsm_part(path, part, frozen=frozen, what=what, error=error) for part in DAMSM_PARTS)
    return text, image
