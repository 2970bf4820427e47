"""Training: dataclass configs, `fit()`, samplers, schedules, checkpoints, DDP, ONNX export.

Taught in the lessons on training a face model (classification, triplet and siamese
objectives); `python -m facecourse train` runs the same `fit`. `search_combined_margin`
tunes a recipe with optuna (lesson 11).
"""
from .cache import fit_cached, run_key
from .checkpoint import load_checkpoint, save_checkpoint
from .config import (ClassificationConfig, DataConfig, DistillConfig, HeadConfig, ModelConfig,
                     OptimConfig, SiameseConfig, TrainConfig, TripletConfig, ValConfig)
from .export import export_onnx, onnx_embeddings
from .fit import FitResult, TrainingDiverged, fit
from .optim import WarmupSchedule, build_optimizer, build_scheduler, param_groups
from .recipes import (RECIPES, get_recipe, lesson_config, lesson_heads, real_config, webface_config,
                      webface_heads)
from .samplers import PairBatchSampler, PairView, PKBatchSampler, RandomBatchSampler, make_sampler
from .search import MarginSearch, SearchSpace, search_combined_margin, verification_score
from .teachers import EmbeddingTable, centre_embeddings
from .webface import LessonWebFace, lesson_webface

__all__ = [
    "DataConfig", "HeadConfig", "ModelConfig", "OptimConfig", "TrainConfig", "ClassificationConfig",
    "TripletConfig", "SiameseConfig", "DistillConfig", "ValConfig", "fit", "FitResult",
    "TrainingDiverged", "fit_cached", "run_key", "load_checkpoint", "save_checkpoint", "export_onnx", "onnx_embeddings",
    "param_groups", "build_optimizer", "build_scheduler",
    "WarmupSchedule", "RECIPES", "get_recipe", "lesson_config", "lesson_heads", "real_config", "webface_config", "webface_heads", "LessonWebFace", "lesson_webface", "RandomBatchSampler", "PKBatchSampler",
    "PairBatchSampler", "PairView", "make_sampler",
    "MarginSearch", "SearchSpace", "search_combined_margin", "verification_score",
    "EmbeddingTable", "centre_embeddings",
]
