"""Every optviz function in torch, for optimizers that evaluate the loss themselves (LBFGS's closure) or
differentiate the gradient (AdaHessian's and Sophia-H's Hessian-vector products).

The torch version is built from the function's own formula text through the formula parser (its whitelist; nothing
is eval'ed), so it is the same function by construction; a test holds its autograd gradient to the analytic one
to 1e-12 for every registry function. A registry formula may define a name after a comma (bumpy's
``..., r2 = (x-4)**2 + (y-1)**2``), which is substituted first; ``least_squares`` is its data terms, written here.

>>> import torch
>>> from optviz.maths.functions import make_function
>>> f = torch_function(make_function("rosenbrock"))
>>> xy = torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
>>> f(xy).tolist()
[1.0, 0.0]
"""
from __future__ import annotations

from typing import Callable

import torch

from ..formula import Expr, expand_definitions, parse_formula, walk
from ..functions import Objective, least_squares_data

TorchFunction = Callable[[torch.Tensor], torch.Tensor]

_CALLS = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "sinh": torch.sinh, "cosh": torch.cosh,
    "tanh": torch.tanh, "arctan": torch.atan, "exp": torch.exp, "log": torch.log, "log10": torch.log10,
    "sqrt": torch.sqrt, "abs": torch.abs, "sign": torch.sign,
}
_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow}
_OPS = {**_CALLS, **_BINARY, "neg": torch.neg}


def torch_function(objective: Objective) -> TorchFunction:
    """``f(xy)``: ``xy`` a float64 tensor of shape (2, ...), coordinate-first like the numpy functions, the result
    of shape (...), differentiable twice. Raises ``FormulaError`` when the objective's formula cannot be read (an
    ``Objective`` built in code with a free-text formula)."""
    if objective.n_terms:
        return _least_squares(objective)
    return expression_function(parse_formula(expand_definitions(objective.formula)))


def expression_function(expr: Expr) -> TorchFunction:
    def f(xy: torch.Tensor) -> torch.Tensor:
        (value,) = walk([expr], xy[0], xy[1], lambda c: torch.tensor(c, dtype=xy.dtype), _OPS)
        return value.expand(xy.shape[1:])

    return f


def _least_squares(objective: Objective) -> TorchFunction:
    p = objective.params
    u, v = (torch.from_numpy(a) for a in least_squares_data(p["n"], p["seed"], p["slope"], p["intercept"],
                                                             p["noise"]))

    def f(xy: torch.Tensor) -> torch.Tensor:
        r = xy[0][..., None] * u + xy[1][..., None] - v
        return 0.5 * torch.mean(r * r, dim=-1)

    return f

