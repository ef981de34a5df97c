"""Runs: train one (the `imagine train` command, in this process), load a run directory."""

import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from . import _imagine
from ._options import assignments
from ._world_model import WorldModel

__all__ = ["Run", "Evaluation", "TrainingInterrupted", "load", "train"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C (or SIGTERM/SIGHUP) after writing a checkpoint, as the
    command does; ``imagine.train(resume=e.run_dir)`` continues it exactly."""

    def __init__(self, run_dir, exit_code):
        self.run_dir = run_dir
        self.exit_code = exit_code  # the command's: 128 + the signal number
        super().__init__(f"training stopped with a checkpoint; continue with imagine.train(resume={run_dir!r})")


@dataclass
class Evaluation:
    """Returns of complete episodes played by a run's policy (what `imagine eval` prints)."""
    step: int
    returns: list = field(repr=False)
    mean: float = 0.0
    std: float = 0.0  # sample standard deviation (n - 1), 0 for one episode

    @property
    def episodes(self):
        return len(self.returns)


class Run:
    """A run directory (``imagine.load(path)``): its resolved config, metrics, checkpoints,
    manifest and final evaluation are read from the files; the policy, evaluation and world
    model load the latest checkpoint (or ``checkpoint=``) on first use."""

    def __init__(self, path, checkpoint=None):
        self.path = os.fspath(path)
        self._c = _imagine.Run(self.path, checkpoint)
        # The config as the command resolves it (every key, defaults filled in).
        self.config = tomllib.loads(self._c.config_toml)
        self.kind = self._c.kind
        self._policy_batch = None
        self._world_model = None

    def __repr__(self):
        return f"Run({self.path!r}, kind={self.kind!r}, env={self.config['env']['id']!r})"

    # Files of the run directory.
    @property
    def metrics(self):
        """metrics.jsonl as a list of dicts ({"step", "wall_time", name: value, ...})."""
        out = []
        try:
            with open(os.path.join(self.path, "metrics.jsonl"), encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        break  # a line being written by a run in progress
        except FileNotFoundError:
            pass
        return out

    def metrics_frame(self):
        """The metrics as a pandas DataFrame (needs pandas)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError(f"metrics_frame() needs pandas ({e}); run.metrics is the same as a list of dicts") from None
        return pandas.DataFrame(self.metrics)

    @property
    def checkpoints(self):
        """Steps of the checkpoints in the run directory, ascending."""
        return list(_imagine.checkpoint_steps(os.path.join(self.path, "checkpoints")))

    def checkpoint_path(self, step):
        """The file of the checkpoint at ``step`` (core/checkpoint.cc names them so)."""
        return os.path.join(self.path, "checkpoints", f"step-{int(step):09d}.pt")

    @property
    def manifest(self):
        with open(os.path.join(self.path, "manifest.json"), encoding="utf-8") as f:
            return json.load(f)

    @property
    def evaluation(self):
        """The final evaluation training wrote (evaluation.json: step, returns), or None."""
        try:
            with open(os.path.join(self.path, "evaluation.json"), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    @property
    def observation_shape(self):
        return tuple(self._c.spec["observation_shape"])

    @property
    def num_actions(self):
        return self._c.spec["num_actions"]

    @property
    def step(self):
        """The step of the loaded checkpoint."""
        return self._c.step

    # The trained agent.
    def policy(self, obs, first=None):
        """Actions of the run's policy for ``obs`` ([N, C, H, W] or one [C, H, W] uint8, NumPy
        or torch) -> [N] int64 (same kind as obs) or one int.

        ``first`` ([N] bool) marks observations that start an episode: policies with memory
        (STORM's acting context) forget the environment's past there. Pass the previous step's
        ``terminated | truncated`` when stepping a vector env. Without it, the first call (or one
        with a new batch size) starts every episode and later calls continue them.
        """
        as_numpy = not isinstance(obs, torch.Tensor)
        t = torch.as_tensor(obs)
        single = t.dim() == 3
        if single:
            t = t.unsqueeze(0)
        n = t.shape[0] if t.dim() > 0 else 0
        if first is None:
            f = torch.full((n,), self._policy_batch != n, dtype=torch.bool)
        else:
            f = torch.as_tensor(first).reshape(-1)
            if f.dtype != torch.bool:
                f = f.to(torch.bool)
        actions = self._c.act(t, f)
        self._policy_batch = n
        if single:
            return int(actions[0])
        return actions.numpy() if as_numpy else actions

    def reset_policy(self):
        """Forgets every episode (policies with memory start afresh)."""
        self._c.reset_policy()
        self._policy_batch = None

    def evaluate(self, episodes=None, seed=12345):
        """Plays ``episodes`` complete episodes (default: the run's ``eval_episodes``) with the
        policy, environments seeded from ``seed``; the same returns as
        ``imagine eval RUN --episodes N --seed S``."""
        n = self._c.eval_episodes if episodes is None else episodes
        returns = list(self._c.evaluate(int(n), int(seed)))
        mean = sum(returns) / len(returns)
        var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1) if len(returns) > 1 else 0.0
        return Evaluation(step=self._c.step, returns=returns, mean=mean, std=math.sqrt(var))

    @property
    def world_model(self):
        """The run's world model (see :class:`imagine.WorldModel`) at its newest checkpoint, on
        the run's device; loaded on first use. ``storm`` and ``env_model`` runs have one."""
        if self._world_model is None:
            self._world_model = WorldModel(self._c.world_model(None))
        return self._world_model

    def load_world_model(self, device="cpu"):
        """The world model on ``device`` ("cpu", "cuda", "cuda:1"), e.g. a GPU run's on a CPU."""
        return WorldModel(self._c.world_model(str(device)))


def load(run_dir, checkpoint=None):
    """Opens a run directory; ``checkpoint``: the step to load (default: the latest)."""
    return Run(run_dir, checkpoint)


def _config_args(config):
    if config is None:
        return [], []
    if isinstance(config, (str, os.PathLike)):
        return [os.fspath(config)], []
    if isinstance(config, Mapping):
        return [], assignments(config)
    if isinstance(config, (list, tuple)):
        files, sets = [], []
        for c in config:  # layered, later ones overriding earlier ones (repeated --config)
            f, s = _config_args(c)
            if s and not f:
                sets += s
            else:
                files += f
        return files, sets
    raise TypeError(f"config must be a TOML file path, a dict or a list of them, got {type(config).__name__}")


def train(config=None, run_dir=None, *, overrides=None, force=False, resume=None, stop_at=None):
    """Trains as ``imagine train`` does, in this process; returns the :class:`Run`.

    ``config``: a TOML file (``--config``), a dict of options (nested sections or dotted keys,
    each one a ``--set``), or a list of those (files layered in order, dicts applied last);
    None: the defaults (STORM on MinAtar Breakout). ``overrides``: more ``--set`` options.
    ``run_dir``: where the run goes (default ``runs/<name>-<time>``); ``force`` replaces a run
    there. ``resume``: a run directory to continue from its last checkpoint. ``stop_at``: stop
    with a checkpoint after that many steps.

    Progress and logs go to stderr, the final evaluation's table to stdout, as the command
    prints them. Ctrl-C writes a checkpoint and raises :class:`TrainingInterrupted`; a second
    Ctrl-C ends the process at once (as it ends the command). Bad input raises
    :class:`imagine.Error` with the command's message.
    """
    files, sets = _config_args(config)
    if overrides is not None:
        sets += assignments(overrides)
    path, code = _imagine.train(files, sets, None if run_dir is None else os.fspath(run_dir), bool(force),
                                None if resume is None else os.fspath(resume),
                                None if stop_at is None else int(stop_at))
    if code != 0:
        raise TrainingInterrupted(path, code)
    return Run(path)
