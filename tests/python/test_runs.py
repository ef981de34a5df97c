"""Runs from Python: training through imagine.train, loading a run directory, acting,
evaluating as `imagine eval` does, imagining with the world model, and the errors."""

import json
import os
import signal
import time
import tomllib

import numpy as np
import pytest
import torch

import imagine
from conftest import SSM_TINY, STORM_TINY, python_subprocess


def test_train_writes_a_run_that_loads(storm_run):
    run = storm_run
    with open(STORM_TINY, "rb") as f:
        preset = tomllib.load(f)
    assert run.kind == "storm"
    assert run.config["steps"] == preset["steps"] == 80
    assert run.config["world_model"]["dim"] == 32
    assert run.config["replay"]["capacity"] == 1000
    assert "sticky_action_prob" in run.config["env"]  # resolved: defaults filled in
    assert run.checkpoints[-1] == 80 and os.path.exists(run.checkpoint_path(80))
    steps = [m["step"] for m in run.metrics]
    assert steps and steps == sorted(steps) and steps[-1] == 80
    assert all("wall_time" in m for m in run.metrics)
    assert run.manifest["command_line"].startswith("imagine.train: imagine train --config")
    assert len(run.evaluation["returns"]) == preset["eval_episodes"]
    assert run.step == 80


def test_metrics_frame_needs_pandas_or_gives_a_frame(storm_run):
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            storm_run.metrics_frame()
    else:
        frame = storm_run.metrics_frame()
        assert list(frame["step"]) == [m["step"] for m in storm_run.metrics]


def test_evaluate_returns_what_the_command_prints(storm_run, imagine_command):
    ours = storm_run.evaluate(episodes=3, seed=21)
    row = imagine_command.json("eval", storm_run.path, "--episodes", 3, "--seed", 21)[0]
    assert ours.step == row["step"] == 80
    assert ours.returns == pytest.approx(row["returns"])
    assert ours.mean == pytest.approx(row["mean"]) and ours.std == pytest.approx(row["std"])
    # Evaluating leaves the caller's torch generator where it was.
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    storm_run.evaluate(episodes=1)
    assert torch.equal(torch.rand(3), expected)


def test_policy_acts_on_vector_env_observations(storm_run):
    env = imagine.make_vec("minatar/breakout", num_envs=5, seed=1)
    obs, _ = env.reset()
    actions = storm_run.policy(obs)
    assert isinstance(actions, np.ndarray) and actions.dtype == np.int64 and actions.shape == (5,)
    done = np.ones(5, dtype=bool)
    for _ in range(30):  # a closed loop: the policy's actions drive the env
        actions = storm_run.policy(obs, first=done)
        assert ((0 <= actions) & (actions < env.num_actions)).all()
        obs, _, terminated, truncated, _ = env.step(actions)
        done = terminated | truncated
    torch_actions = storm_run.policy(torch.from_numpy(obs))
    assert isinstance(torch_actions, torch.Tensor) and torch_actions.shape == (5,)
    one = storm_run.policy(obs[0])
    assert isinstance(one, int) and 0 <= one < env.num_actions
    storm_run.reset_policy()


def test_policy_rejects_observations_of_another_shape(storm_run):
    with pytest.raises(imagine.Error, match=r"uint8 \[N, 4, 10, 10\]"):
        storm_run.policy(np.zeros((2, 3, 16, 16), dtype=np.uint8))
    with pytest.raises(imagine.Error, match="uint8"):
        storm_run.policy(np.zeros((2, 4, 10, 10), dtype=np.float32))
    with pytest.raises(imagine.Error, match="first must be 2 booleans"):
        storm_run.policy(np.zeros((2, 4, 10, 10), dtype=np.uint8), first=[True, False, True])


def test_train_from_a_dict_with_dotted_keys_and_lists(tmp_path):
    with open(STORM_TINY, "rb") as f:
        config = tomllib.load(f)
    config["steps"] = 40
    config["checkpoint_every"] = 40
    config["eval_episodes"] = 0
    config["world_model"]["encoder_channels"] = [4, 8]
    config["storm.warmup_steps"] = 30  # a dotted key, as --set storm.warmup_steps=30
    run = imagine.train(config, run_dir=tmp_path / "dict")
    assert run.config["world_model"]["encoder_channels"] == [4, 8]
    assert run.config["storm"]["warmup_steps"] == 30
    assert run.checkpoints == [40] and run.evaluation is None
    # The command's --force semantics: an existing run is refused, then replaced.
    with pytest.raises(imagine.Error, match="exists"):
        imagine.train(config, run_dir=tmp_path / "dict")
    run = imagine.train(STORM_TINY, run_dir=tmp_path / "dict", force=True, overrides={"eval_episodes": 0})
    assert run.checkpoints[-1] == 80


