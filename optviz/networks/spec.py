"""The ``function: {network: ...}`` form of a scene, validated into a ``NetworkObjective`` before any work.

```yaml
function:
  network: {layers: [2, 16, 16, 2], activation: tanh}
  data: {name: spiral, n: 512, noise: 0.2, seed: 0}     # or {csv: points.csv}, relative to the scene file
  init_seed: 0
  plane: pca                                            # or random, filter-normalized, {directions: ..., ...}
```

Every sub-key is a ``Field`` (the JSON Schema and the README read them). The bounds that keep a render under
a minute on two cores are checked here, with the scene's runs (``check_runs``), so a request that is too
large is refused before anything is trained. Nothing here imports torch: whether it is installed is looked up.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Sequence

from ..errors import MissingDependency
from ..fields import REQUIRED, Field, Problems, describe, did_you_mean
from ..maths.functions import Objective
from ..maths.torch_bridge import is_dotted, resolve
from ..maths.torch_bridge.keywords import evaluations as torch_evaluations
from ..maths.torch_bridge.names import TORCH_NEEDED
from ..scenes.checks import known_keys, mapping
from ..scenes.record import RunSpec
from .data import GENERATORS, MAX_ROWS, DataSet, make_data, read_csv

#: torch.nn.functional's names; the hidden layers use one of them, the output layer none (softmax follows).
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "softplus")
PLANES = ("pca", "random", "filter-normalized")

# Bounds: a 10k-parameter network trained by 4 optimizers for 2,000 steps on 512 rows, and its 61x61 plane,
# render in under a minute on two cores (benchmarks/bench_network.py). Larger requests are refused.
MAX_PARAMETERS = 10_000
MAX_STEPS = 2_000
MAX_WIDTH = 4096
MAX_PASS = 512 * MAX_PARAMETERS            # data rows x parameters: one forward pass over the data
MAX_WORK = 4 * MAX_STEPS * MAX_PASS        # runs x steps x rows x parameters: all the training
MAX_GRID_WORK = 61 * 61 * MAX_PASS         # the contour grid's points x rows x parameters

SEED = Field("seed", 0, "int", minimum=0, maximum=2**32 - 1, help="random seed")
LAYERS = Field("layers", REQUIRED, "int_list", minimum=1, maximum=MAX_WIDTH,
               help="layer sizes from input to output: [features, hidden..., classes]")
ACTIVATION = Field("activation", "tanh", "str", choices=ACTIVATIONS, help="the hidden layers' activation")
DATA_NAME = Field("name", REQUIRED, "str", choices=tuple(GENERATORS), shown="(required, or csv)",
                  help="a generated two-class set")
DATA_N = Field("n", 512, "int", minimum=4, maximum=MAX_ROWS, help="number of points (half of each class)")
DATA_NOISE = Field("noise", 0.1, "float", minimum=0.0, maximum=10.0,
                   help="noise: of the angle (spiral), else of the coordinates")
DATA_SEED = Field("seed", 0, "int", minimum=0, maximum=2**32 - 1, help="seed of the points and their noise")
DATA_CSV = Field("csv", REQUIRED, "text", max_length=1000, shown="(instead of name)",
                 help="a CSV file (relative to the scene file): numbers, the last column the class 0..k-1")
PLANE_DIRECTIONS = Field("directions", "pca", "str", choices=PLANES,
                         help="pca: the paths' two principal directions; random: Gaussian, orthonormal; "
                              "filter-normalized: Li et al.'s random directions")
PLANE_SEED = Field("seed", 0, "int", minimum=0, maximum=2**32 - 1, help="seed of random directions")
PLANE_ORIGIN = Field("origin", None, "text", max_length=80, shown="the first run",
                     help="the label of the run whose final point is the plane's origin")

#: The keys of ``function`` in its network form.
NETWORK_KEYS: dict[str, Field] = {f.name: f for f in (
    Field("network", REQUIRED, "custom", help="the MLP: {layers: [2, 16, 16, 2], activation: tanh}"),
    Field("data", REQUIRED, "custom",
          help=f"{{name: {' | '.join(GENERATORS)}, n, noise, seed}} or {{csv: path}}"),
    Field("init_seed", 0, "int", minimum=0, maximum=2**32 - 1,
          help="seed of the initial weights (torch's default nn.Linear init), shared by every run"),
    Field("plane", "pca", "custom",
          help="pca | random | filter-normalized, or {directions: ..., seed: 0, origin: <run label>}"),
)}
#: The sub-keys of its mappings (``data`` has a name and its settings, or a csv).
NETWORK_FIELDS = {"network": (LAYERS, ACTIVATION), "data": (DATA_NAME, DATA_N, DATA_NOISE, DATA_SEED, DATA_CSV),
                  "plane": (PLANE_DIRECTIONS, PLANE_SEED, PLANE_ORIGIN)}

#: A network run's start before it is simulated: a point on the plane, which is known only after training.
UNKNOWN_START = (math.nan, math.nan)


@dataclass(frozen=True)
class PlaneSpec:
    """How the picture's plane is chosen: its directions, their seed, and the run whose end is its origin."""

    directions: str = "pca"
    seed: int = 0
    origin: str | None = None        # a run label (or a swarm's); None: the first run


