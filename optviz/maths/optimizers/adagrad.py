"""Adagrad and two answers to its ever-shrinking steps: torch.optim.Adagrad, Adadelta and Adamax."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._exact import addcmul, bias_correction, descend, ema, ema_sq, sqrt
from ._wrappers import torch_like
from .base import MAXIMIZE, Hyper, Optimizer, OptimizerSpec, betas_hyper, eps_hyper, lr_hyper, register, weight_decay_hyper


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

    def steps(g, state, p, lr):
        step = state.step + 1
        clr = lr / (1 + (step - 1) * lr_decay)
        total = yield from addcmul(state.sum, g, g, 1.0)
        return (yield from descend(p, clr, g, sqrt(total) + eps)), AdagradState(total, step)

    return Optimizer.of_steps(init, steps)


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

    def steps(g, state, p, lr):
        square_avg = yield from ema_sq(state.square_avg, g, rho)
        delta = sqrt(state.acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = yield from ema_sq(state.acc_delta, delta, rho)
        return (yield from descend(p, lr, delta)), AdadeltaState(square_avg, acc_delta, state.step + 1)

    return Optimizer.of_steps(init, steps)


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

    def steps(g, state, p, lr, beta1=beta1):
        step = state.step + 1
        exp_avg = yield from ema(state.exp_avg, g, beta1)
        exp_inf = np.maximum(state.exp_inf * beta2, np.abs(g) + eps)
        p = yield from descend(p, lr / bias_correction(beta1, step), exp_avg, exp_inf)
        return p, AdamaxState(exp_avg, exp_inf, step)

    return Optimizer.of_steps(init, steps)



def _build_adagrad(lr_decay, weight_decay, initial_accumulator_value, eps, maximize):
    return torch_like(_adagrad(lr_decay, initial_accumulator_value, eps), weight_decay, maximize)


def _build_adadelta(rho, eps, weight_decay, maximize):
    return torch_like(_adadelta(rho, eps), weight_decay, maximize)


def _build_adamax(betas, eps, weight_decay, maximize):
    return torch_like(_adamax(betas, eps), weight_decay, maximize)


register(
    OptimizerSpec(
        "adagrad", "torch.optim.Adagrad",
        "s += g^2; theta -= lr/(1 + (t-1)*lr_decay) * g/(sqrt(s)+eps)",
        (lr_hyper(1e-2),
         Hyper("lr_decay", 0.0, "float", minimum=0.0, help="learning-rate decay per step"),
         weight_decay_hyper(),
         Hyper("initial_accumulator_value", 0.0, "float", minimum=0.0, help="starting value of the sum s"),
         eps_hyper(1e-10), MAXIMIZE),
        _build_adagrad, display="AdaGrad"),
    OptimizerSpec(
        "adadelta", "torch.optim.Adadelta",
        "v = rho*v + (1-rho)*g^2; d = sqrt(u+eps)/sqrt(v+eps)*g; u = rho*u + (1-rho)*d^2; theta -= lr*d",
        (lr_hyper(1.0),
         Hyper("rho", 0.9, "float", minimum=0.0, maximum=1.0, help="decay rate of the running averages"),
         eps_hyper(1e-6, "added inside the square roots"), weight_decay_hyper(), MAXIMIZE),
        _build_adadelta, display="AdaDelta"),
    OptimizerSpec(
        "adamax", "torch.optim.Adamax",
        "m = b1*m + (1-b1)*g; u = max(b2*u, |g|+eps); theta -= lr/(1-b1^t) * m/u",
        (lr_hyper(2e-3), betas_hyper(), eps_hyper(1e-8), weight_decay_hyper(), MAXIMIZE),
        _build_adamax, display="AdaMax"),
)
