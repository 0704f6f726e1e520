"""DivCo's latent-augmented contrastive loss (Liu et al., CVPR 2021, Eq. 2) and its baselines.

For a condition y and query code z ~ N(0, I), DivCo generates a query image x = G(z, y), a
positive x+ = G(z+, y) and N negatives x-_i = G(z-_i, y), encodes them with an auxiliary
encoder E (the generator's encoder for image-to-image tasks, the discriminator's layers below
the top for class-conditional generation) and minimises (Eq. 2)

    L_contra = E_{y,z}[ -log exp(<f, f+>/tau) / (exp(<f, f+>/tau) + sum_i exp(<f, f-_i>/tau)) ]

with <., .> the inner product of L2-normalised features (cosine). Latent augmentation
(Sec. 3): z+ = z + delta, delta ~ U[-R, R] per coordinate (a cube of half-width R), and
z-_i ~ N(0, I) conditioned on |z-_i - z| > R element-wise (the paper's ``≻``: EVERY coordinate
farther than R from the query's). The paper's defaults: N = 10, tau = 1, lambda_contra = 1,
R = 0.001 (class-conditional, z = 100) or 0.01 (image-to-image, z = 8).

Where the official code differs (facts read from the authors' public code): it *sums* the
cross-entropy over the batch (we average, so lambda does not scale with the batch size), and
its feature normalisation is a flag that is off by default (``normalize=False`` here); Eq. 2
states cosine, our default.

Baselines with the same tensors-in, scalar-out interface: the mode-seeking loss of MSGAN
(Mao et al. 2019) and the latent-regression loss of BicycleGAN / DRIT.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ci_inpaint.losses.gan import grad_norm_ratios  # noqa: F401 (first used here; shared)
from ci_inpaint.losses.nce import info_nce, similarity

DEFAULT_RADIUS = 0.001  # the paper's R for class-conditional generation (z = 100)


def _float64_device(device: torch.device) -> torch.device:
    """Where the float64 sampling math runs: ``device`` itself, or the CPU for a backend without
    float64 (MPS), so that ``device=auto`` works on Apple silicon."""
    return torch.device("cpu") if device.type == "mps" else device


def _outside_cube_inverse_cdf(z: Tensor, num_neg: int, radius: float,
                              generator: torch.Generator | None) -> Tensor:
    """Exact draws of N(0, 1) per coordinate conditioned on |x - z_j| > R (no loop).

    The constraint is a product over coordinates and N(0, I) factorises, so the conditional law
    is a product of 1-D normals with the interval (z_j - R, z_j + R) cut out. Inverse CDF: draw
    u ~ U(0, 1 - m) with m = Phi(z+R) - Phi(z-R) the removed mass; map u below Phi(z-R) through
    Phi^-1 directly and shift the rest past the gap by m. Computed in float64 for precision (with
    R = 0.001, m ~ 8e-4 has only ~4 correct digits in float32), on the CPU for MPS tensors.
    """
    work = _float64_device(z.device)
    if generator is not None and generator.device.type != work.type:
        raise ValueError(f"the float64 negative sampling for {z.device.type} tensors runs on "
                         f"{work.type}: pass a torch.Generator() on {work.type}, not on "
                         f"{generator.device.type}")
    zz = z.detach().to(work).to(torch.float64).unsqueeze(1)  # (B, 1, d)
    lo, hi = torch.special.ndtr(zz - radius), torch.special.ndtr(zz + radius)
    u = torch.rand((z.shape[0], num_neg, z.shape[1]), generator=generator,
                   dtype=torch.float64, device=work)
    u = u * (1.0 - (hi - lo))
    u = torch.where(u < lo, u, u + (hi - lo)).clamp(1e-300, 1 - 1e-16)
    return torch.special.ndtri(u).to(z.dtype).to(z.device)  # cast before the move: MPS has no f64


def _outside_cube_rejection(z: Tensor, num_neg: int, radius: float,
                            generator: torch.Generator | None, max_rounds: int = 100) -> Tensor:
    """The official code's rejection sampling, vectorised: draw all negatives at once, then redraw
    only the offending coordinates until none lies inside the cube.

    Redrawing one coordinate at a time is exact (the same law as redrawing a whole negative)
    because the coordinates of N(0, I) and the constraint both factorise; it also keeps the
    expected number of rounds small when R is large or d is high, where whole-vector rejection
    would almost never accept.
    """
    zz = z.detach().unsqueeze(1)
    neg = torch.randn((z.shape[0], num_neg, z.shape[1]), generator=generator,
                      dtype=z.dtype, device=z.device)
    for _ in range(max_rounds):
        bad = (neg - zz).abs() <= radius
        if not bad.any():
            return neg
        fresh = torch.randn(neg.shape, generator=generator, dtype=z.dtype, device=z.device)
        neg = torch.where(bad, fresh, neg)
    return torch.where((neg - zz).abs() <= radius,  # the rest (tiny share): exact inverse CDF
                       _outside_cube_inverse_cdf(z, num_neg, radius, generator), neg)


def sample_latents(z: Tensor, num_neg: int = 10, radius: float = DEFAULT_RADIUS,
                   generator: torch.Generator | None = None,
                   method: str = "inverse_cdf") -> tuple[Tensor, Tensor]:
    """Latent augmentation (DivCo Sec. 3): a positive inside, ``num_neg`` negatives outside the cube.

    z: (B, d) query codes. Returns ``z_pos`` (B, d) = z + U[-R, R] per coordinate and ``z_neg``
    (B, N, d) drawn from N(0, I) with every coordinate farther than R from the query's.
    ``method="inverse_cdf"`` (default) samples that truncated normal exactly with no loop;
    ``"rejection"`` redraws offending coordinates in rounds like the official code (same law).
    All randomness comes from ``generator`` (or the global torch RNG). Codes carry no gradient.
    """
    if z.dim() != 2:
        raise ValueError(f"z must be (B, d), got shape {tuple(z.shape)}")
    if radius < 0 or num_neg < 1:
        raise ValueError(f"need radius >= 0 and num_neg >= 1, got {radius}, {num_neg}")
    z = z.detach()
    delta = (torch.rand(z.shape, generator=generator, dtype=z.dtype, device=z.device) * 2 - 1)
    z_pos = z + radius * delta
    if method == "inverse_cdf":
        z_neg = _outside_cube_inverse_cdf(z, num_neg, radius, generator)
    elif method == "rejection":
        z_neg = _outside_cube_rejection(z, num_neg, radius, generator)
    else:
        raise ValueError(f"method must be 'inverse_cdf' or 'rejection', not {method!r}")
    # float rounding at the cube's faces (probability ~1e-7 per coordinate): push just outside
    zz = z.unsqueeze(1)
    diff = z_neg - zz
    edge = diff.abs() <= radius
    if edge.any():
        margin = torch.clamp(radius * 1e-3 + 4 * torch.finfo(z.dtype).eps * zz.abs(), min=1e-30)
        sign = torch.where(diff >= 0, 1.0, -1.0).to(z.dtype)
        z_neg = torch.where(edge, zz + sign * (radius + margin), z_neg)
    return z_pos, z_neg


def divco_loss(f_q: Tensor, f_pos: Tensor, f_neg: Tensor, tau: float = 1.0,
               normalize: bool = True, reduction: str = "mean") -> Tensor:
    """Eq. 2: cross-entropy with target 0 over ``[<f, f+>, <f, f-_1>, ..., <f, f-_N>] / tau``.

    f_q, f_pos: (B, D); f_neg: (B, N, D). ``normalize=True`` L2-normalises the features
    (cosine, as Eq. 2 states); ``False`` uses raw dot products (the official code's default).
    ``reduction="mean"`` averages over the batch (our default); ``"sum"`` sums over the
    queries as the official code does (lambda then scales with the batch). The logits are computed by
    ``nce.similarity`` / ``nce.info_nce``: fp32 with autocast off, float64 for float64 inputs.
    """
    if f_neg.dim() != 3 or f_q.shape != f_pos.shape or f_neg.shape[0] != f_q.shape[0]:
        raise ValueError(f"expected f_q, f_pos (B, D) and f_neg (B, N, D); got "
                         f"{tuple(f_q.shape)}, {tuple(f_pos.shape)}, {tuple(f_neg.shape)}")
    sim = similarity(f_q, torch.cat([f_pos.unsqueeze(1), f_neg], 1), normalize)  # (B, 1 + N)
    return info_nce(sim, tau=tau, reduction=reduction)  # the positive is column 0


def _repeat(cond, n: int):
    if cond is None:
        return None
    return cond.repeat_interleave(n, dim=0)


def divco_regularizer(generate: Callable, encode: Callable, cond, z: Tensor, num_neg: int = 10,
                      radius: float = DEFAULT_RADIUS, tau: float = 1.0, normalize: bool = True,
                      generator: torch.Generator | None = None,
                      method: str = "inverse_cdf", reduction: str = "mean") -> tuple[Tensor, Tensor]:
    """L_contra for any conditional generator and encoder, with one generator pass.

    ``generate(z, cond) -> images`` (the paper's G(z, y); ``cond`` is a tensor with batch first:
    labels, images, ... or None) and ``encode(images, cond) -> (n, D)`` features (the current
    weights: gradients flow through it back to G). The batch sent through G is
    ``[z (B), z+ (B), z- (B*N, query-major)]`` with ``cond`` repeated to match.
    Returns ``(loss, query_images)``; the query images (B, ...) are G(z, y) and can serve the
    adversarial loss too.
    """
    b, n = z.shape[0], num_neg
    z_pos, z_neg = sample_latents(z, n, radius, generator, method)
    z_all = torch.cat([z, z_pos, z_neg.reshape(b * n, -1)])
    cond_all = None if cond is None else torch.cat([cond, cond, _repeat(cond, n)])
    images = generate(z_all, cond_all)
    feats = encode(images, cond_all).flatten(1)
    f_q, f_pos, f_neg = feats[:b], feats[b : 2 * b], feats[2 * b :].reshape(b, n, -1)
    return divco_loss(f_q, f_pos, f_neg, tau=tau, normalize=normalize, reduction=reduction), images[:b]


def mode_seeking_loss(x1: Tensor, x2: Tensor, z1: Tensor, z2: Tensor, eps: float = 1e-5,
                      dim: tuple[int, ...] | None = None) -> Tensor:
    """MSGAN (Mao et al. 2019, Eq. 3): ``1 / (mean|x2 - x1| / mean|z2 - z1| + eps)``.

    x1 = G(c, z1), x2 = G(c, z2) with the same condition; minimising it maximises the ratio of
    image distance to code distance. Means are over all elements, as in MSGAN's code, or over
    ``dim`` only (e.g. one loss per member of a batch of independent models).
    """
    def mean(t: Tensor) -> Tensor:
        return t.mean() if dim is None else t.mean(dim)

    lz = mean((x2 - x1).abs()) / mean((z2 - z1).abs())
    return 1.0 / (lz + eps)


def latent_regression_loss(z_hat: Tensor, z: Tensor, dim: tuple[int, ...] | None = None) -> Tensor:
    """Latent regression of BicycleGAN (cLR-GAN) / DRIT: ``L1(E(G(c, z)), z)``, a mean over
    elements (or over ``dim`` only)."""
    d = (z_hat - z).abs()
    return d.mean() if dim is None else d.mean(dim)


__all__ = ["DEFAULT_RADIUS", "divco_loss", "divco_regularizer", "grad_norm_ratios",
           "latent_regression_loss", "mode_seeking_loss", "sample_latents"]
