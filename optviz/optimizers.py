"""Optimizers as pure ``init``/``update`` pairs over ``(runs, 2)`` arrays, with torch.optim's numbers.

Each rule follows torch 2.13's ``_single_tensor_*`` code operation by operation, and does the arithmetic
torch's CPU kernels do: ``add(alpha=)``, ``addcmul`` and ``lerp`` are fused multiply-adds there (one
rounding), so they are here too (``_fma``), and ``scalar / tensor`` is a reciprocal times the scalar. Given
the same gradients a run matches float64 torch bit for bit, except that torch's sqrt (MKL's) is one ulp low
on about 0.8% of inputs; that is what keeps chaotic runs on torch's path for hundreds of steps.

Hyperparameters use torch's names, defaults and order; ``make_optimizer`` checks them and fills them in.
The one addition is ``eps_inside_sqrt`` (RMSProp, Adam and kin): the post divides by ``sqrt(v + eps)``
where torch divides by ``sqrt(v) + eps``; it matters only while ``v`` is comparable to ``eps``.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple

import numpy as np

__all__ = ["Optimizer", "Hyper", "Rule", "OptimizerSpec", "OPTIMIZERS", "make_optimizer"]


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params, lr) -> (new_params, new_state)``.

    Arrays are ``(runs, 2)``. ``lr`` is the current group lr, a float or a ``(runs, 1)`` array (one per run).
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, Any], tuple[np.ndarray, Any]]


# --- torch's tensor arithmetic, in numpy ----------------------------------------------------------------

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant for splitting a double into two 26-bit halves


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fma(a, b, c):
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
        high, low = _two_sum(c, p)
        v, w = _two_sum(low, e)
        even = (np.asarray(v, dtype=np.float64).view(np.int64) & 1) == 0
        v = np.where((w != 0) & even, np.nextafter(v, np.copysign(np.inf, w)), v)
        r = high + v
        return np.where(np.isfinite(r), r, p + c)


_sqrt = np.sqrt  # correctly rounded; torch's (MKL's) is 1 ulp low on about 0.8% of inputs


def _add(x, y, alpha):
    """torch's ``x.add(y, alpha=alpha)``."""
    return x + y if isinstance(alpha, float) and alpha == 1.0 else _fma(y, alpha, x)


def _addcmul(x, t1, t2, value):
    """torch's ``x.addcmul(t1, t2, value=value)``: ``fma(value*t1, t2, x)``."""
    return _fma(value * t1, t2, x)


def _lerp(start, end, weight: float):
    """torch's ``start.lerp(end, weight)``, which picks its formula by the size of the weight."""
    if abs(weight) < 0.5:
        return _fma(weight, end - start, start)
    return _fma(weight - 1.0, end - start, end)


# --- pieces the optimizers are built from ---------------------------------------------------------------

def _ema(avg, g, decay: float):
    """``decay*avg + (1-decay)*g``, as torch's ``avg.lerp_(g, 1 - decay)``."""
    return _lerp(avg, g, 1.0 - decay)


def _ema_sq(avg, g, decay: float):
    """``decay*avg + (1-decay)*g**2``, as torch's ``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``."""
    return _addcmul(avg * decay, g, g, 1.0 - decay)


def _bias_correction(decay: float, step: int) -> float:
    return 1 - decay**step


def _descend(params, lr, direction, denom=None):
    """``params - lr*direction`` (fused, as ``add_(d, alpha=-lr)``) or ``params - lr*direction/denom``
    (as ``addcdiv_(d, denom, value=-lr)``): the one place where a step goes downhill."""
    if denom is None:
        return _fma(direction, -lr, params)
    return params - lr * direction / denom


def _maximizing(opt: Optimizer) -> Optimizer:
    """Ascend instead: torch negates the gradient before anything else."""
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(-g, state, p, lr))


def _l2_weight_decay(opt: Optimizer, weight_decay: float) -> Optimizer:
    """``g + weight_decay*theta``: L2 regularisation folded into the gradient."""
    if weight_decay == 0:
        return opt
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(_add(g, p, weight_decay), state, p, lr))


def _decoupled_weight_decay(opt: Optimizer, weight_decay: float) -> Optimizer:
    """``theta *= 1 - lr*weight_decay`` before the step (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization", ICLR 2019)."""
    if weight_decay == 0:
        return opt
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(g, state, p * (1 - lr * weight_decay), lr))