def test_env_model_run_world_model_imagines(env_model_run):
    run = env_model_run
    assert run.kind == "env_model" and run.step == run.checkpoints[-1] == 6  # no job is built to say so
    wm = run.world_model
    assert wm.kind == "env_model" and wm.observation_shape == (3, 16, 16) and wm.context == 2
    env = imagine.make_vec("minatar/breakout", num_envs=3, seed=0, obs="rgb", image_size=16)
    frames = [env.reset()[0].copy()]
    for _ in range(wm.context - 1):
        frames.append(env.step(np.ones(3, dtype=np.int64))[0].copy())
    context = np.stack(frames, axis=1)  # [B, L, C, H, W]
    with torch.no_grad():
        state = wm.observe(context, action=np.ones((3, wm.context), dtype=np.int64))
        assert state.batch == 3
        step = wm.step(state, np.array([0, 1, 2]))
        assert step.state.batch == 3 and step.reward.shape == (3,) and step.continues.shape == (3,)
        assert torch.all(step.continues == 1)  # no continue head in the SSM classes
        frame = wm.decode(step.state)
        assert frame.shape == (3, 3, 16, 16) and frame.dtype == torch.float32
        assert 0 <= frame.min() and frame.max() <= 1
        assert wm.features(step.state).shape == (3, wm.feature_dim)
        fmap = wm.feature_map(step.state)
        assert fmap is None or fmap.shape[0] == 3
        futures = wm.branch(state, 4)
        assert futures.batch == 12
        rollout = wm.rollout(futures, torch.randint(0, wm.num_actions, (5, 12)))
        assert rollout.frames.shape == (5, 12, 3, 16, 16) and rollout.rewards.shape == (5, 12)
        # One-hot actions go in too (the relaxed form agents backpropagate through).
        one_hot = torch.nn.functional.one_hot(torch.tensor([0, 1, 2]), wm.num_actions).float()
        assert wm.step(state, one_hot).reward.shape == (3,)
    # Gradients reach a relaxed action when the caller records them.
    relaxed = torch.full((3, wm.jump * wm.num_actions), 1.0 / wm.num_actions, requires_grad=True)
    wm.decode(wm.step(state, relaxed).state).sum().backward()
    assert relaxed.grad is not None and relaxed.grad.abs().sum() > 0


def test_world_model_rejects_bad_input(env_model_run):
    wm = env_model_run.world_model
    good = np.zeros((2, wm.context, 3, 16, 16), dtype=np.uint8)
    with pytest.raises(imagine.Error, match=r"observe: obs must be uint8 \[B, L >= 2, 3, 16, 16\]"):
        wm.observe(np.zeros((2, wm.context, 3, 8, 8), dtype=np.uint8))
    with pytest.raises(imagine.Error, match="L >= 2"):
        wm.observe(good[:, :1])
    with pytest.raises(imagine.Error, match="action must be int64"):
        wm.observe(good, action=np.zeros((2, 5), dtype=np.int64))
    state = wm.observe(good)
    with pytest.raises(imagine.Error, match=r"actions must be in \[0, "):
        wm.step(state, np.array([0, 99]))
    with pytest.raises(imagine.Error, match=r"int64 \[2\]"):
        wm.step(state, np.array([0, 1, 2]))
    with pytest.raises(imagine.Error, match="k must be at least 1"):
        wm.branch(state, 0)
    other = imagine.load(env_model_run.path).world_model
    with pytest.raises(imagine.Error, match="another world model"):
        other.step(state, np.array([0, 1]))


def test_storm_world_model_imagines_from_real_frames(storm_run):
    wm = storm_run.world_model
    assert wm.kind == "storm" and wm.observation_shape == (4, 10, 10)
    env = imagine.make_vec("minatar/breakout", num_envs=2, seed=0)
    obs, _ = env.reset()
    frames, actions = [obs.copy()], []
    for _ in range(5):
        actions.append(np.array([1, 2]))
        obs, *_ = env.step(actions[-1])
        frames.append(obs.copy())
    actions.append(np.array([0, 0]))  # the action at the last frame is not consumed yet
    context = np.stack(frames, axis=1)  # [2, 6, 4, 10, 10]
    first = np.zeros((2, 6), dtype=bool)
    first[:, 0] = True
    with torch.no_grad():
        state = wm.observe(context, action=np.stack(actions, axis=1), first=first)
        assert state.batch == 2 and wm.features(state).shape == (2, wm.feature_dim)
        out = wm.step(state, np.array([0, 1]))
        assert out.reward.shape == (2,) and out.continues.shape == (2,)
        assert torch.all((0 <= out.continues) & (out.continues <= 1))
        frame = wm.decode(out.state)
        assert frame.shape == (2, 4, 10, 10) and 0 <= frame.min() and frame.max() <= 1
        assert wm.feature_map(out.state) is None  # STORM's state is not a feature map
        rollout = wm.rollout(wm.branch(state, 3), torch.zeros((4, 6), dtype=torch.int64))
        assert rollout.frames.shape == (4, 6, 4, 10, 10)
    # The state after observe() is untouched by stepping it: a second step from it works the same.
    with torch.no_grad():
        torch.manual_seed(5)
        a = wm.step(state, np.array([0, 1])).reward
        torch.manual_seed(5)
        b = wm.step(state, np.array([0, 1])).reward
    assert torch.equal(a, b)


