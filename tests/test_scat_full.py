"""The paper-size SCAT networks (AOT G 64 wide with 8 blocks, U-Net D 64 wide) take one full
training step at 256x256, batch 2, on CPU (the issue's budget check for the full profile)."""

import pytest
import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.methods.scat import SCAT, SCATConfig
from ci_inpaint.testing import FakeContext


@pytest.mark.slow
def test_full_size_step_at_256():
    cfg = resolve_config(SCATConfig, "full", {"batch_size": 2}, method="scat")
    assert (cfg.resolution, cfg.width, cfg.blocks, cfg.d_width, cfg.rates) == (256, 64, 8, 64, "1,2,4,8")
    torch.manual_seed(0)
    m = SCAT(cfg, torch.device("cpu"))  # the data are not built: the batch is synthetic
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    hole = torch.zeros(2, 1, 256, 256)
    hole[0, :, 64:160, 80:200] = 1
    hole[1, :, 10:120, 10:60] = 1
    ctx = FakeContext(m)
    out = m.train_step({"image": x, "mask": hole}, ctx)
    assert set(ctx.terms["G"]) == {"rec", "g_adv", "g_scat", "text", "sem"}
    assert all(torch.isfinite(v) for v in out.values())
    n_g = sum(p.numel() for p in m.G.parameters())
    assert 14e6 < n_g < 16e6  # AOT-GAN's generator: about 15M parameters
