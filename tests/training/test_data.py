import pytest
import torch

from wordsight.training.data import IterableBatches, RandomCaptionData, ShuffledBatches, as_batch_source
from wordsight.utils.checks import InputError


def test_random_caption_data_is_a_function_of_seed_and_index():
    a, b = RandomCaptionData(8, 16, 4, seed=1), RandomCaptionData(8, 16, 4, seed=1)
    assert torch.equal(a[3]["images"], b[3]["images"])
    assert not torch.equal(a[3]["images"], a[4]["images"])
    assert a[0]["images"].shape == (3, 16, 16) and a[0]["images"].abs().max() <= 1
    assert not torch.equal(a[3]["sentence"], RandomCaptionData(8, 16, 4, seed=2)[3]["sentence"])


def test_shuffled_batches_depend_only_on_seed_and_step():
    data = RandomCaptionData(10, 8, 4)
    first, again = ShuffledBatches(data, 4, seed=3), ShuffledBatches(data, 4, seed=3)
    for step in (5, 0, 2):  # any order of access gives the same batches
        assert first.indices(step) == again.indices(step)
    assert torch.equal(first.batch(2)["images"], again.batch(2)["images"])
    assert first.indices(0) != ShuffledBatches(data, 4, seed=4).indices(0)


def test_each_epoch_is_a_permutation_and_processes_take_disjoint_slices():
    source = ShuffledBatches(RandomCaptionData(8, 8, 4), 2, seed=0)
    epoch0 = [i for step in range(2) for rank in range(2) for i in source.indices(step, rank, 2)]
    assert sorted(epoch0) == list(range(8))
    assert set(source.indices(0, 0, 2)).isdisjoint(source.indices(0, 1, 2))


def test_iterable_batches_follow_order_wrap_around_and_fast_forward():
    items = [{"i": i} for i in range(3)]
    source = IterableBatches(items)
    assert [source.batch(s)["i"] for s in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert IterableBatches(items).batch(4)["i"] == 1  # resume at step 4 without steps 0-3
    assert source.batch(1, rank=1, world_size=2)["i"] == 0  # item 3 = item 0 of the second pass
    with pytest.raises(InputError, match="no batches"):
        IterableBatches([]).batch(0)


def test_as_batch_source_picks_the_right_wrapper():
    assert isinstance(as_batch_source(RandomCaptionData(4, 8, 4), 2, 0), ShuffledBatches)
    assert isinstance(as_batch_source(iter([{"a": 1}]), 2, 0), IterableBatches)
    with pytest.raises(InputError):
        as_batch_source(42, 2, 0)