def test_env_model_runs_have_no_policy(env_model_run):
    with pytest.raises(imagine.Error, match="plays no episodes"):
        env_model_run.evaluate(episodes=1)


def test_load_and_train_errors_are_the_commands(tmp_path, imagine_command):
    missing = tmp_path / "nope"
    with pytest.raises(imagine.Error) as e:
        imagine.load(missing)
    assert str(e.value) == imagine_command.error("eval", missing)

    with pytest.raises(imagine.Error) as e:
        imagine.train({"stepz": 10}, run_dir=tmp_path / "r1")
    assert str(e.value) == imagine_command.error("train", "--set", "stepz=10", "--run-dir", tmp_path / "r1")

    with pytest.raises(imagine.Error) as e:
        imagine.train(STORM_TINY, run_dir=tmp_path / "r2", overrides={"steps": "many"})
    assert str(e.value) == imagine_command.error("train", "--config", STORM_TINY, "--set", "steps=many",
                                                 "--run-dir", tmp_path / "r2")

    with pytest.raises(imagine.Error) as e:
        imagine.train(tmp_path / "missing.toml", run_dir=tmp_path / "r3")
    assert str(e.value) == imagine_command.error("train", "--config", tmp_path / "missing.toml",
                                                 "--run-dir", tmp_path / "r3")

    with pytest.raises(imagine.Error) as e:
        imagine.train(SSM_TINY, run_dir=tmp_path / "r4")  # no dataset given
    assert str(e.value) == imagine_command.error("train", "--config", SSM_TINY, "--run-dir", tmp_path / "r4")
    assert not (tmp_path / "r4").exists()  # nothing written half-way

    with pytest.raises(imagine.Error, match="--resume"):
        imagine.train(STORM_TINY, resume=tmp_path / "r1")
    with pytest.raises(TypeError):
        imagine.train(42)
    with pytest.raises(TypeError):
        imagine.train({"env": {"id": object()}})


def test_load_a_checkpoint_that_does_not_exist(storm_run):
    with pytest.raises(imagine.Error, match="checkpoint"):
        imagine.load(storm_run.path, checkpoint=7)
    older = imagine.load(storm_run.path, checkpoint=40)
    assert older.step == 40
    # The world model comes from the newest checkpoint only (train::load_world_model).
    with pytest.raises(imagine.Error, match="newest checkpoint"):
        older.world_model


def test_world_model_on_an_explicit_device(storm_run):
    wm = storm_run.load_world_model("cpu")
    assert wm.device == torch.device("cpu") and wm.kind == "storm"
    with pytest.raises(imagine.Error):
        storm_run.load_world_model("tpu")


def test_ctrl_c_stops_training_with_a_checkpoint(tmp_path):
    run_dir = tmp_path / "interrupted"
    code = (
        "import sys, imagine\n"
        "try:\n"
        f"    imagine.train({str(STORM_TINY)!r}, run_dir={str(run_dir)!r},\n"
        "                  overrides={'steps': 1000000, 'checkpoint_every': 1000000, 'log_every': 10})\n"
        "except imagine.TrainingInterrupted as e:\n"
        "    print('interrupted', e.exit_code, isinstance(e, KeyboardInterrupt), flush=True)\n"
        "    sys.exit(0)\n"
        "print('finished', flush=True)\n")
    p = python_subprocess(code)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while not (metrics.exists() and metrics.stat().st_size > 0):  # training is under way
        assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.strip() == "interrupted 130 True", (out, err)
    run = imagine.load(run_dir)
    assert run.checkpoints and run.step == run.checkpoints[-1] > 0
    # Resuming continues it (the run's config, with --set changes to what a resume may change).
    with pytest.raises(imagine.Error, match="drop --run-dir"):
        imagine.train(resume=run_dir, run_dir=run_dir)
    stopped = run.step
    resumed = imagine.train(resume=run_dir, overrides={"steps": stopped + 10, "eval_episodes": 0})
    assert resumed.checkpoints[-1] == stopped + 10
    (record,) = resumed.manifest["resumed"]
    assert record["step"] == stopped and record["command_line"].startswith("imagine.train: imagine train --set")


def test_imagined_frames_are_saved_as_gif_and_png(env_model_run, tmp_path):
    wm = env_model_run.world_model
    context = np.zeros((1, wm.context, 3, 16, 16), dtype=np.uint8)
    with torch.no_grad():
        rollout = wm.rollout(wm.observe(context), torch.zeros((4, 1), dtype=torch.int64))
    frames = rollout.frames[:, 0]  # [4, 3, 16, 16] float in [0, 1]
    imagine.save_gif(tmp_path / "imagined.gif", frames, scale=2)
    imagine.save_png_strip(tmp_path / "imagined.png", frames)
    assert (tmp_path / "imagined.gif").read_bytes()[:4] == b"GIF8"
    assert (tmp_path / "imagined.png").read_bytes()[1:4] == b"PNG"
    with pytest.raises(imagine.Error, match="C = 1 or 3"):
        imagine.save_gif(tmp_path / "planes.gif", np.zeros((2, 4, 10, 10), dtype=np.uint8))
