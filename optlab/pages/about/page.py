"""What optlab is, how to use it, the URL parameters, and every optimizer's update rule."""

from __future__ import annotations

import streamlit as st

from optlab.config.surfaces import GROUPS
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES

INTRO = """
**optlab** is a lab bench for optimizers. Pick a 2-D loss surface, choose a few optimizers,
move their learning rates and watch them race from the same start point: the map shows every
path, the curve next to it the loss per step, and one *Play* button animates both. Every
number is computed by one compiled JAX function (a `lax.scan` over the steps), so moving a
slider re-runs the race in milliseconds without recompiling.

### How to use it
1. **Surface** — pick a landscape in the sidebar; its formula and a hint appear above the map.
2. **Optimizers** — pick any of the registry's optimizers; each gets its learning-rate slider
   and a *more settings* expander (β's, ε, toggles).
3. **Start** — type a start point or **click the map** anywhere.
4. **Play** — press ▶ under the map, or drag the step scrubber.
5. **Inside the optimizer** — open this panel under the race, then choose an optimizer and a
   step to see its gradient, momentum and actual update as arrows, and its effective
   per-coordinate step size. (It is drawn only while open, so the race stays quick.)
6. **Share** — the address bar always holds the whole setup; *Share this exact setup* in the
   sidebar shows the link with a copy button.

### Keyboard tips
- **Tab** / **Shift+Tab** move between controls; a focused slider moves with **← →**
  (**Home**/**End** jump to its ends, **Page Up/Down** take bigger steps).
- In a select box, start typing an optimizer's or surface's name and press **Enter**.
- **R** reruns the app, **C** clears its caches (from Streamlit's menu, when no input is focused).
- Double-click a plot to reset its zoom; click a legend entry to hide that optimizer.
"""

URL_DOC = """
### Link parameters
The address bar holds everything that differs from the defaults, e.g.
`?surface=ravine&s.kappa=100&opt=gd,adam&adam.lr=0.05&steps=300&start=-2,1&sched=cosine`.

| parameter | meaning | example |
|---|---|---|
| `surface` | surface name | `surface=ravine` |
| `s.<param>` | a surface parameter | `s.kappa=100` |
| `opt` | selected optimizers, comma separated (`none` for none) | `opt=gd,momentum,adam` |
| `<optimizer>.lr`, `<optimizer>.<hparam>` | a hyperparameter | `adam.lr=0.05&adam.b1=0.8` |
| `steps` | number of steps (10–2000) | `steps=500` |
| `start` | start point `x,y` | `start=-1.5,2` |
| `sched`, `sched.<param>` | lr schedule and its parameters | `sched=cosine&sched.alpha=0.1` |
| `clip`, `clip_at` | clipping `off` / `norm` / `value`, threshold | `clip=norm&clip_at=1` |
| `wd`, `wd_at` | weight decay `off` / `l2` / `decoupled` and λ | `wd=decoupled&wd_at=0.01` |
| `log` | log-scale loss axis (`0`/`1`) | `log=0` |
| `frame_ms` | animation speed, ms per frame (20–1000) | `frame_ms=120` |
| `view3d` | show the 3-D view | `view3d=1` |
| `theory` | theory overlays: 2/L, predicted loss, Hessian (`0`: off) | `theory=0` |
| `inspect`, `at` | optimizer, step in *Inside the optimizer* (opens it) | `inspect=adam&at=40` |
| `present` | **projector mode** on any page (kept across pages; `0`: off) | `present=1` |
| `hide` | hide control groups (values still come from the link) | `hide=schedule,clip,wd` |
| `scenario` | a scenario's explanation above the page | `scenario=momentum-ravine` |

Values snap to the sliders' grids. Unknown or invalid values are ignored and listed in a notice
at the top of the page; the rest of the link still applies.

The other pages keep their settings in the link the same way, under their own path: the Data & SGD
page (`/data?problem=logreg&batch=1`), Sweeps (`/sweeps?…`; its transformer sweep's settings
travel as `swt.*`) and the Transformer (`/transformer?corpus=pasted&text=…`: a pasted text
travels in the link, compressed, when it packs into 2,000 characters; a longer one has to be
pasted again). `present`, `hide` and `scenario` work on every page.
"""


DEEP_NETS = """
### The Deep nets page
The lecture on backpropagation and deep networks, in three sections (`/deepnets?section=…`):
1. **Backprop step by step** (`backprop`) — a 2-2-1 network on one example drawn as a graph:
   forward values on the nodes, then **Next step** walks the backward pass edge by edge, each
   step one local derivative times the gradient that arrived
   ($\\partial L/\\partial u = \\partial L/\\partial n \\cdot \\partial n/\\partial u$), until every
   weight's gradient is known; a table puts them beside `jax.grad`'s, and **Take a gradient
   step** updates the weights and the loss.
2. **Depth and gradient flow** (`depth`) — an MLP of 1–50 layers (sigmoid, tanh, ReLU, GELU;
   too small / too large / Xavier / He init; batch or layer norm; residual connections) on a
   generated two-class set, trained by the chosen optimizers side by side: the gradient norm
   per layer on a log axis (a falling line is the vanishing gradient), each layer's activation
   spread and dead/saturated units, at initialisation and at any step, the loss curves, and the
   global gradient norm raw vs clipped.
3. **Overfitting and regularisation** (`overfit`) — a wide net on a dozen noisy points of a sine:
   training vs validation loss and the fitted function, without and with L2, decoupled weight
   decay or dropout.

Link keys: `bp.act bp.x1 bp.x2 bp.t bp.seed bp.lr bp.walk bp.k` (backprop);
`data depth width act init norm res seed opt <opt>.lr steps batch sched clip at` (depth);
`of.n of.noise of.width of.depth of.act of.opt of.lr of.steps of.wd of.lam of.drop` (overfit).
`hide=` takes `network`, `optimizers`, `schedule`, `clip`, `regularisation` there.
"""


def render() -> None:
    st.title("About optlab")
    st.markdown(INTRO)
    st.markdown(URL_DOC)
    st.markdown(DEEP_NETS)
    st.markdown("Control groups for `hide`: " + ", ".join(f"`{g}`" for g in GROUPS) + ".")
    st.markdown("### The optimizers")
    st.caption("$g_t$ is the gradient at step $t$, $\\eta$ the learning rate.")
    for spec in OPTIMIZERS.values():
        st.markdown(f"**{spec.display}** — " + ", ".join(h.label for h in spec.hparams))
        st.latex(spec.latex)
    st.markdown("### Learning-rate schedules")
    st.caption("The schedule multiplies every optimizer's learning rate by $m_t$ ($T$ = steps).")
    for spec in SCHEDULES.values():
        st.markdown(f"**{spec.display}**")
        st.latex(spec.latex)
