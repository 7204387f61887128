"""A numpy colormap and the surface renderer behind the map's background image.

No matplotlib: viridis is a table of eleven anchor colours, linearly interpolated. The map is
rendered as an 8-bit palette PNG (``COLOR_LEVELS`` colour levels, the same levels darkened for
the baked-in contour lines, one slot for non-finite values), which keeps a 250² image at a few
tens of kB — plotly serialises it as a data URI in ``layout.images``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from surfaces.base import Surface

# matplotlib's viridis sampled at 0, 0.1, ..., 1 (perceptually uniform, luminance increasing).
VIRIDIS = np.array(
    [
        [0x44, 0x01, 0x54],
        [0x48, 0x24, 0x75],
        [0x41, 0x44, 0x87],
        [0x35, 0x5F, 0x8D],
        [0x2A, 0x78, 0x8E],
        [0x21, 0x91, 0x8C],
        [0x22, 0xA8, 0x84],
        [0x44, 0xBF, 0x70],
        [0x7A, 0xD1, 0x51],
        [0xBD, 0xDF, 0x26],
        [0xFD, 0xE7, 0x25],
    ],
    np.float64,
)

COLOR_LEVELS = 127  # palette slots 0..126: colours; 127: non-finite; 128..254: darkened
NAN_SLOT = COLOR_LEVELS
NAN_RGB = (200, 200, 200)
CONTOUR_DARKEN = 0.55  # contour pixels keep this fraction of their colour
FADE = 0.45  # blend toward white so the optimizers' (tab10) colours stand out on the map


def colormap(t: np.ndarray, fade: float = FADE) -> np.ndarray:
    """Colours for values ``t`` in [0, 1] (clipped; NaN → 0): ``uint8 [..., 3]``.

    ``fade`` blends every colour toward white by that fraction (luminance stays monotone).
    """
    t = np.nan_to_num(np.clip(np.asarray(t, np.float64), 0.0, 1.0))
    pos = t * (len(VIRIDIS) - 1)
    i = np.minimum(pos.astype(np.int64), len(VIRIDIS) - 2)
    frac = (pos - i)[..., None]
    rgb = VIRIDIS[i] * (1.0 - frac) + VIRIDIS[i + 1] * frac
    rgb = rgb * (1.0 - fade) + 255.0 * fade
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance (Rec. 709 weights on linearised sRGB) of ``uint8 [..., 3]`` colours."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def plotly_colorscale(n: int = 11, fade: float = FADE) -> list[list]:
    """The same colormap as a plotly ``colorscale`` (for ``go.Surface`` and colour bars)."""
    ts = np.linspace(0.0, 1.0, n)
    return [
        [float(t), "rgb({},{},{})".format(*c)] for t, c in zip(ts, colormap(ts, fade), strict=True)
    ]


def normalize(z: np.ndarray, log: bool, fmin: float, clip_pct: float = 99.0) -> np.ndarray:
    """Map ``z`` to [0, 1] (NaN where ``z`` is not finite).

    ``log``: ``log(z - fmin + 1)`` scaled by its maximum (a log surface needs no clipping).
    Otherwise linear from the grid minimum to the ``clip_pct`` percentile, so one huge corner
    does not wash the map out.
    """
    z = np.asarray(z, np.float64)
    finite = np.isfinite(z)
    if not finite.any():
        return np.full(z.shape, np.nan)
    if log:
        v = np.log1p(np.maximum(np.where(finite, z, fmin) - fmin, 0.0))
        lo, hi = 0.0, float(v[finite].max())
    else:
        v = z
        lo = float(z[finite].min())
        hi = float(np.percentile(z[finite], clip_pct))
    span = hi - lo if hi > lo else 1.0
    return np.where(finite, np.clip((v - lo) / span, 0.0, 1.0), np.nan)


def contour_mask(levels: np.ndarray) -> np.ndarray:
    """Pixels where the quantised level differs from the right or lower neighbour."""
    edge = np.zeros(levels.shape, bool)
    edge[:, :-1] |= levels[:, :-1] != levels[:, 1:]
    edge[:-1, :] |= levels[:-1, :] != levels[1:, :]
    return edge


def render_indices(t: np.ndarray, n_contours: int = 15) -> np.ndarray:
    """Palette indices for normalised values ``t`` (row 0 = the *top* row of the image)."""
    finite = np.isfinite(t)
    tt = np.where(finite, t, 0.0)
    idx = np.round(tt * (COLOR_LEVELS - 1)).astype(np.uint8)
    bands = np.minimum((tt * n_contours).astype(np.int64), n_contours - 1)
    bands = np.where(finite, bands, -1)
    idx = np.where(contour_mask(bands) & finite, idx + COLOR_LEVELS + 1, idx)
    return np.where(finite, idx, NAN_SLOT).astype(np.uint8)


def palette(fade: float = FADE) -> list[int]:
    """The 256-entry RGB palette matching :func:`render_indices`."""
    base = colormap(np.linspace(0.0, 1.0, COLOR_LEVELS), fade).astype(np.float64)
    dark = np.round(base * CONTOUR_DARKEN)
    pal = np.zeros((256, 3), np.uint8)
    pal[:COLOR_LEVELS] = base
    pal[NAN_SLOT] = NAN_RGB
    pal[COLOR_LEVELS + 1 : 2 * COLOR_LEVELS + 1] = dark
    return pal.ravel().tolist()


def png_data_uri(indices: np.ndarray, fade: float = FADE) -> str:
    """Encode palette indices ``uint8 [h, w]`` as a ``data:image/png;base64,...`` URI."""
    indices = np.ascontiguousarray(indices, np.uint8)
    img = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    img.putpalette(palette(fade))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_uri(uri: str) -> Image.Image:
    """The PIL image inside a ``data:image/png;base64,`` URI (converted to RGB)."""
    payload = uri.split(",", 1)[1]
    return Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")


# ---------------------------------------------------------------------------------------------
# The surface evaluated on a grid and rendered (``optlab.viz.race.surface_image`` is the entry).


class SurfaceImage(NamedTuple):
    """The surface rendered once as a background image (contour lines baked in).

    Defined here with the renderer; ``optlab.viz.race.SurfaceImage`` is the same class."""

    uri: str  # "data:image/png;base64,..." for layout.images
    xs: np.ndarray  # [n]
    ys: np.ndarray  # [n]
    z: np.ndarray  # [n, n], z[i, j] = f(xs[j], ys[i])
    zmin: float
    zmax: float
    log: bool  # coloured on log(f - fmin + 1)


@lru_cache(maxsize=64)
def surface_image_cached(surface: Surface, theta_items: tuple, n: int) -> SurfaceImage:
    xs, ys, z = eval_grid(surface, dict(theta_items), n)
    t = normalize(z, surface.log_color, loss_floor(surface, z))
    uri = png_data_uri(render_indices(t[::-1]))  # image row 0 is the top: the largest y
    finite = z[np.isfinite(z)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return SurfaceImage(uri, xs, ys, z, zmin, zmax, surface.log_color)


def window_image(
    surface: Surface,
    window: Sequence[float],
    theta: Mapping[str, float] | None = None,
    n: int = 200,
) -> SurfaceImage:
    """The surface rendered over ``window = (x0, x1, y0, y1)`` (a zoomed state view), colours
    and contours normalised within the window so the local level sets show."""
    th = surface.theta(**dict(theta or {}))
    win = np.asarray(window, np.float32)
    xs, ys, z = (np.asarray(a) for a in jax.device_get(window_grid_jit(surface, n, win, th)))
    finite = z[np.isfinite(z)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    t = normalize(z, surface.log_color, zmin)
    return SurfaceImage(
        png_data_uri(render_indices(t[::-1])), xs, ys, z, zmin, zmax, surface.log_color
    )


@partial(jax.jit, static_argnums=(0, 1))
def grid_jit(surface: Surface, n: int, theta):
    return surface.grid(n, theta)


@partial(jax.jit, static_argnums=(0, 1))
def window_grid_jit(surface: Surface, n: int, window, theta):
    """Like ``surface.grid`` over ``window = [x0, x1, y0, y1]`` (traced: no recompile)."""
    xs = jnp.linspace(window[0], window[1], n)
    ys = jnp.linspace(window[2], window[3], n)
    row = jax.vmap(lambda x, y: surface.fn(x, y, theta), in_axes=(0, None))
    return xs, ys, jax.vmap(lambda y: row(xs, y))(ys)


def eval_grid(surface: Surface, theta: Mapping[str, float] | None, n: int):
    th = surface.theta(**dict(theta or {}))
    xs, ys, z = jax.device_get(grid_jit(surface, n, th))
    return np.asarray(xs), np.asarray(ys), np.asarray(z)


def loss_floor(surface: Surface, z: np.ndarray) -> float:
    """The colour scale's floor: the lowest known minimum value, or the grid minimum."""
    finite = z[np.isfinite(z)]
    known = [m.value for m in surface.minima if m.value is not None]
    cands = [*known, *([float(finite.min())] if finite.size else [])]
    return float(min(cands)) if cands else 0.0
