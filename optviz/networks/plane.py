r"""The plane a network's training is drawn on, after Li et al., "Visualizing the Loss Landscape of Neural
Nets", NeurIPS 2018 (sections 4 and 7).

A point :math:`(x, y)` of the picture is the weight vector :math:`\theta_0 + x\,d_1 + y\,d_2`: the origin
:math:`\theta_0` is a run's final weights, and the directions are

- ``pca``: the two leading right singular vectors of the matrix whose rows are every run's snapshots minus the
  origin, :math:`M = [\theta_i - \theta_0]` (the paper's section 7, with all runs' snapshots together so every
  path is drawn on one shared plane). Each direction's share of :math:`\|M\|_F^2` (:math:`s_k^2 / \sum s^2`) is
  the "variance" the paper reports: how much of the paths' squared distance from the origin the plane holds.
- ``random``: two Gaussian directions, made orthonormal, so coordinates are distances as with ``pca``.
- ``filter-normalized``: Gaussian directions with every filter (a row of a weight matrix: one neuron's
  incoming weights) rescaled to the norm of the origin's filter and the biases' directions zero, as in the
  paper's section 4 and its code; not orthogonal.

A weight vector :math:`\theta` is drawn at the least-squares coordinates :math:`c = G^{-1} D (\theta -
\theta_0)` (:math:`D` the directions as rows, :math:`G = D D^\top`), the plane's nearest point to it; its
distance from the plane :math:`\|\theta - \theta_0 - D^\top c\|` is what the picture cannot show.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..maths.functions import Objective
from .model import one_thread
from .spec import Network

#: The renderer evaluates a network's loss on this many points per side (61 x 61 = 3,721 forward passes).
GRID = 61


@dataclass(frozen=True, eq=False)
class Plane:
    """A plane through the weights: origin (P,), directions (2, P), and how well it holds the snapshots."""

    kind: str                       # pca | random | filter-normalized
    origin: np.ndarray
    directions: np.ndarray
    origin_label: str
    seed: int | None = None          # of random directions
    explained: tuple[float, float] | None = None   # pca: each direction's share of the snapshots' |M|^2
    captured: float = float("nan")   # share of the snapshots' squared distance from the origin the plane holds

    def coordinates(self, thetas: np.ndarray) -> np.ndarray:
        """``(N, 2)`` least-squares coordinates of weight vectors ``(N, P)``."""
        gram = self.directions @ self.directions.T
        return np.linalg.solve(gram, self.directions @ (np.atleast_2d(thetas) - self.origin).T).T

    def project(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates ``(N, 2)`` and distances from the plane ``(N,)`` of weight vectors ``(N, P)``."""
        thetas = np.atleast_2d(thetas)
        coords = self.coordinates(thetas)
        rest = thetas - self.origin - coords @ self.directions
        return coords, np.linalg.norm(rest, axis=1)

    def weights(self, coords: np.ndarray) -> np.ndarray:
        """``(N, P)`` weight vectors at plane coordinates ``(N, 2)``."""
        return self.origin + np.atleast_2d(coords) @ self.directions

    def axes(self) -> tuple[str, str]:
        """Axis labels that say what the directions are and how much of the paths they hold."""
        if self.explained is not None:
            a, b = self.explained
            return (f"1st PCA direction: {100 * a:.1f}% of variance", f"2nd PCA direction: {100 * b:.1f}%")
        name = "filter-normalized random" if self.kind == "filter-normalized" else "random"
        return (f"{name} direction 1 (the plane holds {100 * self.captured:.1f}% of the paths' variance)",
                f"{name} direction 2")

    def record(self) -> dict:
        """The plane as ``trace`` exports it."""
        return {"directions": self.kind, "seed": self.seed, "origin": self.origin_label,
                "parameters": int(self.origin.size),
                "explained_variance": None if self.explained is None else [float(v) for v in self.explained],
                "captured_variance": float(self.captured)}


def pca_plane(snapshots: np.ndarray, origin: np.ndarray, origin_label: str, first: np.ndarray) -> Plane:
    """The two leading right singular vectors of ``m = snapshots - origin`` (N, P), through the eigenvectors of
    the small Gram matrix ``m m^T`` (N x N: snapshots are far fewer than weights, and this is many times faster
    than an SVD of ``m`` with the same leading directions). Each is signed so that ``first`` (the origin run's
    start) has a negative coordinate: paths run from the lower left towards the origin."""
    m = snapshots - origin
    values, vectors = _leading(m)
    total = float(np.sum(m * m))
    kept = values > max(total, 1e-300) * 1e-12
    directions = (m.T @ (vectors[:, kept] / np.sqrt(values[kept]))).T
    directions = _orthonormal(np.concatenate([directions, _fill(origin.size)]))
    directions = directions * np.where(directions @ (first - origin) > 0, -1.0, 1.0)[:, None]
    shares = np.where(kept, values, 0.0) / total if total > 0 else np.zeros(2)
    plane = Plane("pca", origin, directions, origin_label, explained=(float(shares[0]), float(shares[1])))
    return _with_capture(plane, snapshots)


