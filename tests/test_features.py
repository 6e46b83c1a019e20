"""Scene features beyond plain runs: schedules, noise, minibatches, many starts, second-order methods."""
from __future__ import annotations

import numpy as np
import pytest

from optviz import scene, simulate
from optviz.errors import SceneError
from optviz.maths.schedules import lr_sequence
from optviz.simulate import lr_schedule


def run(**data):
    data.setdefault("function", "beale")
    data.setdefault("steps", 40)
    return simulate(scene(**data))


def test_schedule_changes_the_run_and_matches_its_lr_sequence():
    sched = {"name": "StepLR", "step_size": 10, "gamma": 0.5}
    traj = run(optimizers=[{"name": "sgd", "label": "plain", "lr": 0.003},
                           {"name": "sgd", "label": "step", "lr": 0.003, "schedule": sched}])
    assert traj.runs[0].diverged_at is None
    plain, step = traj.runs
    np.testing.assert_array_equal(plain.points[:11], step.points[:11])  # same lr for the first 10 steps
    assert not np.allclose(plain.points[-1], step.points[-1])
    np.testing.assert_array_equal(lr_schedule(step.spec), lr_sequence("StepLR", 0.003, 40, step_size=10, gamma=0.5))
    # SGD without momentum: each step is exactly lr_k * gradient
    f = traj.scene.function
    for k in (0, 10, 25):
        g = f.gradient(step.points[k])
        np.testing.assert_allclose(step.points[k] - step.points[k + 1], lr_schedule(step.spec)[k] * g, rtol=1e-12)


@pytest.mark.parametrize("schedule, expected", [
    ({"name": "StepLR"}, "optimizers[0].schedule.step_size"),
    ({"name": "StepLR", "step_size": 0}, "optimizers[0].schedule.step_size"),
    ({"name": "SteppLR", "step_size": 3}, "did you mean 'StepLR'"),
    ({"name": "ExponentialLR", "gamma": 0.9, "gama": 1}, "optimizers[0].schedule.gama"),
    ({"step_size": 3}, "optimizers[0].schedule: missing required key 'name'"),
    ("StepLR", "optimizers[0].schedule: must be a mapping"),
])
def test_bad_schedules_are_named(schedule, expected):
    with pytest.raises(SceneError, match=None) as info:
        scene(function="beale", optimizers=[{"name": "sgd", "schedule": schedule}])
    assert expected in str(info.value)


def test_noise_is_reproducible_from_its_seed_and_shared_across_optimizers():
    noisy = {"std": 0.5, "seed": 3}
    a = run(noise=noisy, optimizers=[{"name": "sgd", "lr": 0.001}])
    b = run(noise=noisy, optimizers=[{"name": "sgd", "lr": 0.001}])
    c = run(noise={"std": 0.5, "seed": 4}, optimizers=[{"name": "sgd", "lr": 0.001}])
    exact = run(optimizers=[{"name": "sgd", "lr": 0.001}])
    np.testing.assert_array_equal(a.runs[0].points, b.runs[0].points)
    assert not np.allclose(a.runs[0].points, c.runs[0].points)
    assert not np.allclose(a.runs[0].points, exact.runs[0].points)
    # SGD's step minus the exact step is lr * noise, and the noise is the seeded normal sequence
    p = a.runs[0].points
    f = a.scene.function
    drawn = (p[:-1] - p[1:]) / 0.001 - f.gradient(p[:-1].T).T
    expected = 0.5 * np.random.default_rng(3).standard_normal((40, 1, 2))[:, 0, :]
    np.testing.assert_allclose(drawn, expected, atol=1e-6)


def test_multiplicative_noise_scales_the_gradient():
    traj = run(optimizers=[{"name": "sgd", "lr": 0.001, "noise": {"std": 0.1, "seed": 0, "kind": "multiplicative"}}])
    p = traj.runs[0].points
    ratio = (p[:-1] - p[1:]) / 0.001 / traj.scene.function.gradient(p[:-1].T).T
    np.testing.assert_allclose(ratio, 1 + 0.1 * np.random.default_rng(0).standard_normal((40, 2)), rtol=1e-6)


