"""Environments from Python: Gymnasium's vector semantics over the C++ VectorEnv, seeding as
the C++ side seeds, zero-copy observations, and the command's numbers reproduced."""

import math
import statistics
import sys
import types

import numpy as np
import pytest
import torch

import imagine

# `imagine envs stats` draws its random policy from Rng(seed + this) (cli/cmd_envs.cc).
POLICY_STREAM = 0x7F4A7C159E3779B9


def random_actions(rng, env):
    return rng.integers(0, env.num_actions, size=env.num_envs)


def test_reset_and_step_shapes_and_dtypes():
    env = imagine.make_vec("minatar/breakout", num_envs=8, seed=0)
    obs, info = env.reset(seed=0)
    assert obs.shape == (8,) + env.observation_shape == (8, 4, 10, 10)
    assert obs.dtype == np.uint8 and env.observation_dtype == np.uint8
    assert info == {}
    assert env.num_actions == 6 and len(env.action_meanings) == 6
    obs, reward, terminated, truncated, info = env.step(np.zeros(8, dtype=np.int64))
    assert obs.shape == (8, 4, 10, 10)
    assert reward.shape == (8,) and reward.dtype == np.float32
    assert terminated.shape == (8,) and terminated.dtype == np.bool_
    assert truncated.shape == (8,) and truncated.dtype == np.bool_
    assert env.life_lost.shape == (8,)
    # Symbolic MinAtar observations are binary planes.
    assert set(np.unique(obs)) <= {0, 1} and env.observation_high == 1


def test_rgb_observations_and_options():
    env = imagine.make_vec("minatar/breakout", num_envs=2, seed=0, obs="rgb", image_size=16)
    obs, _ = env.reset()
    assert obs.shape == (2, 3, 16, 16)
    assert env.options["image_size"] == 16 and env.options["obs"] == "rgb"
    assert env.observation_high == 255
    assert obs.max() > 1  # pictures, not planes


