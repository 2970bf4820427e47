"""Backbones (a registry), necks, parameter / MAC counting, and wrappers: CBAM attention,
training-time input degradations, masked-face domain adaptation; a trained backbone back
from its checkpoint (`backbone_from_checkpoint`); dlib's pretrained ResNet (`DlibResNet`); the
model card beside every checkpoint and in every ONNX file (`ModelCard`, card.py)."""
from . import convnet, iresnet, mobilefacenet  # noqa: F401  (registers the backbones)
from .augment import RandomFaceMask, RandomLowResolution
from .card import (
    CardMismatchError, MissingCardError, ModelCard, card_for_checkpoint, card_path, make_card, read_card,
    write_card,
)
from .cbam import CBAM, CBAMBackbone, cbam_attention
from .convnet import ConvNet
from .dann import DomainState, GradientReversal, MaskedFaceDANN, SelfAttention2d, grad_reverse
from .dlib_resnet import DlibResNet
from .iresnet import IResNet
from .loading import backbone_from_checkpoint, read_checkpoint
from .mobilefacenet import MobileFaceNet
from .necks import NECKS, Neck
from .outputs import BackboneOutput, split_output
from .profiling import count_flops, count_parameters
from .registry import create_backbone, list_backbones, register_backbone
from .speed import measure_throughput

__all__ = [
    "BackboneOutput", "split_output",
    "ConvNet", "IResNet", "MobileFaceNet", "NECKS", "Neck", "count_flops", "count_parameters",
    "create_backbone", "list_backbones", "register_backbone", "measure_throughput",
    "CBAM", "CBAMBackbone", "cbam_attention", "RandomFaceMask", "RandomLowResolution",
    "DomainState", "GradientReversal", "MaskedFaceDANN", "SelfAttention2d", "grad_reverse",
    "backbone_from_checkpoint", "read_checkpoint", "DlibResNet",
    "ModelCard", "MissingCardError", "CardMismatchError", "card_for_checkpoint", "card_path", "make_card",
    "read_card", "write_card",
]