def _weight_decay(opt: Optimizer, weight_decay: float, decoupled: bool) -> Optimizer:
    return (_decoupled_weight_decay if decoupled else _l2_weight_decay)(opt, weight_decay)


def _float64(opt: Optimizer) -> Optimizer:
    """Accept lists and float32 at the boundary; inside, everything is float64 like the golden torch runs."""

    def init(params):
        return opt.init(np.asarray(params, dtype=np.float64))

    def update(grads, state, params, lr):
        lr = float(lr) if np.ndim(lr) == 0 else np.asarray(lr, dtype=np.float64)
        if np.ndim(lr) == 1:  # one lr per run, given flat: (runs,) would broadcast along the wrong axis
            lr = lr[:, None]
        return opt.update(np.asarray(grads, dtype=np.float64), state, np.asarray(params, dtype=np.float64), lr)

    return Optimizer(init, update)


def _torch_like(core: Optimizer, weight_decay: float, maximize: bool, decoupled: bool = False) -> Optimizer:
    """Wrap a rule in torch's preamble: negate for ``maximize``, then weight decay, then the rule."""
    opt = _weight_decay(core, weight_decay, decoupled)
    return _float64(_maximizing(opt) if maximize else opt)


# --- the rules ---------------------------------------------------------------------------------------------

class SGDState(NamedTuple):
    momentum_buffer: np.ndarray
    step: int


def _sgd(momentum: float, dampening: float, nesterov: bool) -> Optimizer:
    r"""Heavy ball (Polyak, "Some methods of speeding up the convergence of iteration methods", 1964) and
    Nesterov momentum in the form of Sutskever et al., "On the importance of initialization and momentum
    in deep learning", ICML 2013:

    .. math:: b_t = \mu b_{t-1} + (1-\tau) g_t \ (b_1 = g_1), \quad
              d_t = g_t + \mu b_t \text{ (nesterov) or } b_t, \quad \theta_t = \theta_{t-1} - \gamma d_t

    The buffer starts as the first gradient, undamped: that is torch's choice, and the post's figures fit it.
    """

    def init(params):
        return SGDState(np.zeros_like(params), 0)

    def update(g, state, p, lr):
        buf = state.momentum_buffer
        if momentum != 0:
            buf = g.copy() if state.step == 0 else _add(buf * momentum, g, 1 - dampening)
            g = _add(g, buf, momentum) if nesterov else buf
        return _descend(p, lr, g), SGDState(buf, state.step + 1)

    return Optimizer(init, update)


class RMSpropState(NamedTuple):
    square_avg: np.ndarray
    grad_avg: np.ndarray
    momentum_buffer: np.ndarray
    step: int


def _rmsprop(alpha: float, eps: float, momentum: float, centered: bool, eps_inside_sqrt: bool) -> Optimizer:
    r"""RMSProp (Hinton, Neural Networks for Machine Learning, lecture 6e, 2012); centered as in Graves,
    "Generating Sequences With Recurrent Neural Networks", 2013:

    .. math:: v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \quad
              \tilde v_t = v_t - \bar g_t^2 \text{ (centered, } \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t),
    .. math:: \theta_t = \theta_{t-1} - \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon)
              \quad\text{or, with momentum, } b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon),\
              \theta_t = \theta_{t-1} - \gamma b_t

    ``eps_inside_sqrt`` divides by :math:`\sqrt{\tilde v_t + \epsilon}` instead, the post's form.
    """

    def init(params):
        zeros = np.zeros_like(params)
        return RMSpropState(zeros, zeros, zeros, 0)

    def update(g, state, p, lr):
        square_avg = _ema_sq(state.square_avg, g, alpha)
        grad_avg = state.grad_avg
        var = square_avg
        if centered:
            grad_avg = _ema(grad_avg, g, alpha)
            var = _addcmul(square_avg, grad_avg, grad_avg, -1.0)
        avg = _sqrt(var + eps) if eps_inside_sqrt else _sqrt(var) + eps
        buf = state.momentum_buffer
        if momentum > 0:
            buf = buf * momentum + g / avg
            p = _descend(p, lr, buf)
        else:
            p = _descend(p, lr, g, avg)
        return p, RMSpropState(square_avg, grad_avg, buf, state.step + 1)

    return Optimizer(init, update)


class AdamState(NamedTuple):
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray
    step: int


