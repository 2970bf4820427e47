"""Using a trained model on your own photos: `verify` (two photos: the same person?) and `search`
(who, among a gallery of people?), both through the model card (`facecourse.models.card`).

    python -m facecourse verify a.jpg b.jpg --checkpoint runs/lfw/checkpoint.pt
    python -m facecourse search who.jpg --gallery people/ --checkpoint runs/lfw/checkpoint.pt
"""
from .model import (
    DlibBackbone, FaceModel, NoFaceError, OnnxBackbone, Photos, align_photos, dlib_card, load_model,
)
from .search import Gallery, Match, SearchResult, load_gallery, rank_people, search
from .verify import Verdict, verify

__all__ = ["DlibBackbone", "FaceModel", "Gallery", "Match", "NoFaceError", "OnnxBackbone", "Photos",
           "SearchResult", "Verdict", "align_photos", "dlib_card", "load_gallery", "load_model",
           "rank_people", "search", "verify"]
