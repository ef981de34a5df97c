"""A run's world model behind the world-model contract (src/imagine/models/world_model.h)."""

from collections import namedtuple

import numpy as np
import torch

from . import _imagine

__all__ = ["WorldModel", "WorldStep", "Rollout"]

# step(): the state after the action, the predicted reward [B] and the probability [B] that
# the episode goes on (1 for models without a continue head).
WorldStep = namedtuple("WorldStep", "state reward continues")

# rollout(): frames [H, B, C, H, W] float in [0, 1] (decoded after each step), rewards and
# continues [H, B], and the last state.
Rollout = namedtuple("Rollout", "frames rewards continues state")


def _tensor(x, what):
    if x is None or isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.generic)):
        return torch.as_tensor(x)  # NumPy arrays are shared, not copied
    raise TypeError(f"{what} must be a torch tensor or a NumPy array, got {type(x).__name__}")


def _indices(action):
    a = _tensor(action, "action")
    if not a.is_floating_point() and a.dtype != torch.int64 and a.dtype != torch.bool:
        a = a.to(torch.int64)  # int32 and friends are indices too
    return a


class WorldModel:
    """The contract every world model meets, on torch tensors.

    - ``observe(obs, action=None, first=None)``: obs ``[B, L, C, H, W]`` uint8 (oldest first,
      ``L >= context``), the actions taken at them ``[B, L]`` int64 and episode starts ``[B, L]``
      bool (models that need neither ignore them) -> a state (``state.batch`` = B).
    - ``step(state, action)``: action ``[B]`` int64 indices or ``[B, jump * num_actions]`` float
      one-hots (gradients flow through relaxed ones) -> ``WorldStep(state, reward, continues)``.
      States are immutable: stepping one state twice gives two futures.
    - ``branch(state, k)``: each element repeated k times (rows i*k .. i*k+k-1).
    - ``features(state)``: ``[B, feature_dim]``, what agents read; ``feature_map(state)``: the
      state as a feature map, or None; ``decode(state)``: ``[B, C, H, W]`` float in [0, 1].

    Tensors come back on the model's ``device``; inputs may be NumPy or torch. Gradients are
    recorded unless you wrap calls in ``torch.no_grad()``, as with any torch module.
    """

    def __init__(self, handle):
        self._c = handle
        self.feature_dim = handle.feature_dim
        self.num_actions = handle.num_actions
        self.jump = handle.jump  # environment steps one step() covers
        self.context = handle.context  # frames observe() needs (at least)
        self.kind = handle.kind
        self.device = torch.device(handle.device)
        self.observation_shape = tuple(handle.observation_shape)

    def __repr__(self):
        return (f"WorldModel(kind={self.kind!r}, context={self.context}, jump={self.jump}, "
                f"num_actions={self.num_actions}, feature_dim={self.feature_dim}, device={str(self.device)!r})")

    def observe(self, obs, action=None, first=None):
        return self._c.observe(_tensor(obs, "obs"), _indices(action) if action is not None else None,
                               _tensor(first, "first"))

    def step(self, state, action):
        next_state, reward, continues = self._c.step(state, _indices(action))
        return WorldStep(next_state, reward, continues)

    def branch(self, state, k):
        return self._c.branch(state, int(k))

    def features(self, state):
        return self._c.features(state)

    def feature_map(self, state):
        return self._c.feature_map(state)

    def decode(self, state):
        return self._c.decode(state)

    def rollout(self, state, actions):
        """Imagines from ``state`` under ``actions`` ([H, B] indices or [H, B, jump *
        num_actions] one-hots), decoding each predicted frame."""
        actions = _indices(actions)
        frames, rewards, continues = [], [], []
        for a in actions:
            out = self.step(state, a)
            state = out.state
            frames.append(self.decode(state))
            rewards.append(out.reward)
            continues.append(out.continues)
        if not frames:
            raise _imagine.Error("rollout: actions must hold at least one step")
        return Rollout(torch.stack(frames), torch.stack(rewards), torch.stack(continues), state)
