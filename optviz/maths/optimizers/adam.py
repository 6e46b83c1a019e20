"""The Adam family: torch.optim.Adam (and AMSGrad), AdamW, NAdam and RAdam.

Every ``update`` takes ``beta1=`` for the step at hand (a float or one per run): a momentum-cycling schedule
(OneCycleLR, CyclicLR) sets it each step, as torch's scheduler sets ``betas[0]`` in the param group.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._exact import bias_correction, branch, descend, moments, scalar, some, sqrt
from ._wrappers import torch_like
from .base import (DECOUPLED, EPS_INSIDE_SQRT, MAXIMIZE, Hyper, Optimizer, OptimizerSpec, alias, betas_hyper, eps_hyper, lr_hyper,
                   register, weight_decay_hyper, with_defaults)


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

    def steps(g, state, p, lr, beta1=beta1):
        step = state.step + 1
        exp_avg, exp_avg_sq = yield from moments(state.exp_avg, state.exp_avg_sq, g, beta1, beta2)
        bias_correction2 = bias_correction(beta2, step)
        step_size = lr / bias_correction(beta1, step)
        v = exp_avg_sq
        max_exp_avg_sq = state.max_exp_avg_sq
        if some(amsgrad):
            max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
            v = branch(amsgrad, lambda: max_exp_avg_sq, lambda: exp_avg_sq)
        denom = branch(eps_inside_sqrt, lambda: sqrt(v / bias_correction2 + eps),
                       lambda: sqrt(v) / scalar(lambda b: b**0.5, bias_correction2) + eps)
        p = yield from descend(p, step_size, exp_avg, denom)
        return p, AdamState(exp_avg, exp_avg_sq, max_exp_avg_sq, step)

    return Optimizer.of_steps(init, steps)


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

    def steps(g, state, p, lr, beta1=beta1):
        step = state.step + 1
        bias_correction2 = bias_correction(beta2, step)
        mu = beta1 * (1.0 - 0.5 * scalar(lambda d: 0.96 ** (step * d), momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * scalar(lambda d: 0.96 ** ((step + 1) * d), momentum_decay))
        mu_product = state.mu_product * mu
        mu_product_next = mu_product * mu_next
        exp_avg, exp_avg_sq = yield from moments(state.exp_avg, state.exp_avg_sq, g, beta1, beta2)
        denom = sqrt(exp_avg_sq / bias_correction2) + eps
        p = yield from descend(p, lr * (1.0 - mu) / (1.0 - mu_product), g, denom)
        p = yield from descend(p, lr * mu_next / (1.0 - mu_product_next), exp_avg, denom)
        return p, NAdamState(exp_avg, exp_avg_sq, mu_product, step)

    return Optimizer.of_steps(init, steps)


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

    def steps(g, state, p, lr, beta1=beta1):
        step = state.step + 1
        exp_avg, exp_avg_sq = yield from moments(state.exp_avg, state.exp_avg_sq, g, beta1, beta2)
        bias_correction2 = bias_correction(beta2, step)
        plain = exp_avg / bias_correction(beta1, step) * lr
        rho_t = rho_inf - 2 * step * scalar(lambda b: b**step, beta2) / bias_correction2

        def rectified():
            rect = scalar(lambda rho_t, rho_inf: ((rho_t - 4) * (rho_t - 2) * rho_inf
                                                  / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                          if rho_t > 5.0 else 0.0, rho_t, rho_inf)   # (runs left of 5 take the other branch)
            adaptive_lr = 1.0 / (sqrt(exp_avg_sq) + eps) * scalar(lambda b: b**0.5, bias_correction2)  # scalar/tensor
            return plain * adaptive_lr * rect

        direction = branch(rho_t > 5.0, rectified, lambda: plain)
        return (yield from descend(p, 1.0, direction)), RAdamState(exp_avg, exp_avg_sq, step)

    return Optimizer.of_steps(init, steps)



def _build_adam(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt, decoupled_weight_decay=False):
    return torch_like(_adam(betas, eps, amsgrad, eps_inside_sqrt), weight_decay, maximize, decoupled_weight_decay)


def _build_adamw(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt):
    return _build_adam(betas, eps, weight_decay, amsgrad, maximize, eps_inside_sqrt, decoupled_weight_decay=True)


def _build_nadam(betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize):
    return torch_like(_nadam(betas, eps, momentum_decay), weight_decay, maximize, decoupled_weight_decay)


def _build_radam(betas, eps, weight_decay, decoupled_weight_decay, maximize):
    return torch_like(_radam(betas, eps), weight_decay, maximize, decoupled_weight_decay)


_ADAM_RULE = ("m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2 (v = max of all v if amsgrad); "
              "theta -= lr/(1-b1^t) * m/(sqrt(v/(1-b2^t)) + eps)")
_ADAM_HYPERS = (
    lr_hyper(1e-3), betas_hyper(), eps_hyper(1e-8), weight_decay_hyper(),
    Hyper("amsgrad", False, "bool", help="use the maximum of past second moments (AMSGrad)"),
    MAXIMIZE, EPS_INSIDE_SQRT,
)
ADAM = OptimizerSpec("adam", "torch.optim.Adam", _ADAM_RULE, _ADAM_HYPERS, _build_adam, display="Adam")

register(
    ADAM,
    OptimizerSpec("adamw", "torch.optim.AdamW", "theta *= 1 - lr*weight_decay; then Adam: " + _ADAM_RULE,
                  with_defaults(_ADAM_HYPERS, weight_decay=1e-2), _build_adamw, display="AdamW"),
    alias(ADAM, "amsgrad", "AMSGrad", amsgrad=True),
    OptimizerSpec(
        "nadam", "torch.optim.NAdam",
        "mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay)); m, v as Adam; "
        "theta -= lr*((1-mu_t)/(1-prod mu)*g + mu_{t+1}/(1-prod mu')*m)/(sqrt(v/(1-b2^t))+eps)",
        (lr_hyper(2e-3), betas_hyper(), eps_hyper(1e-8), weight_decay_hyper(),
         Hyper("momentum_decay", 4e-3, "float", minimum=0.0, help="how fast the momentum schedule rises"),
         DECOUPLED, MAXIMIZE),
        _build_nadam, display="NAdam"),
    OptimizerSpec(
        "radam", "torch.optim.RAdam",
        "m, v as Adam; theta -= lr*m/(1-b1^t) * r_t*sqrt(1-b2^t)/(sqrt(v)+eps) once rho_t > 5, "
        "else theta -= lr*m/(1-b1^t)",
        (lr_hyper(1e-3), betas_hyper(), eps_hyper(1e-8), weight_decay_hyper(), DECOUPLED, MAXIMIZE),
        _build_radam, display="RAdam"),
)