def _adam(betas: tuple[float, float], eps: float, amsgrad: bool, eps_inside_sqrt: bool) -> Optimizer:
    r"""Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015); AMSGrad (Reddi et al.,
    "On the Convergence of Adam and Beyond", ICLR 2018) divides by the running maximum of :math:`v`:

    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
    .. math:: \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,
              \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    ``eps_inside_sqrt`` uses :math:`\sqrt{v_t/(1-\beta_2^t) + \epsilon}`, the post's form.
    """
    beta1, beta2 = betas

    def init(params):
        zeros = np.zeros_like(params)
        return AdamState(zeros, zeros, zeros, 0)

    def update(g, state, p, lr):
        step = state.step + 1
        exp_avg = _ema(state.exp_avg, g, beta1)
        exp_avg_sq = _ema_sq(state.exp_avg_sq, g, beta2)
        bias_correction2 = _bias_correction(beta2, step)
        step_size = lr / _bias_correction(beta1, step)
        v = exp_avg_sq
        max_exp_avg_sq = state.max_exp_avg_sq
        if amsgrad:
            v = max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
        if eps_inside_sqrt:
            denom = _sqrt(v / bias_correction2 + eps)
        else:
            denom = _sqrt(v) / bias_correction2**0.5 + eps
        p = _descend(p, step_size, exp_avg, denom)
        return p, AdamState(exp_avg, exp_avg_sq, max_exp_avg_sq, step)

    return Optimizer(init, update)


class NAdamState(NamedTuple):
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    mu_product: float
    step: int


def _nadam(betas: tuple[float, float], eps: float, momentum_decay: float) -> Optimizer:
    r"""NAdam (Dozat, "Incorporating Nesterov Momentum into Adam", ICLR workshop 2016), with torch's
    momentum schedule :math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot 0.96^{t\psi})`, :math:`\psi` = momentum_decay
    (torch keeps :math:`\prod \mu_i` in its default dtype; the golden runs set that to float64, as here):

    .. math:: \theta_t = \theta_{t-1} - \gamma \Big( \frac{1-\mu_t}{1-\prod_{i\le t}\mu_i} g_t
              + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i} m_t \Big)
              \Big/ \Big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Big)
    """
    beta1, beta2 = betas

    def init(params):
        zeros = np.zeros_like(params)
        return NAdamState(zeros, zeros, 1.0, 0)

    def update(g, state, p, lr):
        step = state.step + 1
        bias_correction2 = _bias_correction(beta2, step)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = state.mu_product * mu
        mu_product_next = mu_product * mu_next
        exp_avg = _ema(state.exp_avg, g, beta1)
        exp_avg_sq = _ema_sq(state.exp_avg_sq, g, beta2)
        denom = _sqrt(exp_avg_sq / bias_correction2) + eps
        p = _descend(p, lr * (1.0 - mu) / (1.0 - mu_product), g, denom)
        p = _descend(p, lr * mu_next / (1.0 - mu_product_next), exp_avg, denom)
        return p, NAdamState(exp_avg, exp_avg_sq, mu_product, step)

    return Optimizer(init, update)


class RAdamState(NamedTuple):
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    step: int


def _radam(betas: tuple[float, float], eps: float) -> Optimizer:
    r"""RAdam (Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020): momentum
    SGD until the variance of the adaptive rate is tractable (:math:`\rho_t > 5`), then rectified Adam:

    .. math:: \rho_\infty = \tfrac{2}{1-\beta_2} - 1, \quad
              \rho_t = \rho_\infty - \tfrac{2 t \beta_2^t}{1-\beta_2^t},
              \quad r_t = \sqrt{\tfrac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}},
    .. math:: \theta_t = \theta_{t-1} - \gamma \frac{m_t}{1-\beta_1^t}
              \cdot \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon} r_t
              \quad (\text{else } \theta_{t-1} - \gamma \tfrac{m_t}{1-\beta_1^t})
    """
    beta1, beta2 = betas
    rho_inf = 2 / (1 - beta2) - 1

    def init(params):
        zeros = np.zeros_like(params)
        return RAdamState(zeros, zeros, 0)

    def update(g, state, p, lr):
        step = state.step + 1
        exp_avg = _ema(state.exp_avg, g, beta1)
        exp_avg_sq = _ema_sq(state.exp_avg_sq, g, beta2)
        bias_correction2 = _bias_correction(beta2, step)
        direction = exp_avg / _bias_correction(beta1, step) * lr
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = 1.0 / (_sqrt(exp_avg_sq) + eps) * bias_correction2**0.5  # torch's scalar/tensor
            direction = direction * adaptive_lr * rect
        return _descend(p, 1.0, direction), RAdamState(exp_avg, exp_avg_sq, step)

    return Optimizer(init, update)


