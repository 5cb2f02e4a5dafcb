"""Network transformations: a child network's initial weights from a trained parent.

Net2Net's function-preserving growth (wider, deeper, a larger kernel, a new residual
branch, batch norm added or folded), N2N's shrinkage and removal, and changes of
activation or pooling that copy every weight that still fits, on the ``mlp`` and
``cnn`` spaces. :func:`transform` works for any two architectures of the space; the
edit helpers make the children Net2Net, EAS and N2N propose.

Example:
    >>> import numpy as np, torch
    >>> from archsmith.space import create_space
    >>> from archsmith import transform as T
    >>> sp = create_space("cnn")
    >>> a = sp.make({"n_stages": 1, "head": "avg", "channels_1": 8, "kernel_1": 3,
    ...              "pool_1": "max", "residual_1": False, "norm_1": "batch"})
    >>> parent = sp.build(a, (1, 40), 10).eval()
    >>> b = T.deeper(T.wider(a, 1, 16), 2, kernel=5)
    >>> t = sp.transform(a, b, parent.state_dict(), input_shape=(1, 40))
    >>> t.moves, t.preserving
    (('wider stage 1: 8→16', 'insert stage 2: 16k5·bn'), True)
    >>> child = sp.build(b, (1, 40), 10)
    >>> _ = child.load_state_dict(t.state_dict)
    >>> x = torch.randn(4, 1, 40)
    >>> bool(torch.allclose(parent(x), child.eval()(x), atol=1e-5))
    True
"""

from __future__ import annotations

from archsmith.space._morph import Transformed, transform
from archsmith.space._morph_align import (
    align,
    deeper,
    layer_specs,
    moves,
    narrower,
    remove,
    set_layer,
    supports,
    wider,
)

__all__ = ["Transformed", "align", "deeper", "layer_specs", "moves", "narrower", "remove",
           "set_layer", "supports", "transform", "wider"]
