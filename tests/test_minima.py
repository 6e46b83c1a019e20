"""Minima of formulas: a claimed minimum is checked, and without one the minima in the view are found."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from optviz.commands.cli import main
from optviz.errors import SceneError
from optviz.maths.formula import formula_objective
from optviz.maths.functions import FUNCTIONS, make_function
from optviz.maths.minima import check_minimum, find_minima
from optviz.scenes.load import scene_from_data

VIEW = ((-5.5, 5.5), (-5.5, 5.5))


def scene(function):
    return scene_from_data({"function": function, "optimizers": ["adam"], "steps": 5})


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n not in ("least_squares",)])
def test_the_search_finds_every_registry_functions_known_minima_in_its_view(name):
    f = make_function(name)
    lowest, others = find_minima(f, f.xlim, f.ylim)
    span = max(np.ptp(f.xlim), np.ptp(f.ylim))
    if name == "ackley":    # its minimum is a kink: found only because a fine-grid start lands on it exactly
        assert lowest == [(0.0, 0.0)]
    for known in f.minima:
        if f.xlim[0] <= known[0] <= f.xlim[1] and f.ylim[0] <= known[1] <= f.ylim[1]:
            assert min(np.hypot(*np.subtract(known, m)) for m in lowest) < 1e-3 * span, (name, known, lowest)
    with np.errstate(all="ignore"):
        values = [float(f.value(np.array(m))) for m in lowest + others]
    assert all(v >= min(values) for v in values)


def test_a_formula_without_minima_gets_the_ones_in_its_view():
    found = scene({"formula": "x**2 + 10*sin(y)**2", "ylim": [-4, 4]}).function.minima
    np.testing.assert_allclose(found, [(0, -np.pi), (0, 0), (0, np.pi)], atol=1e-9)


def test_only_the_lowest_minima_are_starred_and_the_others_kept_as_local():
    f = scene({"formula": "x**2 + y**2 + 0.5*sin(5*x)"}).function
    assert len(f.minima) == 1 and len(f.local_minima) == 2
    assert f.value(np.array(f.minima[0])) < min(f.value(np.array(m)) for m in f.local_minima)


def test_minima_none_hides_them_and_a_saddle_has_none_to_find():
    assert scene({"formula": "x**2 + 10*sin(y)**2", "minima": "none"}).function.minima == ()
    assert scene({"formula": "x**2 - y**2"}).function.minima == ()


@pytest.mark.parametrize("function, key, message", [
    ({"formula": "x**2 + y**2", "minimum": [1, 0]}, "function.minimum",
     "(1, 0) is not a minimum: the gradient there is (2, 0); the nearest minimum downhill is near (0, 0)"),
    ({"formula": "x**2 - y**2", "minimum": [0, 0]}, "function.minimum", "(0, 0) is a saddle point, not a minimum"),
    ({"formula": "-(x**2 + y**2)", "minima": [[0, 0]]}, "function.minima[0]", "(0, 0) is a maximum, not a minimum"),
    ({"formula": "x**2 + 10*sin(y)**2", "minima": [[0, 0], [0, 1.5707963]]}, "function.minima[1]",
     "(0, 1.571) is a saddle point, not a minimum"),
    ({"formula": "log(x) + y**2", "minimum": [-1, 0]}, "function.minimum", "the function is not defined there"),
])
def test_a_wrong_minimum_is_named(function, key, message):
    with pytest.raises(SceneError) as info:
        scene(function)
    assert f"{key}: {message}" in str(info.value)


@pytest.mark.parametrize("text, point", [
    ("x**2 + 10*sin(y)**2", (0, 3.14159)),                                   # a rounded minimum is fine
    ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (-2.805, 3.131)),
    ("x**4 + y**4", (0, 0)),                                                  # flat Hessian, still a minimum
])
def test_right_minima_pass(text, point):
    assert check_minimum(formula_objective(text), point, *VIEW) is None


def test_a_wrong_minimum_exits_2_naming_file_line_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("function:\n  formula: x**2 + y**2\n  minimum: [2, 2]\noptimizers: [adam]\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3: function.minimum: (2, 2) is not a minimum" in result.output


def test_no_star_where_the_function_goes_lower_at_a_kink_the_search_cannot_reach():
    f = formula_objective("abs(x - 0.3) + (y - 0.2)**2 - 3*exp(-((x + 3)**2 + y**2))")
    lowest, others = find_minima(f, *VIEW)
    assert lowest == []                                   # the kink at (0.3, 0.2) is lower than any minimum found
    assert len(others) == 1 and np.hypot(others[0][0] + 3, others[0][1]) < 0.3   # the smooth dip is kept as local
