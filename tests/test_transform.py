"""Network transformations: Net2Net growth preserves the function (to 1e-5, eval mode);
shrink moves keep shapes consistent and the kept weights identical."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsmith import transform as T
from archsmith.errors import SpaceError
from archsmith.space import create_space


def _perturb(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Makes a freshly built network look trained: random biases and batch-norm
    statistics/affine parameters (fresh ones are the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d | torch.nn.LayerNorm):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
            bias = getattr(m, "bias", None)
            if isinstance(m, torch.nn.Linear | torch.nn.Conv1d | torch.nn.Conv2d) and \
                    bias is not None:
                bias.copy_(0.1 * torch.randn(bias.shape, generator=g))
    return net.eval()


def _check_preserved(parent, child, shape, classes=5, seed=0):
    torch.manual_seed(seed)
    pnet = _perturb(parent.space.build(parent, shape, classes), seed)
    t = parent.space.transform(parent, child, pnet.state_dict(), input_shape=shape,
                               rng=np.random.default_rng(seed))
    assert t.preserving, (t.moves, t.why_not)
    assert t.moves, "a growth move must change the architecture"
    cnet = child.space.build(child, shape, classes)
    cnet.load_state_dict(t.state_dict)
    x = torch.randn(16, *shape, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        torch.testing.assert_close(cnet.eval()(x), pnet(x), atol=1e-5, rtol=0)
    return t


# -- mlp ------------------------------------------------------------------------------------
def _mlp(norm="none", residual=False, act="relu", widths=(32, 32)):
    sp = create_space("mlp")
    vals = {"n_layers": len(widths), "residual": residual}
    for k, w in enumerate(widths, start=1):
        vals.update({f"width_{k}": w, f"act_{k}": act, f"norm_{k}": norm,
                     f"dropout_{k}": 0.0})
    return sp.make(vals)


MLP_GROWTH = {
    "wider": lambda a: T.wider(a, 1, 128),
    "wider_last": lambda a: T.wider(a, 2, 64),
    "deeper_middle": lambda a: T.deeper(a, 2),
    "deeper_end": lambda a: T.deeper(a, 3),
    "wider_then_deeper": lambda a: T.deeper(T.wider(a, 2, 64), 3),
    "dropout": lambda a: T.set_layer(a, 1, dropout=0.3),
}


@pytest.mark.parametrize("move", sorted(MLP_GROWTH))
@pytest.mark.parametrize("norm", ["none", "batch"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("shape", [(12,), (2, 6)])
def test_mlp_growth_preserves_function(move, norm, residual, shape):
    parent = _mlp(norm, residual)
    _check_preserved(parent, MLP_GROWTH[move](parent), shape)


@pytest.mark.parametrize("act", ["gelu", "tanh", "silu"])
def test_mlp_deeper_with_skip_preserves_any_zero_at_zero_activation(act):
    parent = _mlp("layer", True, act)
    child = T.deeper(parent, 2, act=act)  # width 32 after 32: an identity skip, zero body
    _check_preserved(parent, child, (12,))


def test_mlp_batch_norm_added_and_folded():
    plain, bn = _mlp("none"), _mlp("batch")
    _check_preserved(plain, T.set_layer(plain, 1, norm="batch"), (12,))
    _check_preserved(bn, T.set_layer(bn, 2, norm="none"), (12,))


# -- cnn ------------------------------------------------------------------------------------
def _cnn(norm="none", residual=False, channels=(8, 16), kernel=3):
    sp = create_space("cnn")
    vals = {"n_stages": len(channels), "head": "avg"}
    for k, c in enumerate(channels, start=1):
        vals.update({f"channels_{k}": c, f"kernel_{k}": kernel,
                     f"pool_{k}": "max" if k == 1 else "none", f"residual_{k}": residual,
                     f"norm_{k}": norm})
    return sp.make(vals)


CNN_GROWTH = {
    "wider_first": lambda a: T.wider(a, 1, 32),
    "wider_last": lambda a: T.wider(a, 2, 64),
    # after a residual stage (whose output may be negative) Net2DeeperNet inserts a
    # residual stage with a zero body; after a plain one, an identity convolution
    "deeper_middle": lambda a: T.deeper(a, 2, residual=bool(a["residual_1"])),
    "deeper_end_k5": lambda a: T.deeper(a, 3, kernel=5, residual=bool(a["residual_2"])),
    "deeper_residual": lambda a: T.deeper(a, 2, residual=True, kernel=7),
    "deeper_residual_wider": lambda a: T.deeper(a, 3, residual=True, channels=32),
    "kernel": lambda a: T.set_layer(T.set_layer(a, 1, kernel=5), 2, kernel=7),
    "add_residual": lambda a: T.set_layer(a, 2, residual=True),
    "wider_then_kernel": lambda a: T.set_layer(T.wider(a, 2, 32), 2, kernel=5),
}


@pytest.mark.parametrize("move", sorted(CNN_GROWTH))
@pytest.mark.parametrize("norm", ["none", "batch"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("shape", [(2, 24), (1, 10, 10)])
def test_cnn_growth_preserves_function(move, norm, residual, shape):
    parent = _cnn(norm, residual)
    child = CNN_GROWTH[move](parent)
    if child == parent:  # e.g. adding a residual that is already there
        pytest.skip("the move is a no-op for this parent")
    _check_preserved(parent, child, shape)


@pytest.mark.parametrize("shape", [(2, 24), (1, 10, 10)])
def test_cnn_batch_norm_added_and_folded(shape):
    plain, bn = _cnn("none", True), _cnn("batch", True)
    _check_preserved(plain, T.set_layer(plain, 2, norm="batch"), shape)
    _check_preserved(bn, T.set_layer(bn, 1, norm="none"), shape)


def test_random_chains_of_growth_moves_preserve_function():
    """Several growth moves in a row, from random parents."""
    rng = np.random.default_rng(0)
    sp = create_space("cnn", channels=(8, 16, 32, 64), max_stages=4)
    checked = 0
    for trial in range(12):
        parent = sp.sample(rng)
        child = parent
        for _ in range(3):
            n = len(T.layer_specs(child))
            k = int(rng.integers(1, n + 1))
            specs = T.layer_specs(child)
            options = [lambda c, k=k: T.set_layer(c, k, kernel=7)]
            # widths that would turn a projected skip into an identity one are left out
            # (the space decides the skip's kind by the channel counts)
            prev = specs[k - 2]["channels"] if k > 1 else 1
            bigger = [c for c in sp.channels if c > specs[k - 1]["channels"]
                      and not (specs[k - 1]["residual"] and c == prev)
                      and not (k < n and specs[k]["residual"] and c == specs[k]["channels"])]
            if bigger:
                options.append(lambda c, k=k, w=bigger[0]: T.wider(c, k, w))
            if n < sp.max_stages:
                options.append(lambda c, k=k: T.deeper(c, k + 1, residual=True))
            child = options[int(rng.integers(len(options)))](child)
        if child == parent:
            continue
        _check_preserved(parent, child, (1, 32), seed=trial)
        checked += 1
    assert checked >= 8


# -- shrink moves ---------------------------------------------------------------------------
def test_narrower_keeps_the_largest_units_and_their_weights():
    parent = _cnn("batch", False, channels=(16, 16))
    pnet = _perturb(parent.space.build(parent, (2, 24), 5), 0)
    child = T.narrower(parent, 1, 8)
    t = parent.space.transform(parent, child, pnet.state_dict(), input_shape=(2, 24))
    assert not t.preserving and t.moves == ("narrower stage 1: 16→8",)
    cnet = child.space.build(child, (2, 24), 5)
    cnet.load_state_dict(t.state_dict)  # shapes consistent
    pw = pnet.state_dict()["0.0.weight"]
    bn = pnet[0][1]  # batch norm rescales each channel: importance = |w|·|γ|/σ
    imp = pw.abs().sum(dim=(1, 2)) * bn.weight.abs() / (bn.running_var + bn.eps).sqrt()
    kept = np.sort(np.argsort(-imp.detach().numpy(), kind="stable")[:8])
    sd = t.state_dict
    torch.testing.assert_close(sd["0.0.weight"], pw[kept], rtol=0, atol=0)
    for name in ("weight", "bias", "running_mean", "running_var"):
        torch.testing.assert_close(sd[f"0.1.{name}"], pnet.state_dict()[f"0.1.{name}"][kept])
    # the next stage reads the kept channels, unscaled
    torch.testing.assert_close(sd["2.0.weight"], pnet.state_dict()["2.0.weight"][:, kept])


def test_remove_keeps_the_other_layers_weights():
    parent = _mlp("batch", False, widths=(32, 32, 16))
    pnet = _perturb(parent.space.build(parent, (12,), 5), 0)
    child = T.remove(parent, 2)
    t = parent.space.transform(parent, child, pnet.state_dict())
    assert t.moves == ("remove layer 2: 32·relu·bn",) and not t.preserving
    cnet = child.space.build(child, (12,), 5)
    cnet.load_state_dict(t.state_dict)
    psd = pnet.state_dict()
    for key in ("1.0.weight", "1.0.bias", "1.1.running_mean"):
        torch.testing.assert_close(t.state_dict[key], psd[key], rtol=0, atol=0)
    # layer 3 (16 units) is the child's layer 2; it kept every weight that fits
    torch.testing.assert_close(t.state_dict["2.0.weight"], psd["3.0.weight"], rtol=0, atol=0)
    torch.testing.assert_close(t.state_dict["3.weight"], psd["4.weight"], rtol=0, atol=0)


def test_activation_and_pool_changes_copy_every_weight():
    parent = _cnn("none", False)
    pnet = _perturb(parent.space.build(parent, (2, 24), 5), 0)
    child = T.set_layer(T.set_layer(parent, 1, pool="avg"), 1, head="max")
    t = parent.space.transform(parent, child, pnet.state_dict())
    assert not t.preserving and len(t.moves) == 2
    for k, v in pnet.state_dict().items():
        torch.testing.assert_close(t.state_dict[k], v, rtol=0, atol=0)


def test_noise_breaks_symmetry_only_when_asked():
    parent = _mlp()
    pnet = _perturb(parent.space.build(parent, (12,), 5), 0)
    child = T.wider(parent, 1, 64)
    exact = parent.space.transform(parent, child, pnet.state_dict())
    noisy = parent.space.transform(parent, child, pnet.state_dict(), noise=0.01)
    assert exact.preserving and not noisy.preserving
    diff = (noisy.state_dict["1.0.weight"] - exact.state_dict["1.0.weight"]).abs()
    assert diff[:32].max() == 0 and diff[32:].max() > 0


def test_same_rng_same_child_weights():
    parent = _cnn("batch", True)
    sd = _perturb(parent.space.build(parent, (2, 24), 5), 0).state_dict()
    child = T.wider(parent, 2, 64)
    a = parent.space.transform(parent, child, sd, rng=np.random.default_rng(3))
    b = parent.space.transform(parent, child, sd, rng=np.random.default_rng(3))
    for k in a.state_dict:
        assert torch.equal(a.state_dict[k], b.state_dict[k])


# -- bad input ------------------------------------------------------------------------------
def test_bad_input_gets_clear_errors():
    parent = _cnn()
    sd = parent.space.build(parent, (2, 24), 5).state_dict()
    other = _cnn(channels=(16, 16))
    with pytest.raises(SpaceError, match="do not match its architecture"):
        parent.space.transform(other, parent, sd)
    with pytest.raises(SpaceError, match="Cannot transform"):
        parent.space.transform(parent, _mlp(), sd)
    nb = create_space("nb201")
    a = nb.sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="work on the spaces"):
        nb.transform(a, a, {})
    with pytest.raises(SpaceError, match=r"allows 1\.\.4 stages"):
        T.deeper(T.deeper(T.deeper(parent, 2), 2), 2)
    with pytest.raises(SpaceError, match="does not exist"):
        T.wider(parent, 5, 32)
    with pytest.raises(SpaceError, match="no choice"):
        T.wider(parent, 1, 33)


@pytest.mark.parametrize(("name", "shape"), [("cnn", (1, 32)), ("cnn", (2, 8, 8)),
                                             ("mlp", (12,))])
def test_preserving_is_never_claimed_wrongly(name, shape):
    """Random parents and mutated children (any move): whenever the transformation says
    it preserves the function, it does."""
    rng = np.random.default_rng(1)
    sp = create_space(name)
    claimed = 0
    for t in range(40):
        parent = sp.sample(rng)
        child = parent
        for _ in range(int(rng.integers(1, 3))):
            child = sp.mutate(child, rng)
        pnet = _perturb(sp.build(parent, shape, 5), t)
        tr = sp.transform(parent, child, pnet.state_dict(), input_shape=shape, rng=rng)
        cnet = sp.build(child, shape, 5)
        cnet.load_state_dict(tr.state_dict)
        if tr.preserving:
            claimed += 1
            x = torch.randn(8, *shape, generator=torch.Generator().manual_seed(t))
            with torch.no_grad():
                torch.testing.assert_close(cnet.eval()(x), pnet(x), atol=1e-5, rtol=0)
    assert claimed >= 5


def test_deeper_keeps_to_the_spaces_choices():
    sp = create_space("mlp", dropouts=(0.1,), activations=("gelu", "relu"))
    a = sp.make({"n_layers": 1, "residual": False, "width_1": 32, "act_1": "gelu",
                 "norm_1": "none", "dropout_1": 0.1})
    assert T.layer_specs(T.deeper(a, 2))[1]["dropout"] == 0.1
    cnn = create_space("cnn", pools=("max",), kernels=(5, 7))
    b = cnn.make({"n_stages": 1, "head": "avg", "channels_1": 8, "kernel_1": 5,
                  "pool_1": "max", "residual_1": False, "norm_1": "none"})
    new = T.layer_specs(T.deeper(b, 2))[1]
    assert new["pool"] == "max" and new["kernel"] == 5
