"""The FID Inception-v3 (pool3, 2048-d), rebuilt from torchvision's blocks.

The TF-FID graph (``inception-2015-12-05``) differs from torchvision's Inception-v3 in its
pooling: the average pools inside Mixed_5*, Mixed_6b-e and Mixed_7b exclude the zero padding
(``count_include_pad=False``) and Mixed_7c pools with a max pool. pytorch-fid ports the TF
weights into ``pt_inception-2015-12-05-6726825d.pth`` with torchvision's parameter names
(1008 classes, no aux head); we rebuild the same network and load that file strictly, so the
metric is the standard FID and is named ``fid``. Input: resize to 299x299 (bilinear,
align_corners=False) of an image in [-1, 1], as pytorch-fid does after its ``2x-1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tvi


def _avg(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _A(tvi.InceptionA):
    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg(x))], 1)


class _C(tvi.InceptionC):
    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                  self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_avg(x))], 1)


class _E(tvi.InceptionE):
    def __init__(self, in_channels: int, max_pool: bool):
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pool = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pool)], 1)


class FIDInceptionV3(nn.Module):
    """Pool3 features of the TF-FID Inception (pytorch-fid layout, strict state_dict)."""

    def __init__(self):
        super().__init__()
        net = tvi.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
        net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = _A(192, 32), _A(256, 64), _A(288, 64)
        net.Mixed_6b, net.Mixed_6c = _C(768, 128), _C(768, 160)
        net.Mixed_6d, net.Mixed_6e = _C(768, 160), _C(768, 192)
        net.Mixed_7b, net.Mixed_7c = _E(1280, max_pool=False), _E(2048, max_pool=True)
        self.net = net

    def load_fid_weights(self, path) -> FIDInceptionV3:
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return self.eval()

    def forward(self, x):
        n = self.net
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        for m in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1,
                  n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, n.maxpool2, n.Mixed_5b, n.Mixed_5c,
                  n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e,
                  n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = m(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)