def test_minibatches_sample_data_terms_reproducibly():
    scene = dict(function={"name": "least_squares", "n": 32}, start=[-4, -4], steps=60)
    full = run(**scene, optimizers=[{"name": "sgd", "lr": 0.1}])
    one = run(**scene, optimizers=[{"name": "sgd", "lr": 0.1, "minibatch": {"size": 1, "seed": 1}}])
    again = run(**scene, optimizers=[{"name": "sgd", "lr": 0.1, "minibatch": {"size": 1, "seed": 1}}])
    everything = run(**scene, optimizers=[{"name": "sgd", "lr": 0.1, "minibatch": {"size": 32, "seed": 1}}])
    np.testing.assert_array_equal(one.runs[0].points, again.runs[0].points)
    assert not np.allclose(one.runs[0].points, full.runs[0].points)
    # the loss drawn is the full loss, whatever the sampling
    f = one.scene.function
    np.testing.assert_allclose(one.runs[0].loss, f(one.runs[0].points.T))
    # sampling with replacement, 32 of 32, is still not the full batch; but both converge near the minimum
    assert np.linalg.norm(everything.runs[0].points[-1] - np.array(f.minima[0])) < 0.5


@pytest.mark.parametrize("data, expected", [
    ({"function": "beale", "minibatch": {"size": 4}}, "minibatch: needs a function made of data terms"),
    ({"function": {"name": "least_squares", "n": 8}, "minibatch": {"size": 9}}, "minibatch.size: must be at most 8"),
    ({"function": "beale", "noise": {"seed": 1}}, "noise: missing required key 'std'"),
    ({"function": "beale", "noise": {"std": -1}}, "noise.std: must be in [0, 1e+06]"),
    ({"function": "beale", "noise": {"std": 1, "kind": "multiplcative"}}, "did you mean 'multiplicative'"),
    ({"function": "beale", "starts": {"random": 0}}, "starts.random: must be at least 1"),
    ({"function": "beale", "starts": {"random": 5, "grid": [2, 2]}}, "give exactly one of 'random' or 'grid'"),
    ({"function": "beale", "starts": {"grid": [100, 100]}}, "starts.grid: makes 10000 starts"),
    ({"function": "beale", "starts": [[1, 2], [3]]}, "starts[1]: must be a list of two numbers"),
])
def test_bad_feature_keys(data, expected):
    with pytest.raises(SceneError) as info:
        scene(**data, optimizers=["sgd"])
    assert expected in str(info.value)


def test_many_starts_are_one_run_each_and_match_single_runs():
    traj = run(function="himmelblau", starts={"random": 50, "seed": 0}, steps=30,
               optimizers=[{"name": "adam", "lr": 0.1}, {"name": "sgd", "lr": 0.01, "start": [1, 1]}])
    swarm = [r for r in traj.runs if r.spec.group == "Adam"]
    assert len(swarm) == 50 and len(traj.runs) == 51
    assert swarm[7].spec.label == "Adam #8"
    xs = np.array([r.spec.start for r in swarm])
    assert np.all((xs >= -5) & (xs <= 5)) and len(np.unique(xs[:, 0])) == 50
    single = run(function="himmelblau", steps=30, optimizers=[{"name": "adam", "lr": 0.1, "start": list(swarm[7].spec.start)}])
    np.testing.assert_array_equal(single.runs[0].points, swarm[7].points)
    grid = scene(function="himmelblau", starts={"grid": [4, 3]}, optimizers=["adam"])
    assert len(grid.runs) == 12 and grid.runs[0].start == (-3.75, -5 + 10 / 6)


def test_hundreds_of_starts_simulate_in_one_vectorised_loop():
    traj = run(function="rosenbrock", starts={"random": 500, "seed": 1}, steps=200,
               optimizers=[{"name": "adam", "lr": 0.05}])
    assert len(traj.runs) == 500 and all(len(r.points) == 201 or r.diverged_at for r in traj.runs)


def test_second_order_methods_in_scenes():
    traj = run(function="rosenbrock", start=[-1.5, 2], steps=60,
               optimizers=[{"name": "newton"}, {"name": "bfgs"}, {"name": "newton", "label": "damped", "damping": 10.0}])
    newton, bfgs, damped = traj.runs
    assert np.allclose(newton.points[-1], [1, 1], atol=1e-8) and np.allclose(bfgs.points[-1], [1, 1], atol=1e-6)
    assert np.linalg.norm(damped.points[1] - damped.points[0]) < np.linalg.norm(newton.points[1] - newton.points[0])
    with pytest.raises(SceneError, match=r"optimizers\[0\].damping"):
        scene(function="beale", optimizers=[{"name": "newton", "damping": -1}])
