"""Gaussian-process critic on the decision encoding, in pure PyTorch.

An exact GP is a few dozen lines: a kernel matrix, a Cholesky factorisation and the
log marginal likelihood, optimised with L-BFGS. Writing it here instead of depending on
BoTorch/GPyTorch keeps the critic dependency-free (those packages are not installed
with archsmith, and pull in a pinned linear-operator stack), and with a few hundred
evaluated architectures an exact GP costs milliseconds.

The default kernel is an exponentiated Hamming kernel with one relevance weight per
decision (ARD): ``k(a, b) = σ² exp(-Σ_d θ_d [a_d ≠ b_d])``, which is the RBF kernel on
the one-hot encoding with a lengthscale per decision. ``kernel="rbf"`` gives an
isotropic RBF on any encoding (e.g. the path encoding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_integers, check_name, check_numbers
from archsmith.critic import CRITICS
from archsmith.critic._base import Predictor
from archsmith.critic._encodings import TargetTransform, feature_matrix, single_threaded
from archsmith.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["GPPredictor"]


class GPPredictor(Predictor):
    """Exact Gaussian process regression on architecture encodings.

    Hyperparameters (relevance weights or lengthscale, signal variance, noise variance,
    constant mean) maximise the log marginal likelihood of the transformed scores, found
    by L-BFGS from fixed starting points (so fits are deterministic; ``rng`` is
    unused). ``predict`` returns the posterior mean and the variance of the latent
    function, in score units.

    Args:
        space: The search space.
        seed: Unused (the fit is deterministic); kept for the common interface.
        kernel: ``"hamming"`` (ARD over decisions; needs ``encoding="onehot"``) or
            ``"rbf"`` (isotropic, any encoding).
        encoding: Feature encoding (see
            :func:`~archsmith.critic._encodings.feature_matrix`).
        target: Target transform (``"rank"``, ``"clip"`` or ``"standard"``); rank normal
            scores (a Gaussian copula, as in warped GPs) ranked held-out NAS-Bench-201
            cells markedly better than standardised scores (``benchmarks/RESULTS.md``).
        iterations: L-BFGS iterations per fit.
        min_noise: Lower bound of the noise variance (standardised units).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> rng = np.random.default_rng(0)
        >>> archs = [space.sample(rng) for _ in range(30)]
        >>> gp = GPPredictor(space).fit(archs, [float(a.indices[0]) for a in archs])
        >>> mean, var = gp.predict(archs[:3])
        >>> np.allclose(mean, [a.indices[0] for a in archs[:3]], atol=0.1)
        True
    """

    name = "gp"

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        kernel: str = "hamming",
        encoding: str = "onehot",
        target: str = "rank",
        iterations: int = 60,
        min_noise: float = 1e-4,
    ) -> None:
        super().__init__(space, seed)
        for field, value in (("kernel", kernel), ("encoding", encoding), ("target", target)):
            check_name("gp critic", field, value)
        check_integers("gp critic", {"iterations": (iterations, 1)})
        check_numbers("gp critic", {"min_noise": min_noise}, positive=("min_noise",))
        if kernel not in ("hamming", "rbf"):
            raise ConfigError(f"gp critic: kernel must be 'hamming' or 'rbf', got {kernel!r}.")
        if kernel == "hamming" and encoding != "onehot":
            raise ConfigError(
                "gp critic: the 'hamming' kernel works on the decisions; use "
                "encoding='onehot' or kernel='rbf'."
            )
        feature_matrix(space, [], encoding)  # validates the encoding name
        self.kernel = kernel
        self.encoding = encoding
        self.target = target
        self.iterations = iterations
        self.min_noise = min_noise
        self.transform = TargetTransform(target)
        self._blocks = [d.size for d in space.decisions]
        self._params: torch.Tensor | None = None  # [log θ (D or 1), log σ², log noise, mean]
        self._x: torch.Tensor | None = None
        self._t: torch.Tensor | None = None
        self._alpha: torch.Tensor | None = None
        self._chol: torch.Tensor | None = None

    # -- kernel -------------------------------------------------------------------------
    def _features(self, archs: Sequence[Architecture]) -> torch.Tensor:
        import torch

        return torch.from_numpy(feature_matrix(self.space, archs, self.encoding)).double()

    def _distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-dimension distances ``[D, n, m]``: decision mismatches or squared L2."""
        import torch

        if self.kernel == "rbf":
            return torch.cdist(a, b).pow(2)[None]
        out = []
        off = 0
        for size in self._blocks:
            xa, xb = a[:, off : off + size], b[:, off : off + size]
            sa, sb = xa.sum(1), xb.sum(1)
            out.append(0.5 * (sa[:, None] + sb[None, :] - 2.0 * xa @ xb.T))
            off += size
        return torch.stack(out)

    def _num_dims(self) -> int:
        return 1 if self.kernel == "rbf" else len(self._blocks)

    def _cov(self, dist: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        import torch

        d = self._num_dims()
        theta = params[:d].exp()
        return params[d].exp() * torch.exp(-(theta[:, None, None] * dist).sum(0))

    # -- Predictor ----------------------------------------------------------------------
    @single_threaded
    def fit(
        self,
        archs: Sequence[Architecture],
        scores: Sequence[float] | np.ndarray,
        *,
        rng: np.random.Generator | None = None,
        warm_start: bool = False,
    ) -> GPPredictor:
        import torch

        y = self._checked_scores(archs, scores)
        self.transform = TargetTransform(self.target).fit(y)
        t = torch.from_numpy(self.transform.forward(y))
        x = self._features(archs)
        dist = self._distances(x, x)
        d = self._num_dims()
        n = len(y)
        eye = torch.eye(n, dtype=torch.float64)
        log_min_noise = math.log(self.min_noise)

        def nll(p: torch.Tensor) -> torch.Tensor:
            noise = math.exp(log_min_noise) + p[d + 1].exp()
            k = self._cov(dist, p) + noise * eye
            chol, info = torch.linalg.cholesky_ex(k)
            if int(info) != 0:
                return torch.tensor(1e10, dtype=torch.float64, requires_grad=True)
            r = (t - p[d + 2])[:, None]
            alpha = torch.cholesky_solve(r, chol)
            lml = 0.5 * (r * alpha).sum() + chol.diagonal().log().sum()
            # weak log-normal priors keep the hyperparameters away from degenerate values
            prior = 0.5 * ((p[:d] - math.log(0.5)) ** 2).sum() / 4.0 + 0.5 * p[d] ** 2 / 4.0
            return lml / n + prior / n

        if warm_start and self._params is not None and len(self._params) == d + 3:
            inits = [self._params.clone()]
        else:
            inits = [torch.tensor([s] * d + [0.0, math.log(0.1), 0.0], dtype=torch.float64)
                     for s in (math.log(0.5), math.log(0.1))]
        best: tuple[float, torch.Tensor] | None = None
        for init in inits:
            p = init.clone().requires_grad_(True)
            opt = torch.optim.LBFGS([p], lr=0.5, max_iter=self.iterations,
                                    line_search_fn="strong_wolfe")

            def closure(p: torch.Tensor = p, opt: torch.optim.LBFGS = opt) -> torch.Tensor:
                opt.zero_grad()
                loss = nll(p)
                if loss.requires_grad:
                    loss.backward()
                return loss

            opt.step(closure)
            with torch.no_grad():
                value = float(nll(p.detach()))
            if math.isfinite(value) and (best is None or value < best[0]):
                best = (value, p.detach().clone())
        assert best is not None
        self._params = best[1]
        self._x, self._t = x, t
        self._solve(dist, t)
        return self

    def _solve(self, dist: torch.Tensor, t: torch.Tensor) -> None:
        import torch

        assert self._params is not None
        p = self._params
        d = self._num_dims()
        noise = self.min_noise + float(p[d + 1].exp())
        k = self._cov(dist, p) + noise * torch.eye(len(t), dtype=torch.float64)
        jitter = 0.0
        while True:
            chol, info = torch.linalg.cholesky_ex(k + jitter * torch.eye(len(t), dtype=k.dtype))
            if int(info) == 0:
                break
            jitter = max(1e-8, 10 * jitter)
        self._chol = chol
        self._alpha = torch.cholesky_solve((t - p[d + 2])[:, None], chol)

    @single_threaded
    def predict_latent(self, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(mean, variance)`` of the latent function in *target* units.

        The GP is Gaussian on the transformed scores (``self.transform``); acquisition
        functions such as expected improvement are exact there, while :meth:`predict`
        maps the mean back to scores and the variance by the local slope of the
        (possibly non-linear) inverse transform.
        """
        import torch

        if self._params is None or self._x is None:
            raise ConfigError("gp critic: call fit() before predict().")
        assert self._alpha is not None and self._chol is not None
        p = self._params
        d = self._num_dims()
        xs = self._features(archs)
        ks = self._cov(self._distances(xs, self._x), p)  # [m, n]
        mean = (ks @ self._alpha)[:, 0] + p[d + 2]
        v = torch.linalg.solve_triangular(self._chol, ks.T, upper=False)
        var = (p[d].exp() - (v * v).sum(0)).clamp(min=0.0)
        return mean.numpy(), var.numpy()

    def predict(self, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        m, var = self.predict_latent(archs)
        eps = 1e-3
        slope = (self.transform.inverse(m + eps) - self.transform.inverse(m - eps)) / (2 * eps)
        return self.transform.inverse(m), var * slope**2

    def state_dict(self) -> dict[str, Any]:
        if self._params is None or self._x is None or self._t is None:
            return {}
        return {"params": self._params.clone(), "x": self._x.clone(), "t": self._t.clone(),
                "transform": self.transform.state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            self._params = self._x = self._t = self._alpha = self._chol = None
            return
        self._params = state["params"].double()
        self._x, self._t = state["x"].double(), state["t"].double()
        self.transform = TargetTransform.from_state(state["transform"])
        self._solve(self._distances(self._x, self._x), self._t)


CRITICS.add(
    "gp",
    GPPredictor,
    help="Exact Gaussian process (Hamming/ARD kernel on the decisions), pure PyTorch.",
)
