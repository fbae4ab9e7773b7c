"""DF-GAN's official training step, as a timing reference for wordsight's (benchmarks/bench_dfgan_vs_official.py).

Rewritten from the layer order and the loop of tobran/DF-GAN (``code/models/GAN.py`` NetG / NetD / NetC /
G_Block / D_Block / DFBLK / Affine, ``code/lib/modules.py`` ``train``, ``MA_GP``, ``hinge_loss``): the same
modules, the same sequence of passes and the same optimiser settings, on random data. Deviations, none of
which changes the work done: ``reshape`` where the official code calls ``.view`` on the image gradient
(``.view`` fails on a channels_last gradient), CPU tensors instead of ``.cuda()``, and the two optional modes
the official code does not have (channels_last, bf16 autocast), applied the way a user would add them.

One official step:

1. real features = NetD(x) with x and the sentence e requiring grad; NetC on (features, e) -> hinge real;
   NetC on (features rolled by one, e) -> hinge mismatched;
2. fake = NetG(z, e); NetC(NetD(fake.detach()), e) -> hinge fake;
3. MA-GP = 2 * mean(||grad_(x, e) pred_real||_2 ^ 6) with ``autograd.grad(create_graph=True)``;
4. D loss = real + (fake + mismatched) / 2 + MA-GP; zero_grad, backward, Adam step (lr 4e-4, betas (0, 0.9),
   over NetD and NetC);
5. G loss = -mean(NetC(NetD(fake), e)) with the updated D (D's weight gradients are computed too and
   discarded by the next zero_grad, as in the official loop); zero_grad, backward, Adam step (lr 1e-4).

    official_step_speed(64, 32, 32, "fp32+channels_last", steps=5)   # -> img/s
"""

from __future__ import annotations

import contextlib
import time

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("fp32", "fp32+channels_last", "bf16+channels_last")


def _widths(nf: int, size: int) -> list[int]:
    levels = size.bit_length() - 2  # log2(size) - 1
    return [nf * min(2**i, 8) for i in range(levels)]


class _CondAffine(nn.Module):
    def __init__(self, cond_dim: int, ch: int):
        super().__init__()
        self.gamma_mlp = nn.Sequential(nn.Linear(cond_dim, ch), nn.ReLU(inplace=True), nn.Linear(ch, ch))
        self.beta_mlp = nn.Sequential(nn.Linear(cond_dim, ch), nn.ReLU(inplace=True), nn.Linear(ch, ch))
        nn.init.zeros_(self.gamma_mlp[2].weight)
        nn.init.ones_(self.gamma_mlp[2].bias)
        nn.init.zeros_(self.beta_mlp[2].weight)
        nn.init.zeros_(self.beta_mlp[2].bias)

    def forward(self, x, c):
        g = self.gamma_mlp(c)[:, :, None, None].expand(x.shape)
        b = self.beta_mlp(c)[:, :, None, None].expand(x.shape)
        return g * x + b


class _Fusion(nn.Module):  # DFBLK: affine, lrelu, affine, lrelu
    def __init__(self, cond_dim: int, ch: int):
        super().__init__()
        self.a0, self.a1 = _CondAffine(cond_dim, ch), _CondAffine(cond_dim, ch)

    def forward(self, x, c):
        x = F.leaky_relu(self.a0(x, c), 0.2, inplace=True)
        return F.leaky_relu(self.a1(x, c), 0.2, inplace=True)


class _UpBlock(nn.Module):  # G_Block
    def __init__(self, cond_dim: int, cin: int, cout: int):
        super().__init__()
        self.f1, self.f2 = _Fusion(cond_dim, cin), _Fusion(cond_dim, cout)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, c):
        x = F.interpolate(x, scale_factor=2)
        s = self.skip(x) if self.skip is not None else x
        return s + self.conv2(self.f2(self.conv1(self.f1(x, c)), c))


class OfficialNetG(nn.Module):
    def __init__(self, nf: int, z_dim: int, sent_dim: int, size: int):
        super().__init__()
        ch = _widths(nf, size)[::-1]  # ch[0] = 8 nf from 64 px on, as the official hard-codes
        self.c0 = ch[0]
        self.fc = nn.Linear(z_dim, ch[0] * 16)
        self.ups = nn.ModuleList(_UpBlock(z_dim + sent_dim, a, b) for a, b in zip(ch[:-1], ch[1:]))
        self.rgb = nn.Sequential(nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(ch[-1], 3, 3, 1, 1), nn.Tanh())

    def forward(self, z, e):
        h = self.fc(z).view(z.shape[0], self.c0, 4, 4)
        c = torch.cat((z, e), 1)
        for up in self.ups:
            h = up(h, c)
        return self.rgb(h)


