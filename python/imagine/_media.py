"""Pictures of observations and imagined frames, with the library's writers (no Python
imaging package needed): a GIF animation or a PNG strip of frames side by side."""

import os

import numpy as np
import torch

from . import _imagine

__all__ = ["save_gif", "save_png_strip"]


def _uint8_frames(frames):
    """[T, C, H, W] uint8, or float in [0, 1] (decoded frames) scaled to 0..255; NumPy or torch."""
    t = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames).detach().cpu()
    if t.is_floating_point():
        t = (t.clamp(0, 1) * 255).round().to(torch.uint8)
    return t


def save_gif(path, frames, delay_cs=8, scale=2):
    """Writes frames ([T, C, H, W], C = 1 or 3) as an animated GIF; ``delay_cs`` hundredths of
    a second per frame, each pixel drawn ``scale`` x ``scale``."""
    _imagine.write_gif(os.fspath(path), _uint8_frames(frames), int(delay_cs), int(scale))


def save_png_strip(path, frames, scale=2):
    """Writes frames ([T, C, H, W], C = 1 or 3) left to right in one PNG."""
    _imagine.write_png_strip(os.fspath(path), _uint8_frames(frames), int(scale))
