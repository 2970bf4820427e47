"""Verification during training on insightface's `.bin` sets (LFW, CFP-FP, AgeDB-30, CALFW).

`fit` calls a `BinValidator` every ``val.every`` steps and at the end, on rank 0 only (the other
processes go on to the next step's collective and wait there). Each set is scored the way
researchers compare models: flip-averaged embeddings, cosine scores of its pairs, and the
10-fold accuracy of insightface's protocol (`facecourse.eval.kfold_accuracy`: the threshold
chosen on 9 folds, accuracy on the tenth). The figures join that step's history row as
``val_<set>_acc`` (and ``_std``); the sets are read once, when training starts.

Where the files are: ``val.root``, else the folder of the training `.rec` (insightface ships the
.bin files beside train.rec), else ``$FACECOURSE_DATA``. A set that is not found is named once
at the start and skipped; none found with ``val.every`` set is an error (nothing would be
measured), naming where it looked.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["BinValidator", "bin_accuracies", "find_bins"]


def find_bins(val_cfg, data_cfg) -> tuple[dict[str, Path], list[Path]]:
    """({set name: .bin path} found, the folders searched)."""
    from facecourse.data.paths import default_data_root

    from .build import find_rec
    places = []
    if val_cfg.root:
        places.append(Path(val_cfg.root))
    else:
        if data_cfg.source == "rec":
            try:
                places.append(find_rec(data_cfg.root).parent)
            except FileNotFoundError:
                pass
        base = default_data_root()
        if base is not None:
            places.append(base)
    found = {}
    for name in val_cfg.bins:
        for place in places:
            if (place / f"{name}.bin").is_file():
                found[name] = place / f"{name}.bin"
                break
    return found, places


def bin_accuracies(backbone, sets: dict, batch_size: int = 256, device=None) -> dict:
    """{name: (10-fold accuracy, its std over the folds)} of `backbone` on each of `sets`
    ({name: (FaceDataset, Pairs)} as `load_bin` reads them): flip-averaged embeddings, each
    fold's threshold chosen on the other nine, as insightface reports its .bin sets."""
    import torch

    from facecourse.eval import embed, kfold_accuracy, pair_scores
    device = torch.device(device) if device is not None else next(backbone.parameters()).device
    out = {}
    for name, (faces, pairs) in sets.items():
        emb = embed(backbone, faces.images, batch_size=batch_size, flip=True, device=device,
                    amp=device.type == "cuda")
        acc, std, _ = kfold_accuracy(pair_scores(emb, pairs).numpy(), pairs.issame, pairs.fold)
        out[name] = (float(acc), float(std))
    return out


class BinValidator:
    """Loads the `.bin` sets once; ``validator(backbone)`` -> {"val_<set>_acc": ..., ...}."""

    def __init__(self, val_cfg, data_cfg, image_size: int, device):
        from facecourse.data import load_bin
        found, places = find_bins(val_cfg, data_cfg)
        if not found:
            raise FileNotFoundError(
                f"val.every={val_cfg.every}: none of {[f'{n}.bin' for n in val_cfg.bins]} is in "
                f"{[str(p) for p in places] or 'any folder (no val.root, no $FACECOURSE_DATA)'}; "
                "set val.root to the folder of insightface's .bin files, or val.every=0")
        missing = [n for n in val_cfg.bins if n not in found]
        if missing:
            print(f"validation: no {', '.join(f'{n}.bin' for n in missing)} in "
                  f"{', '.join(map(str, places))}; measuring {', '.join(found)}", file=sys.stderr)
        self.sets = {name: load_bin(path, image_size) for name, path in found.items()}
        self.batch_size, self.device = val_cfg.batch_size, device

    def __call__(self, backbone) -> dict:
        out = {}
        for name, (acc, std) in bin_accuracies(backbone, self.sets, self.batch_size, self.device).items():
            out[f"val_{name}_acc"], out[f"val_{name}_std"] = acc, std
        return out

    def describe(self) -> str:
        return ", ".join(f"{n} ({len(p.a)} pairs)" for n, (_, p) in self.sets.items())
