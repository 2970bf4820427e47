"""A trained model as `verify` and `search` use it: its network, its card, and the photos' path in.

`load_model(checkpoint=...)` (torch) or `load_model(onnx=...)` (onnxruntime) gives a `FaceModel`:
a network mapping float images (B, 3, S, S) in [-1, 1] to embeddings, with the model card that
says how to feed it (`facecourse.models.card`) and a fingerprint of its weights (caches are keyed
by it). Both kinds embed through `facecourse.eval.embed`, so the flip averaging is the same code
as in evaluation, and an ONNX file gives the torch score. `align_photos` puts photos through
the LFW pipeline (`facecourse.data.align_faces`: dlib, five points, the ArcFace template).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facecourse.models.card import (
    CardMismatchError, ModelCard, alignment, card_for_checkpoint, check_card_fits, from_metadata,
)

PHOTO_FIX = "pass a photo file (JPEG, PNG, ...)"
ON_MISSING = ("error", "centre")


class NoFaceError(ValueError):
    """No face was found in a photo (and --on-missing is not centre)."""


@dataclass
class FaceModel:
    """A network (float (B, 3, S, S) in [-1, 1] -> (B, D)) with its card."""
    net: nn.Module
    card: ModelCard
    source: str  # the checkpoint or ONNX file, for messages
    fingerprint: str  # the weights' digest: keys the gallery's embedding cache
    device: str = "cpu"
    batch_size: int = 64

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalized embeddings (N, D) of aligned uint8 crops (N, 3, S, S), flip-averaged
        when the card says so (`facecourse.eval.embed(flip=True)`)."""
        from facecourse.eval import embed
        self.card.check_input_size(images.shape[-1], f"the aligned crop ({images.shape[-1]} px)")
        return embed(self.net, images, batch_size=self.batch_size, flip=self.card.flip_tta,
                     device=self.device)


class OnnxBackbone(nn.Module):
    """An ONNX graph (images -> embeddings) run by onnxruntime on the CPU, as a module `embed` takes."""

    def __init__(self, path: str | Path):
        super().__init__()
        import onnxruntime as ort
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: images.detach().cpu().float().numpy()})[0]
        return torch.from_numpy(out)


class DlibBackbone(nn.Module):
    """dlib's pretrained ResNet (`facecourse.models.DlibResNet`) behind the same interface: the
    float crops in [-1, 1] go back to uint8 (exactly, for uint8 inputs) and through dlib."""

    def __init__(self, method: str = "landmarks"):
        super().__init__()
        from facecourse.models import DlibResNet
        self.dlib = DlibResNet(method)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        uint8 = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return torch.from_numpy(self.dlib(uint8.cpu().numpy()))


def dlib_card(input_size: int = 112, **fields) -> ModelCard:
    """A card for `DlibBackbone` (no thresholds unless given: `calibration=`)."""
    return ModelCard(backbone="dlib-resnet-29 (dlib_face_recognition_resnet_model_v1)", embedding_dim=128,
                     input_size=input_size, flip_tta=False,
                     alignment=alignment(input_size, note="dlib re-chips the crop from its own 68 points"),
                     training={"data": "~3 M faces of 7,485 people, none in LFW (dlib)"}, **fields)


def file_digest(path: str | Path) -> str:
    h = hashlib.blake2b(digest_size=10)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(checkpoint: str | Path | None = None, onnx: str | Path | None = None,
               device: str = "cpu") -> FaceModel:
    """The model of a checkpoint (its card beside it) or of an ONNX file (its card in its
    metadata). MissingCardError without a card; CardMismatchError when the card describes
    another model (input size, embedding size, weights)."""
    if (checkpoint is None) == (onnx is None):
        raise ValueError("pass --checkpoint CHECKPOINT or --onnx FILE.onnx (one of them)")
    if onnx is not None:
        if not Path(onnx).is_file():
            raise FileNotFoundError(f"--onnx {str(onnx)!r} does not exist; write one with "
                                    "`python -m facecourse export-onnx --checkpoint C --out FILE.onnx`")
        net = OnnxBackbone(onnx)
        card = from_metadata(net.session.get_modelmeta().custom_metadata_map, str(onnx))
        shape = net.session.get_inputs()[0].shape  # [batch, 3, H, W]
        if isinstance(shape[-1], int):
            card.check_input_size(shape[-1], f"the ONNX graph {onnx} (its input)")
        return FaceModel(net, card, str(onnx), file_digest(onnx), "cpu")
    from facecourse.models.loading import backbone_from_checkpoint
    backbone, config = backbone_from_checkpoint(checkpoint)
    card = card_for_checkpoint(checkpoint)
    check_card_fits(card, config, backbone, str(checkpoint))
    return FaceModel(backbone.to(device), card, str(checkpoint),
                     card.checkpoint.get("weights") or file_digest(checkpoint), device)


@dataclass
class Photos:
    """Aligned crops of some photos: `images` uint8 (N, 3, S, S), `faces` found in each, notes."""
    images: torch.Tensor
    faces: list[int]
    notes: list[str] = field(default_factory=list)


def align_photos(paths, size: int, pad: float = 0.0, on_missing: str = "error") -> Photos:
    """Detect, landmark and align each photo (one face each: the one nearest the centre) with
    `facecourse.data.align_faces` at `size` px. A photo without a face raises NoFaceError
    naming it (on_missing="error") or becomes its centre crop ("centre", noted); a missing or
    unreadable file raises FileNotFoundError / BadImageError naming it."""
    from facecourse.data import align_faces
    if on_missing not in ON_MISSING:
        raise ValueError(f"--on-missing must be one of {ON_MISSING}, got {on_missing!r}")
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist" + (" (it is a folder)" if p.is_dir() else ""))
    aligned = align_faces(paths, (size,), workers=1, progress=False, pad=pad, on_missing="centre",
                          fix=PHOTO_FIX)
    notes = []
    for p, n in zip(paths, aligned.num_faces.tolist()):
        if n == 0 and on_missing == "error":
            raise NoFaceError(
                f"no face found in {p} (dlib's HOG detector finds frontal faces of about 40 px and more"
                + (f", after a black border of {pad:.0%}" if pad else "") + "). Use a photo where the face "
                "is visible and upright, or pass --on-missing centre to use its centre crop")
        if n == 0:
            notes.append(f"no face found in {p}: using its centre crop (--on-missing centre)")
        elif n > 1:
            notes.append(f"{n} faces in {p}: using the one nearest the centre")
    return Photos(torch.from_numpy(np.ascontiguousarray(aligned.images[size])), aligned.num_faces.tolist(), notes)


def card_notes(card: ModelCard) -> list[str]:
    """What the card warns about its input pipeline (e.g. a model trained on synthetic faces)."""
    note = card.alignment.get("note")
    return [f"the model card says: {note}"] if note else []


def default_pad(card: ModelCard, pad: float | None) -> float:
    """--pad, else the card's (the border its training photos were detected with)."""
    if pad is not None:
        if not 0 <= pad <= 2:
            raise ValueError(f"--pad is a fraction of the photo's longer side in [0, 2], got {pad}")
        return pad
    return float(card.alignment.get("pad", 0.0))


__all__ = ["CardMismatchError", "DlibBackbone", "FaceModel", "NoFaceError", "OnnxBackbone", "Photos",
           "align_photos", "card_notes", "default_pad", "dlib_card", "file_digest", "load_model"]
