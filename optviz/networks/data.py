"""Classification data for a network scene: four two-class sets generated in code (no downloads), or a CSV.

Each generator takes ``n`` points, ``noise`` and ``seed`` and returns a ``DataSet``: features ``x`` (n, 2),
float64, and labels ``y`` (n,) in {0, 1}, half of each class (the first ``n // 2`` points are class 0).
The shapes follow the usual toy sets: ``moons`` and ``circles`` as scikit-learn's ``make_moons`` and
``make_circles`` (factor 0.5), ``spiral`` as the two-armed spiral of Stanford's CS231n notes, ``xor`` the
four quadrants. The same seed gives the same points on every machine (numpy's PCG64).

>>> d = make_data("spiral", n=8, noise=0.0, seed=0)
>>> d.x.shape, d.y.tolist(), d.classes, d.features
((8, 2), [0, 0, 0, 0, 1, 1, 1, 1], 2, 2)
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

#: The most rows a CSV may have (a generated set's ``n`` has the same bound).
MAX_ROWS = 10_000


@dataclass(frozen=True, eq=False)
class DataSet:
    """Features and integer labels 0..classes-1, with a short description for titles and ``trace``."""

    x: np.ndarray
    y: np.ndarray
    description: str

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def features(self) -> int:
        return int(self.x.shape[1])

    @property
    def classes(self) -> int:
        return int(self.y.max()) + 1


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _labels(n: int) -> np.ndarray:
    a, b = _halves(n)
    return np.concatenate([np.zeros(a, dtype=np.int64), np.ones(b, dtype=np.int64)])


def spiral(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Two interleaved arms of 1.5 turns each, radius growing from 0 to 1; ``noise`` jitters the angle."""
    arms = []
    for arm, size in enumerate(_halves(n)):
        r = np.linspace(0.0, 1.0, size)
        t = np.linspace(0.0, 3 * np.pi, size) + arm * np.pi + noise * rng.standard_normal(size)
        arms.append(np.stack([r * np.cos(t), r * np.sin(t)], axis=1))
    return np.concatenate(arms)


def moons(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Two interleaving half circles (scikit-learn's make_moons), Gaussian noise of std ``noise``."""
    a, b = _halves(n)
    t0, t1 = np.linspace(0.0, np.pi, a), np.linspace(0.0, np.pi, b)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1), np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    return x + noise * rng.standard_normal(x.shape)


def circles(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A circle inside another of twice its radius (scikit-learn's make_circles, factor 0.5)."""
    a, b = _halves(n)
    t0 = np.linspace(0.0, 2 * np.pi, a, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, b, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1), 0.5 * np.stack([np.cos(t1), np.sin(t1)], 1)])
    return x + noise * rng.standard_normal(x.shape)


def xor(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Class 0 in the quadrants where x*y > 0, class 1 where x*y < 0, uniform in [-1, 1]^2 before the noise."""
    a, b = _halves(n)
    same = rng.uniform(0.05, 1.0, (a, 2)) * rng.choice([-1.0, 1.0], (a, 1))
    mixed = rng.uniform(0.05, 1.0, (b, 2)) * np.array([1.0, -1.0]) * rng.choice([-1.0, 1.0], (b, 1))
    x = np.concatenate([same, mixed])
    return x + noise * rng.standard_normal(x.shape)


#: The generated sets, by the name a scene gives.
GENERATORS: dict[str, Callable[[int, float, np.random.Generator], np.ndarray]] = {
    "spiral": spiral, "moons": moons, "circles": circles, "xor": xor,
}


def make_data(name: str, n: int, noise: float, seed: int) -> DataSet:
    x = GENERATORS[name](n, noise, np.random.default_rng(seed))
    return DataSet(np.ascontiguousarray(x, dtype=np.float64), _labels(n),
                   f"{name} ({n} points, noise {noise:g}, seed {seed})")


def read_csv(path: Path) -> DataSet:
    """Rows of numbers, the last column the class label (a whole number from 0). A first row that is not
    numeric is a header and skipped. Raises ``ValueError`` naming the row and column of the first problem."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path} is not a text CSV file ({exc})") from None
    if rows and not _numeric(rows[0]):
        rows, first = rows[1:], 2
    else:
        first = 1
    if len(rows) < 2:
        raise ValueError(f"{path} needs at least 2 data rows, has {len(rows)}")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"{path} has {len(rows)} data rows; the limit is {MAX_ROWS}")
    width = len(rows[0])
    if width < 2:
        raise ValueError(f"{path} needs at least one feature column and a label column")
    values = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path} row {i + first} has {len(row)} columns, the first has {width}")
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise ValueError(f"{path} row {i + first} column {j + 1}: not a number: {cell.strip()[:20]!r}") \
                    from None
            if not math.isfinite(values[i, j]):
                raise ValueError(f"{path} row {i + first} column {j + 1}: not a finite number")
    labels = values[:, -1]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= 1000))
    if bad.size:
        raise ValueError(f"{path} row {bad[0] + first}: the label (last column) must be a whole number "
                         f"from 0 to 999, got {labels[bad[0]]:g}")
    y = labels.astype(np.int64)
    missing = sorted(set(range(int(y.max()) + 1)) - set(y.tolist()))
    if int(y.max()) < 1:
        raise ValueError(f"{path}: every row has label {int(y.max())}; a classifier needs at least 2 classes")
    if missing:
        raise ValueError(f"{path}: labels must be 0..{int(y.max())} with every class present; "
                         f"no row has label {missing[0]}")
    return DataSet(np.ascontiguousarray(values[:, :-1]), y, f"{path.name} ({len(rows)} rows)")


def _numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True
