"""The papers' loss functions: plain functions, tensors in, scalar out, the equation in the docstring."""

from ci_inpaint.losses.divco import (
    divco_loss,
    divco_regularizer,
    latent_regression_loss,
    mode_seeking_loss,
    sample_latents,
)

__all__ = ["divco_loss", "divco_regularizer", "latent_regression_loss", "mode_seeking_loss",
           "sample_latents"]
