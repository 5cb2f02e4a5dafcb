"""The ONNX export of one architecture of every buildable space runs under ONNX Runtime
and matches the torch model: max abs diff ≤ 1e-4 for outputs of magnitude up to 1, and
relative to the largest output beyond that (float32 keeps ~7 significant digits; an
untrained NB-201 network in eval mode outputs logits in the hundreds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from archsmith._export import _export_onnx
from archsmith.errors import ArchsmithError
from archsmith.testing import conformance_spaces
from archsmith.testing._spaces import SHAPES

CASES = []
for _space in conformance_spaces():
    for _shape in SHAPES:
        try:
            _space.check_data(_shape, 5)
        except ArchsmithError:
            continue
        CASES.append(pytest.param(_space, _shape,
                                  id=f"{_space.name}-{'x'.join(map(str, _shape))}"))
        break  # one claimed input kind per space


def test_every_buildable_space_is_covered() -> None:
    assert {c.values[0].name for c in CASES} >= {"conformance-toy", "mlp", "cnn", "nb201"}


@pytest.mark.parametrize(("space", "shape"), CASES)
def test_onnx_matches_torch(space: object, shape: tuple[int, ...], tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    arch = space.sample(rng)  # type: ignore[attr-defined]
    torch.manual_seed(0)
    net = space.build(arch, shape, 5).eval()  # type: ignore[attr-defined]
    x = torch.from_numpy(rng.standard_normal((3, *shape)).astype(np.float32))
    with torch.no_grad():
        net(x)  # materialise lazy layers
        expected = net(x).numpy()
    path = tmp_path / "m.onnx"
    _export_onnx(net, shape, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected))))
    assert float(np.max(np.abs(got - expected))) <= 1e-4 * scale
