# %% [markdown]
# # The latent explorers: DivCo and ContrasFill
#
# Drag the sliders; no code to read. `make explore` serves this notebook as a page (Voilà):
#
# * **DivCo** (01_divco): one row per class, one column per latent code $z$, the same code down a
#   column. The *walk* slider moves every column's code from $z_0$ to $z_1$ (spherically by
#   default, so the code keeps a typical length; *lerp* is the straight line of the paper's
#   Fig. 5). A generator that uses its code changes the images along the walk.
# * **ContrasFill** (02_contrasfill): one masked input; the *known* slider blends two classes
#   (one-hot codes $k_0 \to k_1$), the *unknown* slider walks the code for everything else
#   ($u_0 \to u_1$). The factor predictor's guesses are printed under the image.
#
# The models are the first seed's checkpoints of the notebooks' quick runs (`runs/notebooks/`).
# Where none exists the page trains a small model first (tens of seconds each on 2 CPU cores)
# and says so; `.venv/bin/ci-inpaint notebooks run 01_divco --profile quick` (and
# `02_contrasfill`) trains the real ones.

# %% tags=["parameters"]
import os

profile = os.environ.get("CI_INPAINT_PROFILE", "quick")  # whose notebook runs to load; smoke: tiny models
runs_root = os.environ.get("CI_INPAINT_EXPLORER_RUNS", "")  # empty: runs/notebooks
cache = os.environ.get("CI_INPAINT_EXPLORER_CACHE", "")  # the small models' folder; empty: runs/explorer

# %%
import ipywidgets as w
import torch
from IPython.display import display

from ci_inpaint.widgets import divco_explorer, explorer, explorer_model

torch.set_num_threads(1)  # small nets: one thread answers a slider fastest on a busy machine
where = {"profile": profile, "root": runs_root or None, "cache": cache or None}

# %%
divco, divco_dir = explorer_model("divco", **where)
display(w.HTML("<h2>DivCo: class × latent grid</h2><p>Rows: the selected classes. Columns: "
               "latent codes, each walking from z0 (slider at 0) to z1 (slider at 1).</p>"))
display(divco_explorer(divco))

# %%
from ci_inpaint.methods.contrasfill import eval_items, factor_predictor

cf, cf_dir = explorer_model("contrasfill", **where)
contexts = eval_items(cf, 6, seed=99)
predictor = factor_predictor(cf.cfg)
display(w.HTML("<h2>ContrasFill: known × unknown code</h2><p>The hole is filled by "
               "G(k, u, image): k picks the object's class, u everything else.</p>"))
display(explorer(cf, contexts, predictor, class_names=cf.dataset.base.class_names))
