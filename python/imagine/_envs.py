"""Environments: the C++ VectorEnv with Gymnasium's vector API, and single envs.

Observations are the C++ batch itself: NumPy arrays (or, with ``as_torch=True``, torch
tensors) that view the preallocated batch tensors, with no copy. Every ``reset`` and ``step``
rewrites them in place, so an array returned by one call holds the next call's values
afterwards: ``.copy()`` (``.clone()``) what you keep.
"""

import numbers
from collections.abc import Sequence

import numpy as np
import torch

from . import _imagine
from ._options import assignments

__all__ = ["VectorEnv", "Env", "FinalInfo", "make_vec", "make", "envs"]


def _env_sets(id, obs, options):
    if not isinstance(id, str):
        raise TypeError(f"id must be a string such as 'minatar/breakout', got {type(id).__name__}")
    sets = {"id": id}
    if obs is not None:
        sets["obs"] = obs
    for key in options:
        if key in ("id", "env"):
            raise TypeError(f"'{key}' is not an environment option here; give the id as the first argument")
    sets.update(options)
    return assignments(sets, "env.")


def _seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**63:
        raise _imagine.Error(f"seed must be in [0, 2^63), got {seed}")
    return int(seed)


def _check_reset_options(options):
    if options:
        raise _imagine.Error("reset() takes no options; environment options are given to make()/make_vec()")


def _gymnasium_spaces(what):
    try:
        from gymnasium import spaces
    except ImportError as e:
        # AttributeError, so that hasattr(env, "single_action_space") is False without Gymnasium.
        raise AttributeError(f"{what} needs Gymnasium, which is not importable here ({e}); "
                             "observation_shape, observation_dtype and num_actions describe the same") from None
    return spaces


class _Described:
    """The plain attributes describing an environment (always there, Gymnasium or not), and the
    close / context-manager lifecycle both environment classes share."""

    def _describe(self, spec, options_toml):
        import tomllib
        self.spec = spec
        self.id = spec["id"]
        self.options = tomllib.loads(options_toml)  # every [env] option, resolved
        self.observation_shape = tuple(spec["observation_shape"])
        self.observation_dtype = np.dtype(np.uint8)
        # Stored values times obs_scale are in [0, 1]: 1 for binary planes, 1/255 for pictures.
        self.obs_scale = spec["obs_scale"]
        self.observation_high = int(round(1.0 / self.obs_scale))
        self.num_actions = spec["num_actions"]
        self.action_meanings = tuple(spec["action_meanings"])
        self.frame_skip = spec["frame_skip"]
        self.max_episode_steps = spec["max_episode_steps"]

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _box(self, shape):
        spaces = _gymnasium_spaces("an observation space")
        return spaces.Box(low=0, high=self.observation_high, shape=shape, dtype=np.uint8)


class FinalInfo(Sequence):
    """Gymnasium's ``info["final_info"]``: one entry per environment, ``{"episode": {"r":
    return, "l": length}}`` where an episode ended in the step and ``None`` elsewhere.

    A sequence whose entries are made when read (``np.asarray`` gives Gymnasium's object
    array): building a dict per ended episode on every step would cost more than the step of
    a thousand MinAtar environments. It holds its own copies, so it stays valid after later
    steps.
    """

    __slots__ = ("_done", "_returns", "_lengths")

    def __init__(self, done, returns, lengths):
        self._done, self._returns, self._lengths = done, returns, lengths

    def __len__(self):
        return len(self._done)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if isinstance(i, (np.ndarray, list, tuple)):  # masks and index arrays, as on the object array
            return self.__array__()[i]
        if not self._done[i]:
            return None
        return {"episode": {"r": float(self._returns[i]), "l": int(self._lengths[i])}}

    def __array__(self, dtype=None):
        out = np.empty(len(self), dtype=object)
        for i in np.flatnonzero(self._done):
            out[i] = self[i]
        return out

    def __repr__(self):
        return f"FinalInfo({list(self)!r})"


