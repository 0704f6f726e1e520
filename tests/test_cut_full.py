"""One training step of CUT's paper-size networks at 256 x 256 on the CPU (ngf 64, 9 blocks,
ndf 64, 256 patches, identity NCE), with PatchNCE and with MoNCE (5 layers x 2 images of
256 x 256 Sinkhorn solves in one batch)."""

import pytest
import torch

from ci_inpaint.config import resolve_config
from ci_inpaint.methods import get_method
from ci_inpaint.methods.cut import CUTConfig
from ci_inpaint.testing import FakeContext


@pytest.mark.slow
@pytest.mark.parametrize("contrast", ["patchnce", "monce"])
def test_one_full_size_step(contrast):
    torch.manual_seed(0)
    cfg = resolve_config(CUTConfig, "full", {"dataset": "shapes", "n_train": 2, "eval_n": 2,
                                             "contrast": contrast})
    assert (cfg.size, cfg.ngf, cfg.n_blocks, cfg.ndf, cfg.num_patches, cfg.batch_size) == \
        (256, 64, 9, 64, 256, 1)
    m = get_method("cut")(cfg, torch.device("cpu"))
    # CUT's ResnetGenerator (ngf 64, 9 blocks) and 70x70 PatchGAN have exactly these counts
    assert sum(p.numel() for p in m.G.parameters()) == 11_378_179
    assert sum(p.numel() for p in m.D.parameters()) == 2_764_737
    item = m.train_set()[0]
    batch = {k: item[k][None] for k in ("A", "B")}
    out = m.train_step(batch, FakeContext(m))
    assert set(out) == {"d_lsgan", "g_lsgan", "nce"}
    assert all(torch.isfinite(v) for v in out.values())
    # 5 layers, each with 256 patches (rgb: 262^2 positions, down1 128^2, down2 and blocks 64^2)
    feats = m.G.encode(batch["A"], m.layers)
    assert [f.shape[2] * f.shape[3] >= 256 for f in feats] == [True] * 5
