"""dlib's pretrained face ResNet as an embedder of aligned crops: `DlibResNet`.

dlib's face recognition model (D. King, dlib 19.3, 2017: a 29-layer ResNet trained with a
pair-wise metric loss on ~3 million faces of 7,485 people, none of them in LFW; 99.38 % on
LFW by dlib's own measure, dlib.net and github.com/davisking/dlib-models) maps a 150x150 face
chip to a 128-d embedding. Lesson 08 distils it into a small student (the real pretrained
teacher); lesson 11 compares its robustness with the course's own models.

It is not in the backbone registry: it is a fixed, non-trainable dlib model (no torch weights,
no gradients) fed uint8 crops, and at ~85 ms a face on one CPU core it is far too slow to run
inside a training step. Its embeddings are computed once and cached instead
(`facecourse.eval.embedding_cache`: `dlib_embeddings`, `cached_embeddings`).
"""
from __future__ import annotations

import numpy as np

DLIB_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_METHODS = ("landmarks", "resize")


class DlibResNet:
    """dlib's 128-d face embedder, fed ArcFace-aligned uint8 crops (3, S, S) (`facecourse.data.align`).

    method "landmarks": dlib's 68-point shape predictor on the crop (the face box is fixed: the
    ArcFace template puts every face in the same place), then dlib's own chip (150x150, padding
    0.25) from those points, the geometry its network was trained on. method "resize": the crop
    resized to 150x150 as is (the ArcFace framing, slightly looser than dlib's).
    """

    embedding_dim = 128
    BOX_112 = (16, 26, 96, 116)  # median dlib HOG box (left, top, right, bottom) on 112 px crops

    def __init__(self, method: str = "landmarks"):
        if method not in CHIP_METHODS:
            raise ValueError(f"DlibResNet: method={method!r}; use one of {CHIP_METHODS}")
        self.method = method
        self.model = self.predictor = None  # loaded on first use (cheap to pickle to workers)

    def __getstate__(self):
        return {"method": self.method, "model": None, "predictor": None}

    def __call__(self, images_uint8) -> np.ndarray:
        """Embeddings (B, 128) float32 of uint8 aligned crops (B, 3, S, S), not normalized."""
        import dlib
        from PIL import Image

        from facecourse.data.align import dlib_model_path
        if self.model is None:
            self.model = dlib.face_recognition_model_v1(str(dlib_model_path(DLIB_MODEL)))
            self.predictor = dlib.shape_predictor(str(dlib_model_path()))
        out = []
        for image in np.asarray(images_uint8):
            rgb = np.ascontiguousarray(image.transpose(1, 2, 0))  # (S, S, 3)
            if self.method == "resize":
                chip = np.asarray(Image.fromarray(rgb).resize((150, 150), Image.BILINEAR))
                out.append(self.model.compute_face_descriptor(chip))
            else:
                k = rgb.shape[0] / 112
                box = dlib.rectangle(*(int(round(v * k)) for v in self.BOX_112))
                out.append(self.model.compute_face_descriptor(rgb, self.predictor(rgb, box)))
        return np.asarray(out, np.float32).reshape(-1, self.embedding_dim)