class VectorEnv(_Described):
    """``num_envs`` environments stepped together (Gymnasium's vector API, same-step autoreset).

    ``reset(seed=s)`` seeds environment *i* with ``s + i`` (as the C++ ``VectorEnv``, so
    ``make_vec(id, n, seed=s)`` replays ``make(id)`` reset with seeds ``s .. s+n-1``);
    ``reset()`` without a seed uses the ``seed`` given to ``make_vec`` the first time and
    then ``previous + num_envs``, so no environment sees a seed twice.

    ``step(actions)`` returns ``(obs, reward, terminated, truncated, info)``. An environment
    whose episode ended in this step is reset in the same step: ``obs`` holds the first
    observation of its next episode, and ``info`` (empty on steps where no episode ended) holds

    - ``final_observation``: ``[num_envs, C, H, W]`` uint8, the last observation of each ended
      episode (rows of the others are stale); ``_final_observation``: ``[num_envs]`` bool mask
      of the ended ones;
    - ``final_info``: a sequence (:class:`FinalInfo`; ``np.asarray`` makes it Gymnasium's
      object array) of ``{"episode": {"r": return, "l": length}}`` for ended episodes and
      ``None`` elsewhere; ``_final_info``: the same mask (Gymnasium 0.29's names for
      same-step autoreset);
    - ``episode``: ``{"r": float32 [num_envs], "l": int64 [num_envs]}``, the return (the last
      reward included) and length of each ended episode; ``_episode``: the same mask (the names
      of Gymnasium's vector ``RecordEpisodeStatistics``, without its ``t``).

    ``life_lost`` (attribute, ``[num_envs]`` bool) says which environments lost a life in the
    last step without the game ending (Atari, MinAtar games with lives).
    All arrays view the batch and are rewritten by the next ``step``/``reset``.
    """

    metadata = {"autoreset_mode": "same-step"}

    def __init__(self, id, num_envs=1, seed=0, obs="symbolic", *, num_threads=1, as_torch=False, **options):
        if isinstance(num_envs, bool) or not isinstance(num_envs, numbers.Integral):
            raise TypeError(f"num_envs must be an integer, got {type(num_envs).__name__}")
        if isinstance(num_threads, bool) or not isinstance(num_threads, numbers.Integral):
            raise TypeError(f"num_threads must be an integer, got {type(num_threads).__name__}")
        self._seed_next = _seed(seed)
        self._c = _imagine.VectorEnv(_env_sets(id, obs, options), int(num_envs), int(num_threads))
        self._describe(self._c.spec, self._c.options_toml)
        self.num_envs = self._c.num_envs
        self.num_threads = self._c.num_threads
        self.as_torch = bool(as_torch)
        c = self._c
        # The batch tensors live as long as the C++ env and are rewritten in place: the views are
        # made once, and every call returns the same objects.
        self._tensors = dict(obs=c.obs, reward=c.reward, terminated=c.terminated, truncated=c.truncated,
                             life_lost=c.life_lost, final_obs=c.final_obs, episode_return=c.episode_return,
                             episode_length=c.episode_length)
        self._views = {k: (t if self.as_torch else t.numpy()) for k, t in self._tensors.items()}
        self._numpy = {k: t.numpy() for k, t in self._tensors.items()}
        v = self._views
        self._step_out = (v["obs"], v["reward"], v["terminated"], v["truncated"])
        self.closed = False

    # Gymnasium spaces (when Gymnasium is importable).
    @property
    def single_observation_space(self):
        return self._box(self.observation_shape)

    @property
    def observation_space(self):
        return self._box((self.num_envs,) + self.observation_shape)

    @property
    def single_action_space(self):
        return _gymnasium_spaces("an action space").Discrete(self.num_actions)

    @property
    def action_space(self):
        return _gymnasium_spaces("an action space").MultiDiscrete(np.full(self.num_envs, self.num_actions))

    @property
    def life_lost(self):
        return self._views["life_lost"]

    @property
    def unwrapped(self):
        return self

    def reset(self, *, seed=None, options=None):
        """Seeds env i with seed + i, starts every episode; returns (obs, {})."""
        _check_reset_options(options)
        seed = self._seed_next if seed is None else _seed(seed)
        self._c.reset(seed)
        self._seed_next = seed + self.num_envs
        return self._views["obs"], {}

    def step(self, actions):
        """actions: ``num_envs`` integers in [0, num_actions) (NumPy, torch, list)."""
        # The common case (a C-contiguous int64 array) goes straight through: at 1,024 MinAtar
        # envs a whole C++ step takes tens of microseconds, so every microsecond here shows.
        if type(actions) is not np.ndarray or actions.dtype != np.int64 or not actions.flags.c_contiguous:
            actions = self._as_actions(actions)
        if self._c.step(actions):
            return self._step_out + (self._final_info(),)
        return self._step_out + ({},)

    def _as_actions(self, actions):
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise _imagine.Error(f"actions must be {self.num_envs} integers, one per environment; got {a.dtype}")
        return np.ascontiguousarray(a, dtype=np.int64)

    def _final_info(self):
        n = self._numpy
        done = np.logical_or(n["terminated"], n["truncated"])
        v = self._views
        mask = torch.from_numpy(done) if self.as_torch else done
        return {
            "final_observation": v["final_obs"], "_final_observation": mask,
            "final_info": FinalInfo(done, n["episode_return"].copy(), n["episode_length"].copy()),
            "_final_info": mask,
            "episode": {"r": v["episode_return"], "l": v["episode_length"]}, "_episode": mask,
        }

    def __repr__(self):
        return (f"VectorEnv({self.id!r}, num_envs={self.num_envs}, obs={self.options.get('obs')!r}, "
                f"observation_shape={self.observation_shape}, num_actions={self.num_actions})")


