"""ci_inpaint: contrastive learning for image synthesis and inpainting, five papers reproduced."""

__version__ = "0.1.0"

