"""MATLAB imresize (bicubic, antialiased) in torch: hand-worked values and PIL/torch agreement inside."""

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.metrics.saliency import cubic_kernel, imresize, resize_weights
from wordsight.utils import InputError


def test_cubic_kernel_values_a_minus_half():
    x = torch.tensor([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5], dtype=torch.float64)
    expected = [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125, -0.0234375, 0.0, 0.0]
    assert cubic_kernel(x).tolist() == expected
    assert cubic_kernel(-x).tolist() == expected


def test_shrink_by_two_matches_hand_computation():
    # scale 0.5: kernel widened to 8 taps, weights 0.5 * cubic(0.5 * d) at d = 4.5 ... -4.5, taps
    # mirrored at the borders; by hand [1 2 3 4] -> [1.4609375 3.5390625] (MATLAB prints 1.4609 3.5391).
    out = imresize(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), (1, 2))
    assert out.dtype == torch.float64
    assert out[0].tolist() == [1.4609375, 3.5390625]


def test_enlarge_by_two_matches_hand_computation():
    # scale 2: u = x / 2 + 0.25; taps beyond the border are mirrored (edge pixel repeated).
    out = imresize(torch.tensor([[0.0, 1.0]]), (1, 4))
    assert out[0].tolist() == [-0.09375, 0.203125, 0.796875, 1.09375]


def test_weights_rows_sum_to_one_and_same_size_is_identity():
    for n_in, n_out in [(7, 3), (3, 7), (10, 10), (480, 240)]:
        w = resize_weights(n_in, n_out)
        assert w.shape == (n_out, n_in)
        torch.testing.assert_close(w.sum(1), torch.ones(n_out, dtype=torch.float64))
    torch.testing.assert_close(resize_weights(9, 9), torch.eye(9, dtype=torch.float64))
    maps = torch.rand(2, 5, 6)
    assert torch.equal(imresize(maps, (5, 6)), maps.double())


def test_without_antialias_shrinking_uses_narrow_kernel():
    narrow = resize_weights(8, 4, antialias=False)
    wide = resize_weights(8, 4, antialias=True)
    assert int((narrow != 0).sum(1).max()) <= 4
    assert int((wide != 0).sum(1).max()) > 4


@pytest.mark.parametrize("size", [(20, 28), (15, 21), (80, 112), (60, 70)])
def test_agrees_with_pil_and_torch_antialias_away_from_borders(size):
    # PIL and torch (antialias=True) share kernel, centres and widening but renormalise at the
    # borders instead of mirroring: equal in the interior, different at the edges.
    x = torch.rand(40, 56, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = imresize(x, size)
    ref = torch.nn.functional.interpolate(x[None, None], size=size, mode="bicubic", antialias=True)[0, 0]
    pil = Image.fromarray(x.numpy().astype(np.float32), mode="F").resize((size[1], size[0]), Image.BICUBIC)
    pil = torch.from_numpy(np.array(pil)).double()
    margin_r = int(np.ceil(3 * max(1.0, size[0] / 40))) + 2
    margin_c = int(np.ceil(3 * max(1.0, size[1] / 56))) + 2
    inner = (slice(margin_r, -margin_r), slice(margin_c, -margin_c))
    torch.testing.assert_close(ours[inner], ref[inner], atol=1e-12, rtol=0)
    torch.testing.assert_close(ours[inner], pil[inner], atol=1e-6, rtol=0)
    assert (ours - ref).abs().max() > 1e-4  # the mirrored border really differs


def test_batched_resize_equals_single_and_cache_is_bounded():
    maps = torch.rand(3, 12, 16)
    batched = imresize(maps, (6, 9))
    for i in range(3):
        torch.testing.assert_close(batched[i], imresize(maps[i], (6, 9)))
    assert resize_weights.cache_info().maxsize == 64


def test_bad_sizes_raise_input_error():
    with pytest.raises(InputError):
        imresize(torch.rand(5), (2, 2))
    with pytest.raises(InputError):
        imresize(torch.rand(4, 4), (0, 2))