@dataclass(frozen=True)
class Layer:
    """One linear layer's place in the flat parameter vector: ``weight`` (out, in) then ``bias`` (out,),
    in the order ``torch.nn.Sequential(...).parameters()`` gives them."""

    inputs: int
    outputs: int
    offset: int

    @property
    def weight(self) -> slice:
        return slice(self.offset, self.offset + self.outputs * self.inputs)

    @property
    def bias(self) -> slice:
        end = self.offset + self.outputs * self.inputs
        return slice(end, end + self.outputs)

    @property
    def size(self) -> int:
        return self.outputs * (self.inputs + 1)


def layout(layers: Sequence[int]) -> tuple[Layer, ...]:
    out, offset = [], 0
    for a, b in zip(layers[:-1], layers[1:]):
        out.append(Layer(a, b, offset))
        offset += b * (a + 1)
    return tuple(out)


def parameter_count(layers: Sequence[int]) -> int:
    return sum(b * (a + 1) for a, b in zip(layers[:-1], layers[1:]))


@dataclass(frozen=True, eq=False)
class Network:
    """A validated network scene's function: the MLP, its data, its initial weights' seed, the plane."""

    layers: tuple[int, ...]
    activation: str
    data: DataSet
    init_seed: int
    plane: PlaneSpec

    @property
    def layout(self) -> tuple[Layer, ...]:
        return layout(self.layers)

    @property
    def parameters(self) -> int:
        return parameter_count(self.layers)

    def describe(self) -> str:
        return (f"softmax cross-entropy of an MLP {list(self.layers)} ({self.activation}, "
                f"{self.parameters} parameters) on {self.data.description}")


def _unplaced(*_: Any) -> Any:
    raise TypeError("a network's loss over a plane is known only after training: use the function of "
                    "optviz.simulate(scene).scene, the plane's loss")


@dataclass(frozen=True)
class NetworkObjective(Objective):
    """The ``function`` of a network scene. It has no 2-D values of its own: ``optviz.simulate`` trains the
    network, finds the plane and gives the trajectories a plane objective (``networks.plane``) to draw."""

    network: Network | None = None


def network_objective(net: Network) -> NetworkObjective:
    params = MappingProxyType({"layers": list(net.layers), "activation": net.activation,
                               "data": net.data.description, "init_seed": net.init_seed,
                               "plane": net.plane.directions})
    return NetworkObjective("network", net.describe(), params, _unplaced, _unplaced, _unplaced, minima=(),
                            xlim=None, ylim=None, start=UNKNOWN_START, n_terms=net.data.rows, network=net)


def is_network(objective: Any) -> bool:
    return isinstance(objective, NetworkObjective)


