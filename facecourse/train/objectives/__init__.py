"""Training objectives: what differs between ways of training, one small class per file.

`fit` sets up, loops, logs, checkpoints and guards; the objective chosen by `cfg.objective`
says whether a classification head is trained, whether batches are image pairs, and the loss
of a batch. A new objective is one file here with `@register_objective("name")` (and its
settings section in `TrainConfig`); tests are parametrised over `list_objectives()`.

    classification  margin head + cross-entropy (+ center loss)    lessons 01-03, 09, 10
    triplet         FaceNet's triplet loss on P x K batches        lesson 05
    siamese         contrastive loss on pairs (+ CE)               lesson 06
    distill         the teacher's term alone, no head              lesson 08, the LFW track
A teacher's term (`TeacherTerm`, distill.py) adds to any of them when fit gets a teacher.
"""
from .base import Batch, Objective, StepLoss, create_objective, list_objectives, objective_class, register_objective
from . import classification, distill, siamese, triplet  # noqa: F401  (register themselves)
from .distill import TeacherTerm

__all__ = ["Batch", "Objective", "StepLoss", "TeacherTerm", "create_objective",
           "list_objectives", "objective_class", "register_objective"]
