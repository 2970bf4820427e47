"""Classification heads (one margin base), metric-learning losses, and the extra losses of
`fit(..., extra_loss=...)` (distillation, domain adaptation)."""
from . import arcface, boundaryface, combined, cosface, curricularface, softmax, sphereface, subcenter  # noqa: F401  (registers)
from .arcface import ArcFaceHead
from .base import HeadOutput, MarginHead, angle, arcface_target, create_head, head_class, list_heads, register_head
from .boundaryface import BoundaryFaceHead
from .center import CenterLoss
from .combined import CombinedMarginHead
from .contrastive import ContrastiveLoss
from .cosface import CosFaceHead
from .coupleface import CoupleFaceLoss, mine_prototypes
from .curricularface import CurricularFaceHead
from .distill import AttentionSimilarityLoss, FeatureDistillLoss, TeacherLoss
from .domain import DomainAdversarialLoss
from .partial_fc import PartialFC, distributed_cross_entropy
from .softmax import NormFaceHead, SoftmaxHead
from .sphereface import SphereFaceHead
from .subcenter import SubCenterArcFaceHead
from .triplet import TripletLoss, squared_distances

__all__ = [
    "ArcFaceHead", "CenterLoss", "CombinedMarginHead", "ContrastiveLoss", "CosFaceHead", "CurricularFaceHead",
    "MarginHead", "NormFaceHead", "PartialFC", "SoftmaxHead", "SphereFaceHead", "SubCenterArcFaceHead",
    "TripletLoss", "angle", "arcface_target", "create_head", "head_class", "distributed_cross_entropy", "list_heads",
    "register_head", "squared_distances",
    "HeadOutput", "BoundaryFaceHead", "TeacherLoss", "FeatureDistillLoss", "AttentionSimilarityLoss",
    "CoupleFaceLoss", "mine_prototypes", "DomainAdversarialLoss",
]
