"""Pure nn.Modules, one file per published system; shared blocks in layers.py.

Importing this package registers every model name with ``wordsight.hub.MODELS`` so that
``from_pretrained`` can rebuild any saved model.
"""

from . import damsm, dfgan, layers, oracle, salgan, salicon, saliency_baselines, text_salgan, vgg  # noqa: F401