class Env(_Described):
    """One environment (Gymnasium's Env API: no automatic reset).

    ``reset(seed=s)`` seeds it; ``reset()`` without a seed uses the ``seed`` given to ``make``
    the first time and then continues the environment's own random stream. ``step(action)``
    returns ``(obs, reward, terminated, truncated, info)`` with ``info = {"life_lost": bool}``;
    stepping after the episode ended, before ``reset``, raises ``imagine.Error``. ``obs``
    views one buffer rewritten by every call.
    """

    def __init__(self, id, seed=0, obs="symbolic", *, as_torch=False, **options):
        self._first_seed = _seed(seed)
        self._c = _imagine.Env(_env_sets(id, obs, options))
        self._describe(self._c.spec, self._c.options_toml)
        self.as_torch = bool(as_torch)
        self._obs = self._c.obs if self.as_torch else self._c.obs.numpy()
        self.closed = False

    @property
    def observation_space(self):
        return self._box(self.observation_shape)

    @property
    def action_space(self):
        return _gymnasium_spaces("an action space").Discrete(self.num_actions)

    @property
    def unwrapped(self):
        return self

    def reset(self, *, seed=None, options=None):
        _check_reset_options(options)
        if seed is not None:
            self._c.seed(_seed(seed))
        elif self._first_seed is not None:
            self._c.seed(self._first_seed)
        self._first_seed = None
        self._c.reset()
        return self._obs, {}

    def step(self, action):
        if isinstance(action, (np.ndarray, torch.Tensor)) and action.ndim == 0:
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, numbers.Integral):
            raise _imagine.Error(f"action must be an integer in [0, {self.num_actions}), got {action!r}")
        reward, terminated, truncated, life_lost = self._c.step(int(action))
        return self._obs, reward, terminated, truncated, {"life_lost": life_lost}

    def __repr__(self):
        return f"Env({self.id!r}, observation_shape={self.observation_shape}, num_actions={self.num_actions})"


def make_vec(id, num_envs=1, seed=0, obs="symbolic", *, num_threads=1, as_torch=False, **options):
    """``num_envs`` environments of ``id`` as one batch; see :class:`VectorEnv`.

    ``obs``: "symbolic" (binary/fractional planes) or "rgb" (pictures; Atari is always RGB).
    ``options``: any ``[env]`` option (``image_size=16``, ``sticky_action_prob=0``, ...; see
    ``imagine.envs()`` and docs/configuration.md), checked as ``--set env.key=value`` is.
    ``num_threads``: threads stepping the batch (the C++ thread pool).
    """
    return VectorEnv(id, num_envs, seed, obs, num_threads=num_threads, as_torch=as_torch, **options)


def make(id, seed=0, obs="symbolic", *, as_torch=False, **options):
    """One environment of ``id``; see :class:`Env` and :func:`make_vec` for the options."""
    return Env(id, seed, obs, as_torch=as_torch, **options)


def envs():
    """Every environment id: ``[{"id", "description", "options", "observation_shape",
    "num_actions", "action_meanings"}]`` (shape and actions ``None`` where the environment
    cannot be built here, e.g. Atari without ALE or its ROM). Shapes are for the default
    options (symbolic observations)."""
    out = []
    for row in _imagine.list_envs():
        spec = row["spec"]
        out.append({
            "id": row["id"],
            "description": row["description"],
            "options": list(row["options"]),
            "observation_shape": tuple(spec["observation_shape"]) if spec else None,
            "num_actions": spec["num_actions"] if spec else None,
            "action_meanings": list(spec["action_meanings"]) if spec else None,
        })
    return out