def torch_available() -> bool:
    """Whether torch can be imported, without importing it (which takes a second)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return importlib.util.find_spec("torch") is not None


# --- parsing -------------------------------------------------------------------------------------------------

def parse(value: dict, path: str, p: Problems, base: Path | None) -> NetworkObjective | None:
    """``function`` in its network form. ``base``: the folder a CSV path is relative to (the scene file's)."""
    known_keys(value, [*NETWORK_KEYS, "batch"], path, p)
    if "batch" in value:
        p.add(f"{path}.batch", "minibatches are the scene's `minibatch: {size: 32, seed: 0}` key (for the whole "
                               "scene or one optimizer); without it every step uses all the data")
    for key in ("network", "data"):
        if key not in value:
            p.add(path, f"missing required key '{key}'")
    if not torch_available():
        p.add(f"{path}.network", TORCH_NEEDED, MissingDependency)
    data = _data(value["data"], f"{path}.data", p, base) if "data" in value else None
    shape = _network(value["network"], f"{path}.network", p, data) if "network" in value else None
    init_seed = NETWORK_KEYS["init_seed"].check(value.get("init_seed", 0), f"{path}.init_seed", p)
    plane = _plane(value.get("plane", "pca"), f"{path}.plane", p)
    if p or data is None or shape is None or init_seed is None or plane is None:
        return None
    layers, activation = shape
    return network_objective(Network(tuple(layers), activation, data, init_seed, plane))


def _network(value: Any, path: str, p: Problems, data: DataSet | None) -> tuple[list[int], str] | None:
    if mapping(value, path, p) is None:
        return None
    known_keys(value, ["layers", "activation"], path, p)
    if "layers" not in value:
        p.add(path, "missing required key 'layers' (sizes from input to output, e.g. [2, 16, 16, 2])")
        return None
    layers = LAYERS.check(value["layers"], f"{path}.layers", p)
    activation = ACTIVATION.check(value.get("activation", "tanh"), f"{path}.activation", p)
    if layers is None or activation is None:
        return None
    if len(layers) < 2:
        p.add(f"{path}.layers", f"needs at least an input and an output size, got {len(layers)}")
        return None
    if data is not None:
        if layers[0] != data.features:
            p.add(f"{path}.layers[0]", f"must be {data.features} (the data's features), got {layers[0]}")
        if layers[-1] != data.classes:
            p.add(f"{path}.layers[{len(layers) - 1}]",
                  f"must be {data.classes} (the data's classes), got {layers[-1]}")
    count = parameter_count(layers)
    if count > MAX_PARAMETERS:
        p.add(f"{path}.layers", f"makes {count:,} parameters; the limit is {MAX_PARAMETERS:,}")
        return None
    if data is not None and data.rows * count > MAX_PASS:
        p.add(f"{path}.layers", f"{count:,} parameters on {data.rows:,} data rows is too large a pass "
                                f"(rows x parameters at most {MAX_PASS:,}); use fewer of either")
        return None
    return layers, activation


def _data(value: Any, path: str, p: Problems, base: Path | None) -> DataSet | None:
    if mapping(value, path, p) is None:
        return None
    if "csv" in value:
        known_keys(value, ["csv"], path, p)
        name = DATA_CSV.check(value["csv"], f"{path}.csv", p)
        if name is None:
            return None
        file = Path(name).expanduser()
        if not file.is_absolute() and base is not None:
            file = base / file
        try:
            return read_csv(file)
        except ValueError as exc:
            p.add(f"{path}.csv", str(exc))
            return None
    known_keys(value, ["name", "n", "noise", "seed", "csv"], path, p)
    if "name" not in value:
        p.add(path, f"needs 'name' (one of: {', '.join(GENERATORS)}) or 'csv' (a file)")
        return None
    name = DATA_NAME.check(value["name"], f"{path}.name", p)
    n = DATA_N.check(value.get("n", DATA_N.default), f"{path}.n", p)
    noise = DATA_NOISE.check(value.get("noise", DATA_NOISE.default), f"{path}.noise", p)
    seed = DATA_SEED.check(value.get("seed", 0), f"{path}.seed", p)
    if name is None or n is None or noise is None or seed is None:
        return None
    return make_data(name, n, noise, seed)


def _plane(value: Any, path: str, p: Problems) -> PlaneSpec | None:
    if isinstance(value, str):
        value = {"directions": value}
        where = path
    elif isinstance(value, dict):
        known_keys(value, [f.name for f in NETWORK_FIELDS["plane"]], path, p)
        where = f"{path}.directions"
    else:
        p.add(path, f"must be {', '.join(PLANES)} or {{directions: ..., seed: 0, origin: <run label>}}, "
                    f"got {describe(value)}")
        return None
    directions = PLANE_DIRECTIONS.check(value.get("directions", "pca"), where, p)
    seed = PLANE_SEED.check(value.get("seed", 0), f"{path}.seed", p)
    origin = PLANE_ORIGIN.check(value["origin"], f"{path}.origin", p) if value.get("origin") is not None else None
    if directions == "pca" and "seed" in value:
        p.add(f"{path}.seed", "a PCA plane has no seed (its directions come from the paths)")
    if directions is None or seed is None or (value.get("origin") is not None and origin is None):
        return None
    return PlaneSpec(directions, seed, origin)


# --- what a network scene's entries may say ------------------------------------------------------------------

START_MESSAGE = ("a network run starts from its initial weights (function.init_seed), not a point; "
                 "many starts are `starts: {random: N, seed: S}` (N networks from init seeds S, S+1, ...)")


def init_seeds(value: Any, path: str, p: Problems) -> list[int] | None:
    """A network scene's ``starts``: ``{random: N, seed: S}`` trains N networks from init seeds S..S+N-1."""
    if not isinstance(value, dict) or "random" not in value or set(value) - {"random", "seed"}:
        p.add(path, "for a network, starts are initialisations: {random: N, seed: S} trains N networks "
                    "from init seeds S, S+1, ..., S+N-1")
        return None
    n = Field("random", REQUIRED, "int", minimum=1, maximum=64).check(value["random"], f"{path}.random", p)
    seed = SEED.check(value.get("seed", 0), f"{path}.seed", p)
    if n is None or seed is None:
        return None
    if seed + n - 1 > SEED.maximum:
        p.add(f"{path}.seed", f"seeds {seed}..{seed + n - 1} run past {SEED.maximum:g}")
        return None
    return list(range(seed, seed + n))


def entry_problems(entry: dict, optimizer: Any, path: str, p: Problems) -> None:
    """What an optimizer entry of a network scene may not say (the scene's other checks still apply)."""
    if getattr(optimizer, "needs_objective", False):
        p.add(f"{path}.name", f"{optimizer.name} works on 2-D functions only (it needs the 2x2 Hessian or "
                              "line searches on the surface); a network trains with first-order optimizers")
    if "start" in entry:
        p.add(f"{path}.start", START_MESSAGE)
    steps_problem(entry.get("steps"), f"{path}.steps", p)


def steps_problem(steps: Any, path: str, p: Problems) -> None:
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > MAX_STEPS:
        p.add(path, f"a network trains at most {MAX_STEPS:,} steps, got {steps:,}")


def evaluations(spec: RunSpec) -> int:
    """About how many gradients' work one step of the run takes: one, or for a torch class that evaluates the
    loss itself several (LBFGS's line search, AdaHessian's Hessian-vector products)."""
    if not is_dotted(spec.optimizer):
        return 1
    return torch_evaluations(resolve(spec.optimizer), spec.hyperparameters)


def check_runs(net: Network, runs: Sequence[RunSpec], p: Problems) -> None:
    """The whole scene's training work and the plane's origin, once every run is known and valid."""
    steps = sum(spec.steps for spec in runs)
    total = sum(spec.steps * evaluations(spec) for spec in runs)
    work = total * net.data.rows * net.parameters
    counted = f"{steps:,} steps in all" if total == steps else \
        f"{steps:,} steps in all, {total:,} gradients' work counting what a closure or Hessian step evaluates"
    if work > MAX_WORK:
        p.add("optimizers", f"{len(runs)} runs ({counted}) x {net.data.rows:,} rows x "
                            f"{net.parameters:,} parameters is too much training for one scene "
                            f"({work:.3g} > {MAX_WORK:.3g}, e.g. 4 runs of 2,000 steps of a 10,000-parameter "
                            "network on 512 rows); use fewer runs, steps or rows, or a smaller network")
    origin = net.plane.origin
    if origin is not None:
        labels = list(dict.fromkeys([entry_name(spec) for spec in runs] + [spec.label for spec in runs]))
        if origin not in labels:
            p.add("function.plane.origin", f"no run is labelled '{origin}'{did_you_mean(origin, labels)}")


def check_grid(net: Network, grid: int, p: Problems) -> None:
    """A scene's ``contour_grid`` for a network: each point is a forward pass over all the data, so the grid's
    work is bounded like the default 61x61 grid of the largest network."""
    work = grid * grid * net.data.rows * net.parameters
    if work > MAX_GRID_WORK:
        largest = int((MAX_GRID_WORK / (net.data.rows * net.parameters)) ** 0.5)
        p.add("contour_grid", f"{grid}x{grid} forward passes of {net.parameters:,} parameters on {net.data.rows:,} "
                              f"rows is too much for one picture; at most {largest} for this network")


def entry_name(spec: RunSpec) -> str:
    """What names a run's entry: a swarm's group label, a sweep's label, else the run's own label."""
    return spec.group or spec.sweep or spec.label


def origin_run(net: Network, runs: Sequence[RunSpec]) -> int:
    """Index of the run whose final point is the plane's origin (a swarm's or sweep's label means its first run)."""
    if net.plane.origin is None:
        return 0
    return next(i for i, spec in enumerate(runs) if net.plane.origin in (spec.label, entry_name(spec)))
