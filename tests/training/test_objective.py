"""training/objective.py: the GeneratorDiscriminatorPair mixin the paired systems share."""

import torch

from wordsight.training import SYSTEMS, GANObjective, GeneratorDiscriminatorPair


class _Pair(GeneratorDiscriminatorPair, GANObjective):
    def __init__(self) -> None:
        super().__init__()
        self.G, self.D = torch.nn.Linear(2, 3), torch.nn.Linear(3, 1)


def test_pair_gives_networks_generator_and_one_optimizer_each():
    pair = _Pair()
    assert pair.networks() == {"generator": pair.G, "discriminator": pair.D}
    assert pair.generator is pair.G
    params = pair.optimizer_params()
    assert [id(p) for p in params["g"]] == [id(p) for p in pair.G.parameters()]
    assert [id(p) for p in params["d"]] == [id(p) for p in pair.D.parameters()]


def test_checkpoint_names_of_the_paired_systems_are_kept():
    # checkpoints written before the mixin hold these names: a change would stop old runs from resuming
    expected = {"dfgan": ("D", "discriminator"), "imagan": ("D", "discriminator"), "gan-int-cls": ("D", "discriminator"),
                "stackgan": ("D", "discriminator"), "tagan": ("D", "discriminator"),
                "attngan": ("Ds", "discriminators"), "dualattngan": ("Ds", "discriminators"),
                "stackgan-pp": ("Ds", "discriminators")}
    for name, (attr, key) in expected.items():
        cls = SYSTEMS.get(name)
        assert issubclass(cls, GeneratorDiscriminatorPair), name
        assert (cls.discriminator_attr, cls.discriminator_key) == (attr, key), name
