"""Closed-set classification accuracy: the classifier head itself, on new images of the
training identities.

The training task of a softmax face model (DeepFace, Taigman et al., CVPR 2014; DeepID, Sun et
al., CVPR 2014) is closed-set: every test image belongs to a class the head knows. Deployment is
open-set verification on new people (Deng et al., "ArcFace", arXiv:1801.07698, Sec. 1), so this
number alone says little about a face model.

Lesson 01 measures closed-set accuracy beside the open-set figures, to show how little it says.
"""
from __future__ import annotations

import torch

__all__ = ["predict_classes", "closed_set_accuracy"]


@torch.no_grad()
def predict_classes(backbone: torch.nn.Module, head: torch.nn.Module, images,
                    batch_size: int = 256) -> torch.Tensor:
    """argmax_j of the head's logits for each image (N,) int64; `images` uint8 (N, 3, H, W)
    (scaled to [-1, 1] here), float in [-1, 1], or a dataset with ``.images``.

    The backbone's raw (not normalized) embedding goes into the head, as in training; the head
    gets label -1 (no target column), so margin heads give plain s·cos θ_j logits (no margin at test).
    """
    images = getattr(images, "images", images)
    params = next(backbone.parameters(), None)
    device = params.device if params is not None else torch.device("cpu")
    modes = backbone.training, head.training
    backbone.eval(), head.eval()
    out = []
    try:
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device)
            x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
            e = backbone(x).float()  # (B, D)
            no_target = torch.full((len(e),), -1, dtype=torch.long, device=device)  # no margin
            out.append(head(e, no_target).argmax(dim=1).cpu())  # (B,)
    finally:
        backbone.train(modes[0]), head.train(modes[1])
    if not out:
        raise ValueError("predict_classes got no images")
    return torch.cat(out)


def closed_set_accuracy(backbone: torch.nn.Module, head: torch.nn.Module, dataset,
                        batch_size: int = 256) -> float:
    """Share of `dataset`'s images whose predicted class equals its label (labels must use the
    training set's numbering, e.g. held-out images of the training identities)."""
    labels = torch.as_tensor(dataset.labels).long()
    pred = predict_classes(backbone, head, dataset, batch_size=batch_size)
    return float((pred == labels).float().mean())
