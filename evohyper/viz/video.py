"""Frames of a replayed episode as a GIF (pillow) or an MP4 (imageio with imageio-ffmpeg)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

MAX_WIDTH = 320   # GIF frames are scaled down to this width (a MuJoCo frame is 480 px: GIFs grow fast)
MAX_GIF_FPS = 25  # browsers clamp faster GIFs; higher frame rates keep every k-th frame


def write_video(frames: list[Any], path: str | Path, fps: float) -> Path:
    """Write ``frames`` (RGB arrays ``[H, W, 3]``) to ``path``; the suffix picks the format."""
    path = Path(path)
    if not frames:
        raise ValueError("no frames to write (the environment rendered nothing)")
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        step = max(1, int(round(fps / MAX_GIF_FPS)))
        images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames[::step]]
        if images[0].width > MAX_WIDTH:
            size = (MAX_WIDTH, round(images[0].height * MAX_WIDTH / images[0].width))
            images = [im.resize(size) for im in images]
        images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                       duration=max(20, round(1000 * step / fps)))
        return path
    if suffix == ".mp4":
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401 - imageio's MP4 writer
        except ImportError:
            raise ValueError("--video FILE.mp4 needs imageio and imageio-ffmpeg (pip install imageio-ffmpeg); "
                             "or write a .gif") from None
        imageio.mimwrite(path, [np.asarray(f, dtype=np.uint8) for f in frames], fps=fps, macro_block_size=1)
        return path
    raise ValueError(f"--video {path}: unknown format {suffix!r}; allowed: .gif, .mp4")
