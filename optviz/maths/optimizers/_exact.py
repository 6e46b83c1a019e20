"""torch's CPU tensor arithmetic in numpy, so that a run matches float64 torch bit for bit on the same gradients.

torch's ``add(alpha=)``, ``addcmul`` and ``lerp`` are fused multiply-adds (one rounding), so they are here too
(``fma``), and ``scalar / tensor`` is a reciprocal times the scalar. torch's sqrt (MKL's) is one ulp low on
about 0.8% of inputs; numpy's is correctly rounded, and we keep it: that is what keeps chaotic runs on torch's
path for hundreds of steps. The pieces below (moving averages, bias corrections, the descent step) are the
vocabulary every optimizer module is written in.
"""
from __future__ import annotations

import math

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant for splitting a double into two 26-bit halves


def two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(x):
    """Veltkamp's split of ``x`` into a high and a low half, each exactly multipliable; in Python floats for a
    scalar (nanoseconds instead of four numpy calls)."""
    if isinstance(x, (float, int)):
        t = _SPLIT * x
        high = t - (t - x)
        return high, x - high
    t = _SPLIT * x
    high = t - (t - x)
    return high, x - high


def _exact_factor(x) -> bool:
    """Whether multiplying any double by ``x`` is exact (or overflows, which fma's fallback handles alike):
    a scalar 0 or plus-minus a power of two no smaller than 1 (a smaller one could round a subnormal product)."""
    if not isinstance(x, (float, int)):
        return False
    if x == 0.0:
        return True
    mantissa, exponent = math.frexp(x)
    return abs(mantissa) == 0.5 and exponent >= 1


def fma(a, b, c):
    """``a*b + c`` rounded once, as torch's CPU kernels compute it (numpy has no fused multiply-add).

    Exact product (Dekker), exact sum (Knuth), then the low parts added with round-to-odd, which makes the
    final round-to-nearest correct (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
    proved algorithms using rounding to odd", IEEE Trans. Computers 2008). Non-finite cases fall back.

    Two shortcuts, each provably giving the same bits: a scalar factor 0 or a power of two (1 included) makes
    the product exact, so ``a*b + c`` is already rounded once; and rounding the low parts to nearest instead of
    to odd can only go wrong when the rounded sum ``v`` lands exactly on a rounding midpoint of the high part,
    which lies within 1.5 ulps of it and so has at most 3 significant bits: the slow path is taken only when
    some ``v`` is that short (zero included).
    """
    if _exact_factor(b) or _exact_factor(a):
        return a * b + c
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    high = c + p                                    # two_sum(c, p), inlined: this is the hot loop
    t = high - c
    low = (c - (high - t)) + (p - t)
    v = low + e
    if ((v * _UNSUBNORMAL).view(np.int64) & _LOW_50_BITS == 0).any():
        t = v - low                                 # two_sum(low, e) ...
        w = (low - (v - t)) + (e - t)
        # ... rounded to odd: where inexact (w != 0) and v's last bit is 0, step one ulp towards w, which on
        # v's bits is -1 when w has the opposite sign, else +1; ((bits - opposite) | 1) does both
        bits = v.view(np.int64)
        inexact = w != 0
        step_down = ((bits ^ w.view(np.int64)) < 0) & inexact
        v = ((bits - step_down) | inexact).view(np.float64)
    r = high + v
    finite = np.isfinite(r)
    return r if finite.all() else np.where(finite, r, p + c)


_UNSUBNORMAL = 2.0**60        # scaling by it is exact and makes a subnormal v normal, so its bits can be counted
_LOW_50_BITS = (1 << 50) - 1  # the significand bits beyond the leading 3


sqrt = np.sqrt  # correctly rounded; torch's (MKL's) is 1 ulp low on about 0.8% of inputs


def add(x, y, alpha):
    """torch's ``x.add(y, alpha=alpha)``."""
    return fma(y, alpha, x)


