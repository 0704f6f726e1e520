# %% [markdown]
# # 00 · Start here
#
# `ci_inpaint` reproduces five papers on **contrastive learning for image synthesis and
# inpainting**, one notebook each. Every notebook reads like its paper: the idea in the paper's
# notation, the loss on toy tensors, a training run (one call into the `ci_inpaint` package),
# the paper's metrics, and a table beside the paper's claims.
#
# This notebook shows what the repository holds, the three run profiles, how to run one
# notebook with papermill, and which datasets and pretrained weights this machine has.

# %% tags=["parameters"]
import os

profile = os.environ.get("CI_INPAINT_PROFILE", "quick")  # smoke | quick | full
device = "auto"  # auto | cpu | cuda | mps (this notebook trains nothing)
seed = 0
out_dir = ""  # empty: runs/notebooks/00_start-<profile>
data_root = ""  # empty: bundled data; else a dataset folder prepared by data_scripts/

# %%
from ci_inpaint.notebooks import Notebook

nb = Notebook.start(globals())  # name, parameter types, out folder, clock

import platform

import torch
from IPython.display import Markdown, display

import ci_inpaint
from ci_inpaint.data.catalog import dataset_table
from ci_inpaint.experiments import fact
from ci_inpaint.methods import get_method, method_names
from ci_inpaint.notebooks import list_notebooks, markdown_table, notebooks_dir
from ci_inpaint.toolchain.runner import TIME_LIMITS
from ci_inpaint.weights import status_rows

print(f"ci_inpaint {ci_inpaint.__version__} · Python {platform.python_version()} · "
      f"torch {torch.__version__} · CUDA available: {torch.cuda.is_available()}")

# %% [markdown]
# ## The five papers
#
# | notebook | method | paper | contrastive idea |
# |---|---|---|---|
# | `01_divco` | DivCo | Liu et al., *DivCo: Diverse Conditional Image Synthesis via Contrastive Generative Adversarial Network*, CVPR 2021 | latent-augmented contrastive loss against mode collapse |
# | `02_contrasfill` | ContrasFill | Li et al., *Contrastive Learning for Diverse Disentangled Foreground Generation*, ECCV 2022 | known/unknown codes, bi-modulated convolution |
# | `03_scat` | SCAT | Zuo et al., *Generative Image Inpainting with Segmentation Confusion Adversarial Training and Contrastive Learning*, AAAI 2023 | U-Net segmentation discriminator + textural/semantic contrastive losses |
# | `04_daf` | DAF | Ma et al., *Free-Form Image Inpainting via Contrastive Attention Network*, ICPR 2020 | MoCo-style Siamese encoder + dual attention fusion |
# | `05_monce` | MoNCE | Zhan et al., *Modulated Contrast for Versatile Image Synthesis*, CVPR 2022 | optimal-transport re-weighted PatchNCE |
#
# The notebooks in this checkout, and the methods `ci-inpaint train` knows:

# %%
def first_heading(name: str) -> str:
    """The notebook's title: its first markdown line, without the '#'."""
    for line in (notebooks_dir() / f"{name}.py").read_text().splitlines():
        if line.startswith("# #"):
            return line.lstrip("# ").strip()
    return ""


notebook_rows = [{"notebook": n, "title": first_heading(n)} for n in list_notebooks()]
display(Markdown(markdown_table(notebook_rows)))

method_rows = []
for name in method_names():
    try:
        summary = get_method(name).summary
    except Exception as exc:  # a method still being written must not hide the others
        summary = f"(cannot load: {type(exc).__name__})"
    method_rows.append({"method": name, "summary": summary})
display(Markdown(markdown_table(method_rows)))

# %% [markdown]
# ## Three profiles
#
# Every notebook and `ci-inpaint train` take `profile`. The same dataclass config drives the
# command line, papermill parameters and YAML files; a profile only changes sizes and steps.

# %%
# NBVAL_CHECK_OUTPUT
purpose = {
    "smoke": "seconds; CI and nbval (`make test`) run every notebook with it",
    "quick": "minutes on a laptop CPU; the default, and what the committed outputs show",
    "full": "the paper's scale (datasets from data_scripts/, a GPU, hours to days)",
}
profile_rows = [
    {"profile": p, "meant for": purpose[p],
     "time limit per notebook": f"{TIME_LIMITS[p]:.0f} s" if TIME_LIMITS[p] else "none"}
    for p in ("smoke", "quick", "full")
]
print(markdown_table(profile_rows))

# %% [markdown]
# ## Running a notebook
#
# All notebooks with a report (`runs/reproduce-<timestamp>/index.md`): `make reproduce`.
# One notebook, one profile, through the package (writes `runs/x/index.md` too):
#
# ```bash
# .venv/bin/ci-inpaint notebooks run 01_divco --profile smoke --out runs/x
# ```
#
# One notebook with papermill and a parameter (`-k python3` is this environment's kernel):
#
# ```bash
# .venv/bin/papermill notebooks/01_divco.ipynb runs/divco.ipynb -k python3 \
#     -p profile smoke -p seed 1 -p out_dir runs/divco
# ```
#
# or from Python:
#
# ```python
# import papermill as pm
# pm.execute_notebook("notebooks/01_divco.ipynb", "runs/divco.ipynb", kernel_name="python3",
#                     parameters={"profile": "smoke", "seed": 1, "out_dir": "runs/divco"})
# ```
#
# The same training without a notebook: `ci-inpaint train divco --profile quick --out runs/d`.

# %% [markdown]
# ## Datasets on this machine
#
# Bundled and synthetic data ship with the package (no download). The papers' datasets come
# from the scripts in `data_scripts/`; the table says which are present and how to get the rest.

# %%
datasets = dataset_table()  # present: yes / no / empty for user data (your own folder)
display(Markdown(markdown_table(datasets, ["name", "kind", "present", "how_to_get",
                                           "description"])))

# %% [markdown]
# ## Pretrained weights on this machine
#
# Files that torchvision, lpips and the FID code look for under `$TORCH_HOME/hub/checkpoints/`.
# Missing ones: `ci-inpaint weights fetch NAME` (needs internet), or download the URL by hand
# and put the file at the path shown. Metrics that would need a missing file fall back to an
# in-project network and say so in their name (`fid_digits_classifier`, never plain `fid`).

# %%
weights = status_rows()
display(Markdown(markdown_table(weights, ["name", "present", "file", "used_by", "path", "url"])))

# %%
nb.metric("notebooks", len(notebook_rows))
nb.metric("methods_registered", len(method_rows))
nb.metric("datasets_present", sum(r["present"] is True for r in datasets))
nb.metric("datasets_total", sum(r["present"] is not None for r in datasets))  # not user data
nb.metric("weights_present", sum(bool(r["present"]) for r in weights))
nb.metric("weights_total", len(weights))
offline = [r for r in datasets if r["kind"] in ("bundled", "synthetic")]
(claim,) = nb.claims([fact("every bundled and synthetic dataset is present without a download",
                           all(bool(r["present"]) for r in offline) and bool(offline),
                           ours=f"{sum(bool(r['present']) for r in offline)} of {len(offline)} "
                                "present")])
print(markdown_table([nb.metrics]))
nb.finish()  # summary.json and the tally
assert claim.verdict == "holds", "a bundled dataset is missing: reinstall with `make test`"
