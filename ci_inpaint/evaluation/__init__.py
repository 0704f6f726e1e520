"""Evaluation of trained methods: each paper's metrics loops and scores (one module per method)."""


def fid_fallback(dataset: str, resolution: int):
    """The FID stand-in when the Inception weights are absent (bundled data only), trained
    once and cached: ``photos`` -> a classifier of which photo a training patch comes from
    (``fid_photopatches_classifier``), ``lfw`` -> an LFW identity classifier
    (``fid_lfwfaces_classifier``). SCAT and DAF share it (one cache file per stand-in)."""
    import torch

    from ..errors import WeightsMissingError
    from ..metrics import train_feature_classifier

    if dataset == "photos":
        from ..data import get_dataset

        ds = get_dataset("photo_patches", "train", resolution, seed=0)
        images = torch.stack([ds[i]["image"] for i in range(len(ds))])
        labels = torch.unique(torch.stack([ds[i]["photo"] for i in range(len(ds))]),
                              return_inverse=True)[1]
        return train_feature_classifier("photopatches", images, labels, input_size=32)
    if dataset == "lfw":
        from ..data.daf import base_dataset

        ds = base_dataset("lfw", "train", resolution, 0, augment=False)
        images = torch.stack([ds[i]["image"] for i in range(len(ds))])
        labels = torch.unique(torch.as_tensor([int(ds[i]["label"]) for i in range(len(ds))]),
                              return_inverse=True)[1]
        return train_feature_classifier("lfwfaces", images, labels, input_size=32)
    raise WeightsMissingError(f"dataset={dataset}: the FID needs the Inception weights "
                              "(`ci-inpaint weights fetch inception_fid`); no stand-in here")