class AdagradState(NamedTuple):
    sum: np.ndarray
    step: int


def _adagrad(lr_decay: float, initial_accumulator_value: float, eps: float) -> Optimizer:
    r"""Adagrad (Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
    Optimization", JMLR 2011):

    .. math:: s_t = s_{t-1} + g_t^2, \quad
              \theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t-1)\eta}\, \frac{g_t}{\sqrt{s_t} + \epsilon}
    """

    def init(params):
        return AdagradState(np.full_like(params, initial_accumulator_value), 0)

    def update(g, state, p, lr):
        step = state.step + 1
        clr = lr / (1 + (step - 1) * lr_decay)
        total = _addcmul(state.sum, g, g, 1.0)
        return _descend(p, clr, g, _sqrt(total) + eps), AdagradState(total, step)

    return Optimizer(init, update)


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray
    acc_delta: np.ndarray
    step: int


def _adadelta(rho: float, eps: float) -> Optimizer:
    r"""Adadelta (Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012); eps inside the roots:

    .. math:: v_t = \rho v_{t-1} + (1-\rho) g_t^2, \quad
              \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} g_t, \quad
              u_t = \rho u_{t-1} + (1-\rho) \Delta_t^2, \quad \theta_t = \theta_{t-1} - \gamma \Delta_t
    """

    def init(params):
        zeros = np.zeros_like(params)
        return AdadeltaState(zeros, zeros, 0)

    def update(g, state, p, lr):
        square_avg = _ema_sq(state.square_avg, g, rho)
        delta = _sqrt(state.acc_delta + eps) / _sqrt(square_avg + eps) * g
        acc_delta = _ema_sq(state.acc_delta, delta, rho)
        return _descend(p, lr, delta), AdadeltaState(square_avg, acc_delta, state.step + 1)

    return Optimizer(init, update)


class AdamaxState(NamedTuple):
    exp_avg: np.ndarray
    exp_inf: np.ndarray
    step: int


def _adamax(betas: tuple[float, float], eps: float) -> Optimizer:
    r"""Adamax, Adam with the infinity norm (Kingma & Ba, ICLR 2015, section 7.1):

    .. math:: u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \quad
              \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t} \frac{m_t}{u_t}
    """
    beta1, beta2 = betas

    def init(params):
        zeros = np.zeros_like(params)
        return AdamaxState(zeros, zeros, 0)

    def update(g, state, p, lr):
        step = state.step + 1
        exp_avg = _ema(state.exp_avg, g, beta1)
        exp_inf = np.maximum(state.exp_inf * beta2, np.abs(g) + eps)
        p = _descend(p, lr / _bias_correction(beta1, step), exp_avg, exp_inf)
        return p, AdamaxState(exp_avg, exp_inf, step)

    return Optimizer(init, update)


# --- builders: complete hyperparameters (except lr) -> Optimizer -------------------------------------------

def _build_sgd(momentum, dampening, weight_decay, nesterov, maximize):
    return _torch_like(_sgd(momentum, dampening, nesterov), weight_decay, maximize)


def _build_rmsprop(alpha, eps, weight_decay, momentum, centered, maximize, eps_inside_sqrt):
    return _torch_like(_rmsprop(alpha, eps, momentum, centered, eps_inside_sqrt), weight_decay, maximize)


def _build_adam(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt, decoupled_weight_decay=False):
    return _torch_like(_adam(betas, eps, amsgrad, eps_inside_sqrt), weight_decay, maximize, decoupled_weight_decay)


def _build_adamw(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt):
    return _build_adam(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt, decoupled_weight_decay=True)


def _build_nadam(betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize):
    return _torch_like(_nadam(betas, eps, momentum_decay), weight_decay, maximize, decoupled_weight_decay)


def _build_radam(betas, eps, weight_decay, decoupled_weight_decay, maximize):
    return _torch_like(_radam(betas, eps), weight_decay, maximize, decoupled_weight_decay)


def _build_adagrad(lr_decay, weight_decay, initial_accumulator_value, eps, maximize):
    return _torch_like(_adagrad(lr_decay, initial_accumulator_value, eps), weight_decay, maximize)


