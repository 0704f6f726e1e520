"""The papers' loss functions: plain functions, tensors in, scalar out, the equation in the docstring.

``nce`` is the one InfoNCE core every contrastive loss uses (fp32 logits under autocast);
``gan`` the adversarial losses and gradient penalties; ``perceptual`` the frozen VGG feature
losses. Paper modules (``divco``, ``contrasfill``, ``scat``, ``moco``, ``patchnce``, ``monce``)
keep only what is their own.
"""

from ci_inpaint.losses.contrasfill import grid_contrastive_loss
from ci_inpaint.losses.divco import (
    divco_loss,
    divco_regularizer,
    latent_regression_loss,
    mode_seeking_loss,
    sample_latents,
)
from ci_inpaint.losses.moco import moco_loss
from ci_inpaint.losses.monce import monce_loss
from ci_inpaint.losses.nce import info_nce, label_masks, similarity
from ci_inpaint.losses.patchnce import patchnce_loss
from ci_inpaint.losses.scat import (
    scat_d_loss,
    scat_g_loss,
    semantic_contrastive_loss,
    textural_contrastive_loss,
)

__all__ = ["divco_loss", "divco_regularizer", "grid_contrastive_loss", "info_nce", "label_masks",
           "latent_regression_loss", "moco_loss", "mode_seeking_loss", "monce_loss",
           "patchnce_loss", "sample_latents", "scat_d_loss", "scat_g_loss",
           "semantic_contrastive_loss", "similarity", "textural_contrastive_loss"]