class _DownBlock(nn.Module):  # D_Block: the official builds conv_s always and uses it when widths differ
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.res = nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.LeakyReLU(0.2, inplace=True))
        self.proj = nn.Conv2d(cin, cout, 1)
        self.learned = cin != cout
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        r = self.res(x)
        if self.learned:
            x = self.proj(x)
        return F.avg_pool2d(x, 2) + self.gamma * r


class OfficialNetD(nn.Module):
    def __init__(self, nf: int, size: int):
        super().__init__()
        ch = _widths(nf, size)
        self.stem = nn.Conv2d(3, nf, 3, 1, 1)
        self.downs = nn.ModuleList(_DownBlock(a, b) for a, b in zip(ch[:-1], ch[1:]))

    def forward(self, x):
        h = self.stem(x)
        for d in self.downs:
            h = d(h)
        return h


class OfficialNetC(nn.Module):
    def __init__(self, nf: int, sent_dim: int, feat_ch: int):
        super().__init__()
        self.sent_dim = sent_dim
        self.head = nn.Sequential(nn.Conv2d(feat_ch + sent_dim, 2 * nf, 3, 1, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Conv2d(2 * nf, 1, 4, 1, 0, bias=False))

    def forward(self, feats, e):
        tiled = e.view(-1, self.sent_dim, 1, 1).repeat(1, 1, 4, 4)
        return self.head(torch.cat((feats, tiled), 1))


def _hinge(out, negative: bool):
    return F.relu(1.0 + out).mean() if negative else F.relu(1.0 - out).mean()


def _ma_gp(img, sent, out):
    grads = torch.autograd.grad(out, (img, sent), grad_outputs=torch.ones_like(out), retain_graph=True, create_graph=True)
    flat = torch.cat((grads[0].reshape(grads[0].shape[0], -1), grads[1].reshape(grads[1].shape[0], -1)), 1)
    return 2.0 * torch.sum(flat**2, 1).sqrt().pow(6).mean()


class OfficialDFGAN:
    """NetG, NetD, NetC and their two Adam optimisers; :meth:`step` runs one official training iteration."""

    def __init__(self, size: int = 64, nf: int = 32, z_dim: int = 100, sent_dim: int = 256, mode: str = "fp32"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self.z_dim = mode, z_dim
        self.fmt = torch.channels_last if "channels_last" in mode else torch.contiguous_format
        self.G = OfficialNetG(nf, z_dim, sent_dim, size).to(memory_format=self.fmt)
        self.D = OfficialNetD(nf, size).to(memory_format=self.fmt)
        self.C = OfficialNetC(nf, sent_dim, _widths(nf, size)[-1]).to(memory_format=self.fmt)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.0, 0.9))
        self.opt_d = torch.optim.Adam(list(self.D.parameters()) + list(self.C.parameters()), lr=4e-4, betas=(0.0, 0.9))

    def _ctx(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.mode.startswith("bf16") else contextlib.nullcontext()

    def step(self, imgs: torch.Tensor, sent: torch.Tensor) -> tuple[float, float]:
        imgs = imgs.contiguous(memory_format=self.fmt).requires_grad_()
        sent = sent.clone().requires_grad_()
        with self._ctx():
            real_f = self.D(imgs)
            pred_real = self.C(real_f, sent)
            err_real = _hinge(pred_real, False)
            err_mis = _hinge(self.C(torch.cat((real_f[1:], real_f[:1]), 0), sent), True)
            fake = self.G(torch.randn(imgs.shape[0], self.z_dim), sent)
            err_fake = _hinge(self.C(self.D(fake.detach()), sent), True)
            gp = _ma_gp(imgs, sent, pred_real)
            err_d = err_real + (err_fake + err_mis) / 2.0 + gp
        self.opt_d.zero_grad()
        err_d.backward()
        self.opt_d.step()
        with self._ctx():
            err_g = -self.C(self.D(fake), sent).mean()
        self.opt_g.zero_grad()
        err_g.backward()
        self.opt_g.step()
        return float(err_d.detach()), float(err_g.detach())


def random_batch(size: int, batch: int, sent_dim: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g) * 2 - 1, torch.randn(batch, sent_dim, generator=g)


def official_step_speed(size: int = 64, batch: int = 32, nf: int = 32, mode: str = "fp32+channels_last",
                        steps: int = 5, warmup: int = 2, sent_dim: int = 256) -> float:
    """img/s of the official DF-GAN training step in ``mode`` (one of :data:`MODES`) on random data."""
    torch.manual_seed(0)
    model = OfficialDFGAN(size, nf, sent_dim=sent_dim, mode=mode)
    imgs, sent = random_batch(size, batch, sent_dim)
    for _ in range(warmup):
        model.step(imgs, sent)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step(imgs, sent)
    return batch * steps / (time.perf_counter() - t0)


if __name__ == "__main__":
    for m in MODES:
        print(f"{m:20s} {official_step_speed(64, 32, 32, m, steps=3):6.2f} img/s (64 px, batch 32, nf 32)")
