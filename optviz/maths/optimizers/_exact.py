"""torch's CPU tensor arithmetic in numpy, so that a run matches float64 torch bit for bit on the same gradients.

torch's ``add(alpha=)``, ``addcmul`` and ``lerp`` are fused multiply-adds (one rounding), so they are here too
(``fma``), and ``scalar / tensor`` is a reciprocal times the scalar. torch's sqrt (MKL's) is one ulp low on
about 0.8% of inputs; numpy's is correctly rounded, and we keep it: that is what keeps chaotic runs on torch's
path for hundreds of steps. The pieces below (moving averages, bias corrections, the descent step) are the
vocabulary every optimizer module is written in.

An update is written as a generator that yields each fused multiply-add it needs, ``(a, b, c)``, and is sent
back the result (``yield from fused(a, b, c)``; the pieces below are such generators too): ``drive`` answers them
one by one, and ``simulate`` answers those of all the optimizers advancing together in one call (``fma_all``),
since on a few dozen numbers a call costs the same whatever its size. The results are the same bits either way.
"""
from __future__ import annotations

import math
import types

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant for splitting a double into two 26-bit halves


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
    t = _SPLIT * a                                  # Veltkamp's split of a and of b, inlined: the hot loop
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    high = c + p                                    # Knuth's two-sum of c and p, inlined: the hot loop
    t = high - c
    low = (c - (high - t)) + (p - t)
    v = low + e
    if ((v * _UNSUBNORMAL).view(np.int64) & _LOW_50_BITS == 0).any():
        t = v - low                                 # two-sum of low and e ...
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


def fma_all(requests: list[tuple]) -> list:
    """``[fma(a, b, c) for a, b, c in requests]`` in one call: the operands laid end to end, each request's
    broadcast to its own shape. fma works element by element, so every result has the bits its own call gives."""
    if len(requests) == 1:
        return [fma(*requests[0])]
    columns: tuple[list, list, list] = ([], [], [])
    shapes = []
    for request in requests:
        sizes = [x.shape if type(x) is np.ndarray else np.shape(x) for x in request]
        shape = sizes[0] if sizes[0] == sizes[1] == sizes[2] else np.broadcast_shapes(*sizes)
        for column, x, size in zip(columns, request, sizes):
            column.append(x.reshape(-1) if size == shape and type(x) is np.ndarray
                          else np.broadcast_to(x, shape).reshape(-1))
        shapes.append(shape)
    out = fma(np.concatenate(columns[0]), np.concatenate(columns[1]), np.concatenate(columns[2]))
    results, at = [], 0
    for shape in shapes:
        size = math.prod(shape)
        results.append(out[at:at + size].reshape(shape) if shape else out[at])
        at += size
    return results


def fused(a, b, c):
    """``fma(a, b, c)`` inside an update (``yield from``): asked of whoever drives the update, unless a factor
    makes the product exact (fma's own shortcut), which needs no asking."""
    if _exact_factor(b) or _exact_factor(a):
        return a * b + c
    return (yield a, b, c)


def drive(steps):
    """The plain form of an update written as a generator: each fused multiply-add it asks for, computed at once."""

    def update(*args, **kwargs):
        asking = steps(*args, **kwargs)
        try:
            request = next(asking)
            while True:
                request = asking.send(fma(*request))
        except StopIteration as done:
            return done.value

    return update


def add(x, y, alpha):
    """torch's ``x.add(y, alpha=alpha)``."""
    return (yield from fused(y, alpha, x))


def addcmul(x, t1, t2, value):
    """torch's ``x.addcmul(t1, t2, value=value)``: ``fma(value*t1, t2, x)``."""
    return (yield from fused(value * t1, t2, x))


def lerp(start, end, weight):
    """torch's ``start.lerp(end, weight)``, which picks its formula by the size of the weight (per run when
    the weight is a per-run array)."""
    diff = end - start
    return (yield from branch_fused(abs(weight) < 0.5, lambda: fused(weight, diff, start),
                                    lambda: fused(weight - 1.0, diff, end)))


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


def branch_fused(cond, then, otherwise):
    """``branch`` for an update's generator (``yield from``), where a side may ask for fused multiply-adds: a
    side returns a generator (a piece such as ``add``) or a plain value."""
    if isinstance(cond, np.ndarray):
        if not cond.all() and cond.any():
            chosen = then()
            if type(chosen) is types.GeneratorType:
                chosen = yield from chosen
            other = otherwise()
            if type(other) is types.GeneratorType:
                other = yield from other
            return np.where(cond, chosen, other)
        cond = cond.all()
    side = then() if cond else otherwise()
    if type(side) is types.GeneratorType:
        side = yield from side
    return side


def some(cond) -> bool:
    """Whether any run takes a branch (``cond`` a Python bool or a per-run array)."""
    return bool(cond.any()) if isinstance(cond, np.ndarray) else bool(cond)


def scalar(f, *args):
    """``f(*args)`` in Python floats, as torch computes its step-size scalars; with per-run array arguments,
    once per run (numpy's ``power`` may round differently from Python's ``**``)."""
    for a in args:
        if isinstance(a, np.ndarray):
            break
    else:                       # all Python floats: the common case, without a generator's cost
        return f(*args)
    columns = np.broadcast_arrays(*args)
    values = [f(*(float(v) for v in row)) for row in zip(*(c.ravel() for c in columns))]
    return np.array(values, dtype=np.float64).reshape(columns[0].shape)


# --- pieces the optimizers are built from ---------------------------------------------------------------

def ema(avg, g, decay: float):
    """``decay*avg + (1-decay)*g``, as torch's ``avg.lerp_(g, 1 - decay)``."""
    return (yield from lerp(avg, g, 1.0 - decay))


def ema_sq(avg, g, decay: float):
    """``decay*avg + (1-decay)*g**2``, as torch's ``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``."""
    return (yield from addcmul(avg * decay, g, g, 1.0 - decay))


def moments(avg, avg_sq, g, decay, decay_sq):
    """``(ema(avg, g, decay), ema_sq(avg_sq, g, decay_sq))``, Adam's two moments, in one fused call: they
    are independent, and on a few runs a call costs the same whatever its size. Each half gets exactly the
    operands its own call would (lerp's formula picked per run), so the results are the same."""
    weight = 1.0 - decay
    diff = g - avg
    small = abs(weight) < 0.5
    a, b, c = np.empty((3, 2, *np.shape(g)))
    a[0] = branch(small, lambda: weight, lambda: weight - 1.0)
    b[0] = diff
    c[0] = branch(small, lambda: avg, lambda: g)
    a[1] = (1.0 - decay_sq) * g
    b[1] = g
    c[1] = avg_sq * decay_sq
    both = yield a, b, c        # arrays of runs: no exact shortcut to look for
    return both[0], both[1]


def bias_correction(decay, step: int):
    return scalar(lambda d: 1 - d**step, decay)


def descend(params, lr, direction, denom=None):
    """``params - lr*direction`` (fused, as ``add_(d, alpha=-lr)``) or ``params - lr*direction/denom``
    (as ``addcdiv_(d, denom, value=-lr)``): the one place where a step goes downhill."""
    if isinstance(lr, np.ndarray) and lr.shape != direction.shape:   # per-run (runs, 1): spread it once
        lr = np.repeat(lr, direction.shape[-1], axis=-1)
    if denom is None:
        return (yield from fused(direction, -lr, params))
    return params - lr * direction / denom