def _build_adadelta(rho, eps, weight_decay, maximize):
    return _torch_like(_adadelta(rho, eps), weight_decay, maximize)


def _build_adamax(betas, eps, weight_decay, maximize):
    return _torch_like(_adamax(betas, eps), weight_decay, maximize)


# --- hyperparameter metadata and checks ----------------------------------------------------------------------

@dataclass(frozen=True)
class Hyper:
    """One hyperparameter: its type and range, for the scene validator, the JSON Schema and ``check``."""

    name: str
    default: Any
    kind: str  # "float" | "bool" | "betas" (pair of floats) | "int"
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    help: str = ""

    def range_text(self) -> str:
        """The allowed range in interval notation, e.g. ``[0, 1)``, or ``>= 0``; ``""`` when unbounded."""
        low = self.minimum if self.minimum is not None else self.exclusive_minimum
        high = self.maximum if self.maximum is not None else self.exclusive_maximum
        if low is not None and high is not None:
            return (f"in {'[' if self.minimum is not None else '('}{low:g}, "
                    f"{high:g}{']' if self.maximum is not None else ')'}")
        if low is not None:
            return f"{'>=' if self.minimum is not None else '>'} {low:g}"
        if high is not None:
            return f"{'<=' if self.maximum is not None else '<'} {high:g}"
        return ""

    def in_range(self, x: float) -> bool:
        return not ((self.minimum is not None and x < self.minimum)
                    or (self.exclusive_minimum is not None and x <= self.exclusive_minimum)
                    or (self.maximum is not None and x > self.maximum)
                    or (self.exclusive_maximum is not None and x >= self.exclusive_maximum))

    def problems(self, value: Any) -> list[tuple[str, str]]:
        """Type and range problems of one value, keyed like ``betas[1]``."""
        if self.kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
            return [] if ok else [(self.name, f"must be true or false, got {value!r}")]
        if self.kind == "betas":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
                return [(self.name, f"must be a pair of numbers, got {value!r}")]
            return [p for i, x in enumerate(value) for p in self._number(x, f"{self.name}[{i}]")]
        return self._number(value, self.name)

    def _number(self, x: Any, key: str) -> list[tuple[str, str]]:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
            return [(key, f"must be a number, got {x!r}")]
        if self.kind == "int" and not float(x).is_integer():
            return [(key, f"must be a whole number, got {x!r}")]
        if not math.isfinite(x):
            return [(key, f"must be a finite number, got {x!r}")]
        if not self.in_range(float(x)):
            return [(key, f"must be {self.range_text()}, got {x:g}")]
        return []

    def normalize(self, value: Any) -> Any:
        if self.kind == "bool":
            return bool(value)
        if self.kind == "betas":
            return (float(value[0]), float(value[1]))
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class Rule:
    """A check across fields, reported at ``key``; skipped while a field it reads is itself unsound."""

    key: str
    reads: tuple[str, ...]
    ok: Callable[[dict], bool]
    message: str


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: what the optimizer is called, what torch calls it, and how to build it."""

    name: str
    torch_class: str
    rule: str
    hypers: tuple[Hyper, ...]
    build: Callable[..., Optimizer]
    base: str | None = None
    rules: tuple[Rule, ...] = ()

    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hypers}

    def hyper(self, name: str) -> Hyper:
        return next(h for h in self.hypers if h.name == name)

    def check(self, hp: dict) -> list[tuple[str, str]]:
        """Every problem of a complete hyperparameter dict, as ``[(key, message)]``: unknown and missing
        keys, types, the declared ranges, then rules between fields (only when those fields are sound)."""
        known = {h.name for h in self.hypers}
        problems = [(key, f"unknown hyperparameter for {self.name}{_did_you_mean(key, known)}")
                    for key in hp if key not in known]
        for h in self.hypers:
            problems += h.problems(hp[h.name]) if h.name in hp else [(h.name, "missing")]
        unsound = {key.split("[")[0] for key, _ in problems}
        return problems + [(r.key, r.message) for r in self.rules if not unsound & set(r.reads) and not r.ok(hp)]

    def torch_kwargs(self, hp: dict) -> dict:
        """The keyword arguments for ``torch_class`` (drops optviz-only options, which must be off)."""
        if hp.get("eps_inside_sqrt"):
            raise ValueError("eps_inside_sqrt has no torch equivalent")
        return {k: v for k, v in hp.items() if k != "eps_inside_sqrt"}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _lr(default: float) -> Hyper:
    return Hyper("lr", default, "float", exclusive_minimum=0.0, help="learning rate")


def _betas() -> Hyper:
    return Hyper("betas", (0.9, 0.999), "betas", minimum=0.0, exclusive_maximum=1.0,
                 help="decay rates of the first and second moment averages")


def _eps(default: float, help: str = "added to the denominator for numerical stability") -> Hyper:
    return Hyper("eps", default, "float", minimum=0.0, help=help)


def _weight_decay_hyper(default: float = 0.0) -> Hyper:
    return Hyper("weight_decay", default, "float", minimum=0.0, help="weight decay (L2 penalty)")


_MAXIMIZE = Hyper("maximize", False, "bool", help="ascend the function instead of descending it")
_EPS_INSIDE_SQRT = Hyper("eps_inside_sqrt", False, "bool",
                         help="divide by sqrt(v + eps) as the post writes it, not torch's sqrt(v) + eps")
_DECOUPLED = Hyper("decoupled_weight_decay", False, "bool", help="decay the weights directly, as AdamW")


_NESTEROV = Rule("nesterov", ("nesterov", "momentum", "dampening"),
                 lambda hp: not hp["nesterov"] or (hp["momentum"] > 0 and hp["dampening"] == 0),
                 "nesterov needs momentum > 0 and dampening = 0")


_SGD_HYPERS = (
    _lr(1e-3),
    Hyper("momentum", 0.0, "float", minimum=0.0, help="momentum factor"),
    Hyper("dampening", 0.0, "float", help="dampening for momentum"),
    _weight_decay_hyper(),
    Hyper("nesterov", False, "bool", help="Nesterov momentum"),
    _MAXIMIZE,
)
_ADAM_HYPERS = (
    _lr(1e-3), _betas(), _eps(1e-8), _weight_decay_hyper(),
    Hyper("amsgrad", False, "bool", help="use the maximum of past second moments (AMSGrad)"),
    _MAXIMIZE, _EPS_INSIDE_SQRT,
)

_SGD_RULE = ("b = momentum*b + (1-dampening)*g (b = g at step 1); d = g + momentum*b if nesterov else b; "
             "theta -= lr*d")
_ADAM_RULE = ("m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2 (v = max of all v if amsgrad); "
              "theta -= lr/(1-b1^t) * m/(sqrt(v/(1-b2^t)) + eps)")


def _with_defaults(hypers: tuple[Hyper, ...], **defaults: Any) -> tuple[Hyper, ...]:
    return tuple(replace(h, default=defaults[h.name]) if h.name in defaults else h for h in hypers)


def _resolving(build: Callable[..., Optimizer], hypers: tuple[Hyper, ...]) -> Callable[..., Optimizer]:
    """Let ``build`` take values as a scene file gives them (ints, lists) and fill in missing ones."""
    by_name = {h.name: h for h in hypers if h.name != "lr"}

    def resolved(**hp: Any) -> Optimizer:
        return build(**{k: h.normalize(hp.get(k, h.default)) for k, h in by_name.items()})

    resolved.__doc__ = build.__doc__
    return resolved


def _alias(spec: OptimizerSpec, name: str, **defaults: Any) -> OptimizerSpec:
    """The same optimizer under the name the post's readers know, with other defaults."""
    return replace(spec, name=name, hypers=_with_defaults(spec.hypers, **defaults), base=spec.name)