def random_plane(net: Network, kind: str, seed: int, snapshots: np.ndarray, origin: np.ndarray,
                 origin_label: str) -> Plane:
    """Two seeded Gaussian directions: orthonormal (``random``) or filter-normalised to ``origin``."""
    d = np.random.default_rng(seed).standard_normal((2, origin.size))
    if kind == "random":
        d = _orthonormal(d)
    else:
        for layer in net.layout:
            w = d[:, layer.weight].reshape(2, layer.outputs, layer.inputs)
            ref = np.linalg.norm(origin[layer.weight].reshape(layer.outputs, layer.inputs), axis=1)
            w *= (ref[None, :] / np.linalg.norm(w, axis=2))[:, :, None]
            d[:, layer.weight] = w.reshape(2, -1)
            d[:, layer.bias] = 0.0
    return _with_capture(Plane(kind, origin, d, origin_label, seed=seed), snapshots)


def _leading(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two largest eigenvalues of ``m m^T`` (descending) and their eigenvectors, by torch's LAPACK (on
    the caller's thread; numpy's threaded OpenBLAS is many times slower here on a busy machine)."""
    import torch  # lazy: torch is optional, and a plane exists only where a network was trained
    t = torch.from_numpy(np.ascontiguousarray(m))
    values, vectors = torch.linalg.eigh(t @ t.T)
    return values.numpy()[::-1][:2].copy(), vectors.numpy()[:, ::-1][:, :2].copy()


def _orthonormal(candidates: np.ndarray) -> np.ndarray:
    """The first two orthonormal directions Gram-Schmidt makes of ``candidates`` (rows, in order, skipping
    any already in the span of those before)."""
    out: list[np.ndarray] = []
    for v in candidates:
        if len(out) == 2:
            break
        for u in out:
            v = v - (v @ u) * u
        norm = np.linalg.norm(v)
        if norm > 1e-9:
            out.append(v / norm)
    return np.array(out)


def _fill(size: int) -> np.ndarray:
    """Seeded Gaussian directions that complete a plane when the paths span fewer than two."""
    return np.random.default_rng(0).standard_normal((2, size))


def _with_capture(plane: Plane, snapshots: np.ndarray) -> Plane:
    coords = plane.coordinates(snapshots)
    held = coords @ plane.directions
    total = float(np.sum((snapshots - plane.origin) ** 2))
    captured = float(np.sum(held**2)) / total if total > 0 else 1.0
    return Plane(plane.kind, plane.origin, plane.directions, plane.origin_label, plane.seed, plane.explained,
                 captured)


@dataclass(frozen=True)
class PlaneObjective(Objective):
    """The network's loss over a plane, as a 2-D function the renderer draws like any other."""

    plane: Plane | None = None


def plane_objective(net: Network, plane: Plane, model, xlim, ylim) -> PlaneObjective:
    """``model``: a ``networks.model.Model`` of ``net``; values and gradients go through it, in chunks."""

    def value(xy):
        xy = np.asarray(xy, dtype=np.float64)
        flat = xy.reshape(2, -1).T
        with one_thread():
            return model.losses(plane.weights(flat)).reshape(xy.shape[1:])

    def gradient(xy):
        xy = np.asarray(xy, dtype=np.float64)
        flat = xy.reshape(2, -1).T
        out = np.empty_like(flat)
        step = model.chunk()
        with one_thread():
            for i in range(0, len(flat), step):
                _, grad = model.loss_and_grad(plane.weights(flat[i:i + step]))
                out[i:i + step] = grad @ plane.directions.T
        return out.T.reshape(xy.shape)

    def hessian(xy):
        raise TypeError("a network's loss over a plane has no Hessian in optviz (second-order methods are "
                        "for 2-D functions)")

    formula = f"{net.describe()}, at origin + x*d1 + y*d2 ({plane.kind} plane through {plane.origin_label}'s end)"
    params = MappingProxyType({"layers": list(net.layers), "activation": net.activation,
                               "data": net.data.description, "init_seed": net.init_seed, "plane": plane.kind})
    return PlaneObjective("network", formula, params, value, gradient, hessian, minima=(),
                          xlim=xlim, ylim=ylim, start=(0.0, 0.0), grid=GRID, axes=plane.axes(), plane=plane)