def addcmul(x, t1, t2, value):
    """torch's ``x.addcmul(t1, t2, value=value)``: ``fma(value*t1, t2, x)``."""
    return fma(value * t1, t2, x)


def lerp(start, end, weight):
    """torch's ``start.lerp(end, weight)``, which picks its formula by the size of the weight (per run when
    the weight is a per-run array)."""
    diff = end - start
    return branch(abs(weight) < 0.5, lambda: fma(weight, diff, start), lambda: fma(weight - 1.0, diff, end))


# --- hyperparameters that differ between runs --------------------------------------------------------------
# A hyperparameter is a Python scalar, or a (runs, 1) array when the runs advancing together differ in it.
# torch decides some things in Python (``if momentum != 0``, which lerp formula, ``if rho_t > 5``) and computes
# its step sizes in Python floats (``beta ** step``); with per-run values each run takes its own branch and
# gets the same Python-float scalars, so a run is bit for bit the same alone or in a batch.

def branch(cond, then, otherwise):
    """``then() if cond else otherwise()``, per run when ``cond`` is an array: each side is computed only if
    some run takes it."""
    if not isinstance(cond, np.ndarray):
        return then() if cond else otherwise()
    if cond.all():
        return then()
    if not cond.any():
        return otherwise()
    return np.where(cond, then(), otherwise())


def some(cond) -> bool:
    """Whether any run takes a branch (``cond`` a Python bool or a per-run array)."""
    return bool(cond.any()) if isinstance(cond, np.ndarray) else bool(cond)


def scalar(f, *args):
    """``f(*args)`` in Python floats, as torch computes its step-size scalars; with per-run array arguments,
    once per run (numpy's ``power`` may round differently from Python's ``**``)."""
    if not any(isinstance(a, np.ndarray) for a in args):
        return f(*args)
    columns = np.broadcast_arrays(*args)
    values = [f(*(float(v) for v in row)) for row in zip(*(c.ravel() for c in columns))]
    return np.array(values, dtype=np.float64).reshape(columns[0].shape)


# --- pieces the optimizers are built from ---------------------------------------------------------------

def ema(avg, g, decay: float):
    """``decay*avg + (1-decay)*g``, as torch's ``avg.lerp_(g, 1 - decay)``."""
    return lerp(avg, g, 1.0 - decay)


def ema_sq(avg, g, decay: float):
    """``decay*avg + (1-decay)*g**2``, as torch's ``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``."""
    return addcmul(avg * decay, g, g, 1.0 - decay)


def moments(avg, avg_sq, g, decay, decay_sq):
    """``(ema(avg, g, decay), ema_sq(avg_sq, g, decay_sq))``, Adam's two moments, in one ``fma`` call: they
    are independent, and on a few runs a call costs the same whatever its size. Each half gets exactly the
    operands its own call would (lerp's formula picked per run), so the results are the same."""
    weight = 1.0 - decay
    diff = g - avg
    small = abs(weight) < 0.5
    a, b, c = (np.empty((2, *np.shape(g))) for _ in range(3))
    a[0] = branch(small, lambda: weight, lambda: weight - 1.0)
    b[0] = diff
    c[0] = branch(small, lambda: avg, lambda: g)
    a[1] = (1.0 - decay_sq) * g
    b[1] = g
    c[1] = avg_sq * decay_sq
    both = fma(a, b, c)
    return both[0], both[1]


def bias_correction(decay, step: int):
    return scalar(lambda d: 1 - d**step, decay)


def descend(params, lr, direction, denom=None):
    """``params - lr*direction`` (fused, as ``add_(d, alpha=-lr)``) or ``params - lr*direction/denom``
    (as ``addcdiv_(d, denom, value=-lr)``): the one place where a step goes downhill."""
    if isinstance(lr, np.ndarray) and lr.shape != direction.shape:   # per-run (runs, 1): spread it once
        lr = np.repeat(lr, direction.shape[-1], axis=-1)
    if denom is None:
        return fma(direction, -lr, params)
    return params - lr * direction / denom

