"""Pure nn.Modules, one file per published system; shared blocks in layers.py.

Importing this package imports every module in it (``import_submodules``), which registers every model
name with ``wordsight.hub.MODELS`` so that ``from_pretrained`` can rebuild any saved model: a new
``models/<system>.py`` registers itself with no edit here.
"""

from ..utils.imports import import_submodules

import_submodules(__name__, __path__)