def _registry() -> dict[str, OptimizerSpec]:
    sgd = OptimizerSpec(
        "sgd", "torch.optim.SGD", _SGD_RULE, _SGD_HYPERS, _build_sgd, rules=(_NESTEROV,))
    rmsprop = OptimizerSpec(
        "rmsprop", "torch.optim.RMSprop",
        "v = alpha*v + (1-alpha)*g^2 (minus gbar^2 if centered); theta -= lr*g/(sqrt(v)+eps), "
        "through b = momentum*b + g/(sqrt(v)+eps) if momentum > 0",
        (_lr(1e-2),
         Hyper("alpha", 0.99, "float", minimum=0.0, help="decay rate of the squared-gradient average"),
         _eps(1e-8), _weight_decay_hyper(),
         Hyper("momentum", 0.0, "float", minimum=0.0, help="momentum factor"),
         Hyper("centered", False, "bool", help="divide by the estimated variance, not the second moment"),
         _MAXIMIZE, _EPS_INSIDE_SQRT),
        _build_rmsprop)
    adam = OptimizerSpec("adam", "torch.optim.Adam", _ADAM_RULE, _ADAM_HYPERS, _build_adam)
    adamw = OptimizerSpec("adamw", "torch.optim.AdamW", "theta *= 1 - lr*weight_decay; then Adam: " + _ADAM_RULE,
                          _with_defaults(_ADAM_HYPERS, weight_decay=1e-2), _build_adamw)
    nadam = OptimizerSpec(
        "nadam", "torch.optim.NAdam",
        "mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay)); m, v as Adam; "
        "theta -= lr*((1-mu_t)/(1-prod mu)*g + mu_{t+1}/(1-prod mu')*m)/(sqrt(v/(1-b2^t))+eps)",
        (_lr(2e-3), _betas(), _eps(1e-8), _weight_decay_hyper(),
         Hyper("momentum_decay", 4e-3, "float", minimum=0.0, help="how fast the momentum schedule rises"),
         _DECOUPLED, _MAXIMIZE),
        _build_nadam)
    radam = OptimizerSpec(
        "radam", "torch.optim.RAdam",
        "m, v as Adam; theta -= lr*m/(1-b1^t) * r_t*sqrt(1-b2^t)/(sqrt(v)+eps) once rho_t > 5, "
        "else theta -= lr*m/(1-b1^t)",
        (_lr(1e-3), _betas(), _eps(1e-8), _weight_decay_hyper(), _DECOUPLED, _MAXIMIZE),
        _build_radam)
    adagrad = OptimizerSpec(
        "adagrad", "torch.optim.Adagrad",
        "s += g^2; theta -= lr/(1 + (t-1)*lr_decay) * g/(sqrt(s)+eps)",
        (_lr(1e-2),
         Hyper("lr_decay", 0.0, "float", minimum=0.0, help="learning-rate decay per step"),
         _weight_decay_hyper(),
         Hyper("initial_accumulator_value", 0.0, "float", minimum=0.0, help="starting value of the sum s"),
         _eps(1e-10), _MAXIMIZE),
        _build_adagrad)
    adadelta = OptimizerSpec(
        "adadelta", "torch.optim.Adadelta",
        "v = rho*v + (1-rho)*g^2; d = sqrt(u+eps)/sqrt(v+eps)*g; u = rho*u + (1-rho)*d^2; theta -= lr*d",
        (_lr(1.0),
         Hyper("rho", 0.9, "float", minimum=0.0, maximum=1.0, help="decay rate of the running averages"),
         _eps(1e-6, "added inside the square roots"), _weight_decay_hyper(), _MAXIMIZE),
        _build_adadelta)
    adamax = OptimizerSpec(
        "adamax", "torch.optim.Adamax",
        "m = b1*m + (1-b1)*g; u = max(b2*u, |g|+eps); theta -= lr/(1-b1^t) * m/u",
        (_lr(2e-3), _betas(), _eps(1e-8), _weight_decay_hyper(), _MAXIMIZE),
        _build_adamax)
    specs = [
        sgd,
        _alias(sgd, "momentum", momentum=0.9),
        _alias(sgd, "nag", momentum=0.9, nesterov=True),
        rmsprop, adam, adamw,
        _alias(adam, "amsgrad", amsgrad=True),
        nadam, radam, adagrad, adadelta, adamax,
    ]
    return {s.name: replace(s, build=_resolving(s.build, s.hypers)) for s in specs}


OPTIMIZERS: dict[str, OptimizerSpec] = _registry()


def make_optimizer(name: str, **hyper: Any) -> tuple[Optimizer, dict]:
    """Fill torch's defaults in, check everything, build. Returns the optimizer and every hyperparameter
    (lr included), so a run can be repeated or handed to ``torch_class`` as it is."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}'{_did_you_mean(name, OPTIMIZERS)} "
                         f"(choose from: {', '.join(OPTIMIZERS)})")
    spec = OPTIMIZERS[name]
    defaults = spec.defaults()
    for key in hyper:
        if key not in defaults:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'{_did_you_mean(key, defaults)}")
    hp = defaults | hyper
    problems = spec.check(hp)
    if problems:
        raise ValueError(f"Invalid {name} hyperparameters: " + "; ".join(f"{k}: {m}" for k, m in problems))
    hp = {h.name: h.normalize(hp[h.name]) for h in spec.hypers}
    return spec.build(**{k: v for k, v in hp.items() if k != "lr"}), hp
