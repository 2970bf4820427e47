"""Backbones (a registry), necks, and parameter / MAC counting."""
from . import convnet, iresnet, mobilefacenet  # noqa: F401  (registers the backbones)
from .convnet import ConvNet
from .iresnet import IResNet
from .mobilefacenet import MobileFaceNet
from .necks import NECKS, Neck
from .profiling import count_flops, count_parameters
from .registry import create_backbone, list_backbones, register_backbone
from .speed import measure_throughput

__all__ = [
    "ConvNet", "IResNet", "MobileFaceNet", "NECKS", "Neck", "count_flops", "count_parameters",
    "create_backbone", "list_backbones", "register_backbone", "measure_throughput",
]
