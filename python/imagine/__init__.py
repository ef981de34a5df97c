"""imagine from Python: the environments, runs and world models of the C++ library.

    import imagine
    env = imagine.make_vec("minatar/breakout", num_envs=64, seed=0)
    obs, info = env.reset(seed=0)
    run = imagine.train({"steps": 2000, "env": {"id": "minatar/breakout"}}, run_dir="runs/py")
    run = imagine.load("runs/py"); run.evaluate(episodes=10)

Bad input raises ``imagine.Error`` (a ``ValueError``) with the one-line message the
``imagine`` command prints for the same input. See docs/python.md.
"""

# torch first: it loads LibTorch and registers the tensor type that the extension's tensors
# are returned as (the extension links the same LibTorch, so nothing is copied).
import torch as _torch  # noqa: F401

from . import _imagine
from ._envs import Env, VectorEnv, envs, make, make_vec
from ._media import save_gif, save_png_strip
from ._runs import Evaluation, Run, TrainingInterrupted, load, train
from ._world_model import Rollout, WorldModel, WorldStep

Error = _imagine.Error
UnavailableError = _imagine.UnavailableError
OutOfMemoryError = _imagine.OutOfMemoryError
# The library's random generator (xoshiro256**), as `imagine envs stats` uses it.
Rng = _imagine.Rng
WorldState = _imagine.WorldState

build_info = _imagine.version_info()
__version__ = build_info["version"]

__all__ = [
    "make_vec", "make", "envs", "VectorEnv", "Env",
    "load", "train", "Run", "Evaluation", "TrainingInterrupted",
    "WorldModel", "WorldState", "WorldStep", "Rollout",
    "save_gif", "save_png_strip",
    "Error", "UnavailableError", "OutOfMemoryError", "Rng", "build_info",
]
