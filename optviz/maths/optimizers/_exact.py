"""torch's CPU tensor arithmetic in numpy, so that a run matches float64 torch bit for bit on the same gradients.

torch's ``add(alpha=)``, ``addcmul`` and ``lerp`` are fused multiply-adds (one rounding), so they are here too
(``fma``), and ``scalar / tensor`` is a reciprocal times the scalar. torch's sqrt (MKL's) is one ulp low on
about 0.8% of inputs; numpy's is correctly rounded, and we keep it: that is what keeps chaotic runs on torch's
path for hundreds of steps. The pieces below (moving averages, bias corrections, the descent step) are the
vocabulary every optimizer module is written in.
"""
from __future__ import annotations

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant for splitting a double into two 26-bit halves


def two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def fma(a, b, c):
    """``a*b + c`` rounded once, as torch's CPU kernels compute it (numpy has no fused multiply-add).

    Exact product (Dekker), exact sum (Knuth), then the low parts added with round-to-odd, which makes the
    final round-to-nearest correct (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
    proved algorithms using rounding to odd", IEEE Trans. Computers 2008). Non-finite cases fall back.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        p = a * b
        t = _SPLIT * a
        ah = t - (t - a)
        al = a - ah
        t = _SPLIT * b
        bh = t - (t - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        high, low = two_sum(c, p)
        v, w = two_sum(low, e)
        even = (np.asarray(v, dtype=np.float64).view(np.int64) & 1) == 0
        v = np.where((w != 0) & even, np.nextafter(v, np.copysign(np.inf, w)), v)
        r = high + v
        return np.where(np.isfinite(r), r, p + c)


sqrt = np.sqrt  # correctly rounded; torch's (MKL's) is 1 ulp low on about 0.8% of inputs


def add(x, y, alpha):
    """torch's ``x.add(y, alpha=alpha)``."""
    return x + y if isinstance(alpha, float) and alpha == 1.0 else fma(y, alpha, x)


def addcmul(x, t1, t2, value):
    """torch's ``x.addcmul(t1, t2, value=value)``: ``fma(value*t1, t2, x)``."""
    return fma(value * t1, t2, x)


def lerp(start, end, weight: float):
    """torch's ``start.lerp(end, weight)``, which picks its formula by the size of the weight."""
    if abs(weight) < 0.5:
        return fma(weight, end - start, start)
    return fma(weight - 1.0, end - start, end)


# --- pieces the optimizers are built from ---------------------------------------------------------------

def ema(avg, g, decay: float):
    """``decay*avg + (1-decay)*g``, as torch's ``avg.lerp_(g, 1 - decay)``."""
    return lerp(avg, g, 1.0 - decay)


def ema_sq(avg, g, decay: float):
    """``decay*avg + (1-decay)*g**2``, as torch's ``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``."""
    return addcmul(avg * decay, g, g, 1.0 - decay)


def bias_correction(decay: float, step: int) -> float:
    return 1 - decay**step


def descend(params, lr, direction, denom=None):
    """``params - lr*direction`` (fused, as ``add_(d, alpha=-lr)``) or ``params - lr*direction/denom``
    (as ``addcdiv_(d, denom, value=-lr)``): the one place where a step goes downhill."""
    if denom is None:
        return fma(direction, -lr, params)
    return params - lr * direction / denom