def test_same_seed_same_trajectory_and_other_seed_differs():
    def trajectory(seed):
        env = imagine.make_vec("minatar/asterix", num_envs=4, seed=seed)
        obs, _ = env.reset()
        rng = np.random.default_rng(0)
        out = [obs.copy()]
        for _ in range(200):
            obs, reward, terminated, truncated, _ = env.step(random_actions(rng, env))
            out += [obs.copy(), reward.copy(), terminated.copy(), truncated.copy()]
        return out

    a, b, c = trajectory(3), trajectory(3), trajectory(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_vector_env_is_the_single_envs_seeded_seed_plus_i_with_same_step_autoreset():
    # The C++ VectorEnv seeds env i with seed + i and resets ended episodes in the same step:
    # each row must replay imagine.make(id) reset with seed + i, stepped by hand.
    n, seed = 4, 11
    venv = imagine.make_vec("minatar/breakout", num_envs=n, seed=seed, max_episode_steps=40)
    singles = [imagine.make("minatar/breakout", seed=seed + i, max_episode_steps=40) for i in range(n)]
    vobs, _ = venv.reset()
    sobs = [e.reset()[0].copy() for e in singles]
    for i in range(n):
        np.testing.assert_array_equal(vobs[i], sobs[i])
    rng = np.random.default_rng(1)
    returns, lengths = [0.0] * n, [0] * n
    ended_episodes = 0
    for _ in range(300):
        actions = random_actions(rng, venv)
        vobs, vrew, vterm, vtrunc, info = venv.step(actions)
        for i, e in enumerate(singles):
            o, r, term, trunc, sinfo = e.step(int(actions[i]))
            assert vrew[i] == r and vterm[i] == term and vtrunc[i] == trunc
            assert venv.life_lost[i] == sinfo["life_lost"]
            returns[i] += r
            lengths[i] += 1
            if term or trunc:
                ended_episodes += 1
                assert info["_final_observation"][i] and info["_episode"][i] and info["_final_info"][i]
                np.testing.assert_array_equal(info["final_observation"][i], o)
                assert info["episode"]["r"][i] == pytest.approx(returns[i])
                assert info["episode"]["l"][i] == lengths[i]
                assert info["final_info"][i] == {"episode": {"r": pytest.approx(returns[i]), "l": lengths[i]}}
                o = e.reset()[0]  # same-step autoreset: obs is the next episode's first
                returns[i], lengths[i] = 0.0, 0
            elif info:
                assert not info["_final_observation"][i] and info["final_info"][i] is None
            np.testing.assert_array_equal(vobs[i], o)
    assert ended_episodes >= 10  # the comparison covered many resets (truncation at 40 included)


def test_info_keys_and_empty_info_between_episode_ends():
    env = imagine.make_vec("minatar/breakout", num_envs=16, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    saw_end = saw_quiet = False
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(random_actions(rng, env))
        done = terminated | truncated
        if done.any():
            saw_end = True
            assert set(info) == {"final_observation", "_final_observation", "final_info", "_final_info",
                                 "episode", "_episode"}
            np.testing.assert_array_equal(info["_final_observation"], done)
            np.testing.assert_array_equal(info["_episode"], done)
            assert info["final_observation"].shape == (16, 4, 10, 10)
            assert info["episode"]["r"].dtype == np.float32 and info["episode"]["l"].dtype == np.int64
            assert all(info["final_info"][i] is None for i in np.flatnonzero(~done))
            as_array = np.asarray(info["final_info"])  # Gymnasium's form: an object array
            assert as_array.dtype == object and as_array.shape == (16,)
            assert [x is not None for x in info["final_info"]] == list(done)
            assert all(x["episode"]["l"] >= 1 for x in info["final_info"][done])  # masks index it too
        else:
            saw_quiet = True
            assert info == {}
    assert saw_end and saw_quiet


def test_observations_view_the_batch_without_copies():
    env = imagine.make_vec("minatar/breakout", num_envs=4, seed=0)
    obs, _ = env.reset()
    batch = env._c.obs  # the C++ VectorEnv's preallocated [N, C, H, W] tensor
    assert obs.ctypes.data == batch.data_ptr()
    assert not obs.flags.owndata
    before = obs.copy()
    obs2, reward, *_ = env.step(np.full(4, 1))
    assert obs2 is obs  # the same view every step: overwritten in place
    assert reward.ctypes.data == env._c.reward.data_ptr()
    batch[0, 0, 0, 0] = 7  # a write through the C++ tensor shows in the NumPy array
    assert obs[0, 0, 0, 0] == 7
    assert before.shape == obs.shape

    tenv = imagine.make_vec("minatar/breakout", num_envs=4, seed=0, as_torch=True)
    tobs, _ = tenv.reset()
    assert isinstance(tobs, torch.Tensor) and tobs.dtype == torch.uint8
    assert tobs.data_ptr() == tenv._c.obs.data_ptr()
    np.testing.assert_array_equal(tobs.numpy(), before)  # same seed, same first observations
    tobs, reward, terminated, truncated, _ = tenv.step(torch.ones(4, dtype=torch.int64))
    assert isinstance(reward, torch.Tensor) and reward.dtype == torch.float32
    assert terminated.dtype == torch.bool


def test_reset_without_seed_moves_on_and_seeded_reset_repeats():
    env = imagine.make_vec("minatar/space_invaders", num_envs=2, seed=5)
    first = env.reset()[0].copy()
    np.testing.assert_array_equal(env.reset(seed=5)[0], first)
    # A seedless reset seeds with 5 + num_envs: env 0 now starts like env 0 of seed 7.
    other = imagine.make_vec("minatar/space_invaders", num_envs=1, seed=7)
    env.reset(seed=5)
    after = env.reset()[0]
    np.testing.assert_array_equal(after[0], other.reset()[0][0])


def test_single_env_semantics():
    env = imagine.make("minatar/breakout", seed=0)
    with pytest.raises(imagine.Error, match="call reset"):
        env.step(0)
    obs, info = env.reset()
    assert obs.shape == (4, 10, 10) and info == {}
    done = False
    steps = 0
    while not done:
        obs, reward, terminated, truncated, info = env.step(steps % env.num_actions)
        assert isinstance(reward, float) and set(info) == {"life_lost"}
        done = terminated or truncated
        steps += 1
    with pytest.raises(imagine.Error, match="has ended"):
        env.step(0)
    env.reset()
    env.step(np.int64(1))  # NumPy scalars are actions too


def test_random_policy_statistics_equal_the_command(imagine_command):
    # The loop of `imagine envs stats`: one env seeded with `seed`, actions from the library's
    # generator, reset when an episode ends.
    game, seed, episodes = "minatar/seaquest", 7, 12
    row = imagine_command.json("envs", "stats", game, "--episodes", episodes, "--seed", seed)[0]
    env = imagine.make(game, seed=seed)
    policy = imagine.Rng(seed + POLICY_STREAM)
    returns, lengths = [], []
    env.reset()
    ret, length = 0.0, 0
    while len(returns) < episodes:
        _, reward, terminated, truncated, _ = env.step(policy.uniform_int(0, env.num_actions - 1))
        ret += reward
        length += 1
        if terminated or truncated:
            returns.append(ret)
            lengths.append(length)
            ret, length = 0.0, 0
            env.reset()
    assert row["episodes"] == episodes
    assert row["steps"] == sum(lengths)
    assert row["return_mean"] == pytest.approx(statistics.mean(returns), abs=1e-9)
    assert row["return_std"] == pytest.approx(statistics.stdev(returns), abs=1e-9)
    assert row["return_max"] == max(returns) and row["return_min"] == min(returns)
    assert row["length_mean"] == pytest.approx(statistics.mean(lengths), abs=1e-9)


def test_envs_lists_every_built_in_id_with_its_shape():
    rows = {r["id"]: r for r in imagine.envs()}
    for game in ("breakout", "asterix", "freeway", "seaquest", "space_invaders"):
        assert rows[f"minatar/{game}"]["num_actions"] == 6
        assert rows[f"minatar/{game}"]["observation_shape"][1:] == (10, 10)
    assert rows["minatar/breakout"]["observation_shape"] == (4, 10, 10)
    assert any(i.startswith("minipacman/") for i in rows)
    assert "atari/pong" in rows and "frame_skip" in rows["atari/pong"]["options"]
    if not imagine.build_info["ale"]:
        assert rows["atari/pong"]["observation_shape"] is None  # listed, but not buildable here
    assert {"obs", "image_size", "difficulty_ramping"} <= set(rows["minatar/breakout"]["options"])
    assert rows["minatar/breakout"]["action_meanings"][1] == "left"
    for r in rows.values():
        if r["observation_shape"] is not None:
            env = imagine.make(r["id"])
            assert env.observation_shape == r["observation_shape"] and env.num_actions == r["num_actions"]


def test_gymnasium_spaces_when_gymnasium_is_importable(monkeypatch):
    # Gymnasium is not a Debian package; a stand-in module checks what the env asks of it.
    spaces = types.SimpleNamespace(
        Box=lambda low, high, shape, dtype: ("Box", low, high, shape, np.dtype(dtype)),
        Discrete=lambda n: ("Discrete", n),
        MultiDiscrete=lambda nvec: ("MultiDiscrete", tuple(nvec)))
    gymnasium = types.ModuleType("gymnasium")
    gymnasium.spaces = spaces
    monkeypatch.setitem(sys.modules, "gymnasium", gymnasium)
    monkeypatch.setitem(sys.modules, "gymnasium.spaces", spaces)
    env = imagine.make_vec("minatar/breakout", num_envs=3)
    assert env.single_observation_space == ("Box", 0, 1, (4, 10, 10), np.dtype(np.uint8))
    assert env.observation_space == ("Box", 0, 1, (3, 4, 10, 10), np.dtype(np.uint8))
    assert env.single_action_space == ("Discrete", 6)
    assert env.action_space == ("MultiDiscrete", (6, 6, 6))
    assert imagine.make("minatar/breakout", obs="rgb").observation_space[2] == 255


def test_spaces_without_gymnasium_say_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # makes `import gymnasium` fail
    env = imagine.make_vec("minatar/breakout", num_envs=2)
    assert not hasattr(env, "single_action_space")
    with pytest.raises(AttributeError, match="needs Gymnasium"):
        env.single_observation_space


# Bad input: the command's one-line message, raised as imagine.Error (a ValueError).
@pytest.mark.parametrize("kwargs, cli", [
    (dict(id="minatar/nope"), ["--set", "env.id=minatar/nope"]),
    (dict(id="minatar/breakout", obs="pixels"), ["--set", "env.obs=pixels"]),
    (dict(id="minatar/breakout", image_size=3), ["--set", "env.image_size=3"]),
    (dict(id="minatar/breakout", colour=True), ["--set", "env.colour=true"]),
    (dict(id="minatar/breakout", sticky_action_prob="high"), ["--set", "env.sticky_action_prob=high"]),
])
def test_bad_options_raise_the_commands_message(kwargs, cli, imagine_command):
    id = kwargs.pop("id")
    with pytest.raises(ValueError) as e:
        imagine.make_vec(id, num_envs=2, **kwargs)
    assert isinstance(e.value, imagine.Error)
    # `imagine envs stats` builds its env from the same [env] options.
    args = ["envs", "stats", id, "--episodes", 1] + cli
    assert str(e.value) == imagine_command.error(*args)
    assert "\n" not in str(e.value)


def test_bad_actions_and_seeds_raise_value_errors():
    env = imagine.make_vec("minatar/breakout", num_envs=3)
    env.reset()
    with pytest.raises(imagine.Error, match=r"action 6 of environment 1 is outside \[0, 6\)"):
        env.step([0, 6, 0])
    with pytest.raises(imagine.Error, match="3 integers"):
        env.step([0, 1])
    with pytest.raises(imagine.Error, match="integers"):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(imagine.Error, match="outside"):
        env.step(np.array([-1, 0, 0]))
    env.step(np.array([0, 1, 2], dtype=np.int32))  # other integer types are fine
    env.step(np.arange(6)[::2].copy())
    env.step(np.arange(6)[::2])  # strided views too
    with pytest.raises(imagine.Error, match="seed"):
        env.reset(seed=-1)
    with pytest.raises(imagine.Error, match="number of environments"):
        imagine.make_vec("minatar/breakout", num_envs=0)
    with pytest.raises(TypeError):
        imagine.make_vec("minatar/breakout", num_envs=2.5)


def test_atari_without_ale_is_unavailable_or_needs_a_rom():
    if imagine.build_info["ale"]:
        pytest.skip("this build has ALE; without ROMs the message differs")
    with pytest.raises(imagine.UnavailableError) as e:
        imagine.make_vec("atari/pong", num_envs=1)
    assert isinstance(e.value, ValueError) and "ALE" in str(e.value)


def test_sizes_beyond_memory_are_refused_before_anything_is_built():
    with pytest.raises(imagine.Error, match="environments"):
        imagine.make_vec("minatar/breakout", num_envs=10**12)


def test_threads_sharing_an_env_do_not_crash_it():
    # Steps release the GIL; each env serialises its own calls, so sharing one is safe (if
    # pointless: the threads' steps interleave).
    import threading
    env = imagine.make_vec("minatar/breakout", num_envs=64, seed=0)
    env.reset()
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                env.step(rng.integers(0, env.num_actions, size=64))
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
