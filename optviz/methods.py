"""Every optimizer a scene can name: torch.optim's first-order rules and the second-order methods.

Kept apart from ``optimizers.py`` because that registry is exactly torch's (its tests compare every
entry with torch); second-order methods also need the objective when they are built.
"""
from __future__ import annotations

from .optimizers import OPTIMIZERS as TORCH_OPTIMIZERS
from .second_order import SECOND_ORDER

OPTIMIZERS = {**TORCH_OPTIMIZERS, **SECOND_ORDER}
NEEDS_OBJECTIVE = frozenset(SECOND_ORDER)
