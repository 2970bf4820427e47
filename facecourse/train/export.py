"""Export a trained backbone to ONNX and run it with onnxruntime.

The graph maps images (batch, 3, H, W) in [-1, 1] to embeddings (batch, D), not normalized
(the same contract as `create_backbone`); the batch axis is dynamic. We use torch's
TorchScript-based exporter (`dynamo=False`): it needs no extra package, works offline and
handles every backbone of facecourse.models. With a `card` (`facecourse.models.card.ModelCard`)
the file carries it in its `metadata_props`, one key per field (values in JSON), so
`python -m facecourse verify --onnx FILE` knows the input pipeline and the thresholds.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

# a checkpoint's backbone, for export-onnx and a teacher checkpoint (it lives below train)
from facecourse.models.card import from_metadata, to_metadata
from facecourse.models.loading import backbone_from_checkpoint  # noqa: F401


def export_onnx(backbone: nn.Module, path: str | Path, image_size: int,
                opset: int = 17, card=None) -> Path:
    """Write `backbone` (in eval mode, on CPU) as an ONNX graph with a dynamic batch axis;
    `card` (a ModelCard) goes into the file's metadata_props."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = backbone.training
    device = next(backbone.parameters()).device
    backbone = backbone.cpu().eval()
    example = torch.zeros(2, 3, image_size, image_size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter" notice
            torch.onnx.export(backbone, (example,), str(path), dynamo=False, opset_version=opset,
                              input_names=["images"], output_names=["embeddings"],
                              dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}})
    finally:
        backbone.to(device).train(was_training)
    if card is not None:
        write_onnx_metadata(path, to_metadata(card))
    return path


def write_onnx_metadata(path: str | Path, props: dict[str, str]) -> None:
    """Set `props` as the metadata_props of the ONNX file at `path` (replacing keys it has)."""
    import onnx
    model = onnx.load(str(path))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    for key, value in [*kept, *props.items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def onnx_card(path: str | Path):
    """The ModelCard an ONNX file carries (`facecourse.models.card.MissingCardError` without one)."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return from_metadata(session.get_modelmeta().custom_metadata_map, str(path))


def onnx_embeddings(path: str | Path, images: torch.Tensor) -> np.ndarray:
    """Run the exported graph with onnxruntime (CPU): images (B, 3, H, W) -> (B, D)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images.detach().cpu().float().numpy()})[0]
