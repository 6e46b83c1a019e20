"""The network's loss in torch (float64), batched over many parameter vectors at once.

A batch of parameter vectors ``(B, P)`` (B runs, or B points of a plane) is sliced into each run's layers as
views, and one forward pass of batched matrix products gives all B losses; ``autograd`` gives all B gradients
in one backward pass (the runs are independent, so the gradient of the summed loss is each run's own). The
same pass serves training, the real losses and the plane's grid. The flat layout is
``torch.nn.Sequential(Linear, act, Linear, ...).parameters()``'s, each weight (out, in) row-major then its bias,
and the initial weights are that module's under ``torch.manual_seed(init_seed)`` (its default init), so a run
can be repeated in plain torch.

torch is imported here only, when a network is trained or drawn; ``import optviz`` stays torch-free.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from .spec import Network

#: Floats one batched activation may hold (2 MB): bounds the memory of a grid evaluation, and small blocks are
#: reused by the allocator instead of being mapped (and page-faulted) afresh for every chunk.
CHUNK_FLOATS = 1 << 18


def _torch():
    import torch  # lazy: torch is optional, and only network scenes need it
    return torch


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the caller's setting. These batched products are small: a
    second thread gains little on an idle machine and costs ten times more on a busy one (each product waits
    for a descheduled worker), and `optviz render -j` already uses the cores."""
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def initial_weights(net: Network, seeds: list[int]) -> np.ndarray:
    """``(len(seeds), P)``: for each seed, torch's default ``nn.Linear`` init of every layer, drawn in module
    order from a generator seeded as ``torch.manual_seed(seed)`` would (the global generator is not touched)."""
    torch = _torch()
    out = np.empty((len(seeds), net.parameters))
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        for layer in net.layout:
            weight = torch.empty(layer.outputs, layer.inputs, dtype=torch.float64)
            torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=gen)
            bound = 1 / math.sqrt(layer.inputs)
            bias = torch.empty(layer.outputs, dtype=torch.float64).uniform_(-bound, bound, generator=gen)
            out[i, layer.weight] = weight.numpy().ravel()
            out[i, layer.bias] = bias.numpy()
    return out


class Model:
    """The network's mean softmax cross-entropy over its data (or sampled rows of it) for many parameter
    vectors at once."""

    def __init__(self, net: Network):
        torch = _torch()
        self.net = net
        self.x = torch.from_numpy(net.data.x)
        self.y = torch.from_numpy(net.data.y)
        self.act = getattr(torch.nn.functional, net.activation)
        self.width = max(net.layers)

    def batch_losses(self, params, rows=None):
        """``(B,)`` losses as a tensor (differentiable in ``params``, a (B, P) tensor); ``rows`` None (all data)
        or a (B, b) tensor or array of row indices per vector."""
        torch = _torch()
        if rows is not None and not torch.is_tensor(rows):
            rows = torch.from_numpy(rows)
        b = params.shape[0]
        h = self.x if rows is None else self.x[rows]
        layers = self.net.layout
        for j, layer in enumerate(layers):
            weight = params[:, layer.weight].view(b, layer.outputs, layer.inputs)
            h = torch.matmul(h, weight.transpose(1, 2)) + params[:, layer.bias].unsqueeze(1)
            if j < len(layers) - 1:
                h = self.act(h)
        target = self.y.expand(b, -1) if rows is None else self.y[rows]
        return torch.nn.functional.cross_entropy(h.transpose(1, 2), target, reduction="none").mean(dim=1)

    def chunk(self, rows: int | None = None) -> int:
        """How many parameter vectors one pass takes so that an activation stays under CHUNK_FLOATS."""
        return max(1, CHUNK_FLOATS // ((rows or self.net.data.rows) * self.width))

    def losses(self, params: np.ndarray) -> np.ndarray:
        """``(B,)`` losses on all the data for ``params`` (B, P), in chunks, without gradients."""
        torch = _torch()
        params = np.ascontiguousarray(params, dtype=np.float64)
        out = np.empty(params.shape[0])
        step = self.chunk()
        with torch.no_grad():
            for i in range(0, params.shape[0], step):
                out[i:i + step] = self.batch_losses(torch.from_numpy(params[i:i + step])).numpy()
        return out

    def loss_and_grad(self, params: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Losses ``(B,)`` and gradients ``(B, P)``, on all the data or on each vector's ``rows`` (B, b)."""
        torch = _torch()
        t = torch.from_numpy(np.ascontiguousarray(params, dtype=np.float64)).requires_grad_(True)
        loss = self.batch_losses(t, rows)
        grad, = torch.autograd.grad(loss.sum(), t)
        return loss.detach().numpy(), grad.numpy()
