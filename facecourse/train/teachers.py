"""Teachers for distillation: a table of embeddings computed before training, and dlib's ResNet.

dlib's face recognition model (D. King, dlib 19.3, 2017: a 29-layer ResNet trained with a
pair-wise metric loss on ~3 million faces of 7,485 people, none of them in LFW; 99.38 % on
LFW by dlib's own measure, dlib.net and github.com/davisking/dlib-models) maps a
150x150 face chip to a 128-d embedding. At ~85 ms a face on one CPU core it is far too slow to
run inside a training step, so `dlib_embeddings` computes it once per image (worker processes,
a tqdm bar, resumable) and caches the result; `EmbeddingTable` then hands `fit` the teacher's
embedding of each batch image by its index. The table ignores the training flip: dlib's
embedding of a mirrored face has cos 0.985 (min 0.974, 20 LFW faces) with the original's.
"""
from __future__ import annotations

import hashlib
import json
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from torch import nn

DLIB_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_METHODS = ("landmarks", "resize")


class EmbeddingTable(nn.Module):
    """A teacher whose embeddings were computed before training: row i is the teacher's
    embedding of training image i. `fit` passes it the batch's indices (`takes_indices`)."""

    takes_indices = True

    def __init__(self, embeddings):
        super().__init__()
        table = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
        if table.ndim != 2 or not torch.isfinite(table).all():
            raise ValueError(f"EmbeddingTable needs finite embeddings (N, D), got shape "
                             f"{tuple(table.shape)}{'' if table.ndim != 2 else ' with NaN/Inf rows'}"
                             ": compute the teacher's embedding of every training image")
        self.register_buffer("embeddings", table)  # (N, D)

    @property
    def embedding_dim(self) -> int:
        return self.embeddings.shape[1]

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.embeddings[indices]  # (B, D)


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


_WORKER = {}


def _start_worker(embedder) -> None:
    _WORKER["embedder"] = embedder


def _embed_chunk(job):
    rows, images = job
    return rows, _WORKER["embedder"](images)


def cached_embeddings(images: torch.Tensor, indices, path: str | Path, embedder,
                      workers: int = 2, chunk: int = 32, progress: bool = True) -> np.ndarray:
    """Embeddings (N, D) float32 of `images` uint8 (N, 3, H, W) at `indices` (NaN elsewhere).

    `embedder`: a picklable object with `embedding_dim`, called on uint8 batches (B, 3, H, W)
    -> (B, D); each of `workers` processes gets one copy. Rows are written to the .npy at
    `path` as chunks finish, so an interrupted run resumes where it stopped and later calls
    compute only missing rows; `path` with suffix .json records the rows done and the seconds
    spent computing them.
    """
    from tqdm.auto import tqdm
    path = Path(path)
    n, dim = len(images), embedder.embedding_dim
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        table = np.load(path, mmap_mode="r+")
        if table.shape != (n, dim):
            raise ValueError(f"{path} holds {table.shape} embeddings, not ({n}, {dim}): it belongs "
                             "to other data; delete it")
    else:
        table = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
        table[:] = np.nan
        table.flush()
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {"seconds": 0.0}
    indices = np.unique(np.asarray(indices, np.int64))
    todo = indices[~np.isfinite(table[indices]).all(1)]
    jobs = ((todo[i:i + chunk], images[torch.as_tensor(todo[i:i + chunk])].numpy())
            for i in range(0, len(todo), chunk))
    bar = tqdm(total=len(todo), desc=f"embed ({path.stem})", disable=not progress or not len(todo))
    last = time.perf_counter()

    def save(rows, emb):  # write a finished chunk, and the wall time spent so far
        nonlocal last
        table[rows] = emb
        table.flush()
        now = time.perf_counter()
        meta.update(rows_done=int(np.isfinite(table).all(1).sum()),
                    seconds=round(meta["seconds"] + now - last, 1))
        meta_path.write_text(json.dumps(meta))
        last = now
        bar.update(len(rows))

    try:
        if workers > 1 and len(todo) > chunk:
            with Pool(workers, _start_worker, (embedder,)) as pool:
                for rows, emb in pool.imap_unordered(_embed_chunk, jobs):
                    save(rows, emb)
        else:
            for rows, images_chunk in jobs:
                save(rows, embedder(images_chunk))
    finally:
        bar.close()
    return np.array(table)


def data_key(images: torch.Tensor) -> str:
    """A short hash of the pixels (and shape) of a uint8 image tensor: keys caches of its data."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(tuple(images.shape)).encode())
    flat = images.reshape(len(images), -1)
    for i in range(0, len(flat), 1024):
        h.update(flat[i:i + 1024].contiguous().numpy().tobytes())
    return h.hexdigest()


def lfw_needed(lfw) -> np.ndarray:
    """The images a dlib-distilled LFW run needs: DevTrain's (to train) and those of the
    DevTrain and DevTest pairs (to choose the threshold and to test)."""
    pairs = [lfw.dev_train.a, lfw.dev_train.b, lfw.dev_test.a, lfw.dev_test.b]
    return np.union1d(lfw.devtrain_indices(), np.concatenate(pairs))


def dlib_embeddings(lfw, cache_dir: str | Path | None = None, method: str = "landmarks",
                    workers: int = 2, progress: bool = True) -> np.ndarray:
    """dlib's embeddings (N, 128) of the prepared LFW `lfw` (112 px: `load_lfw(image_size=112)`)
    at the images `lfw_needed` lists (NaN rows elsewhere), cached in
    `<cache>/teachers/dlib-<method>-<hash of the images>.npy`."""
    path = dlib_cache_path(lfw, cache_dir, method)
    return cached_embeddings(lfw.dataset.images, lfw_needed(lfw), path, DlibResNet(method),
                             workers, progress=progress)


def dlib_cache_path(lfw, cache_dir: str | Path | None = None, method: str = "landmarks") -> Path:
    """Where `dlib_embeddings` caches its table (its .json beside it: rows done, seconds)."""
    from facecourse.data import default_cache_dir
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "teachers"
    return cache_dir / f"dlib-{method}-{data_key(lfw.dataset.images)}.npy"


def dlib_teacher(data_cfg, image_size: int, workers: int = 2, progress: bool = True):
    """(train set, EmbeddingTable) for `teacher="dlib"`: the DevTrain images of the prepared
    LFW `data_cfg.root` at `image_size`, and dlib's embeddings of them (of the 112 px crops)."""
    from facecourse.data import load_lfw
    if data_cfg.source != "lfw":
        raise ValueError(f"teacher='dlib' needs data.source='lfw' (its embeddings are cached for "
                         f"a prepared LFW), not {data_cfg.source!r}")
    root = data_cfg.root or None
    table = dlib_embeddings(load_lfw(root, image_size=112), workers=workers, progress=progress)
    lfw = load_lfw(root, image_size=image_size)
    keep = lfw.devtrain_indices()
    return lfw.dataset.subset(keep), EmbeddingTable(centre_embeddings(table[keep]))


def centre_embeddings(embeddings) -> np.ndarray:
    """Embeddings (N, D) minus their mean, so that cosine compares what differs between faces.

    dlib's descriptors all lie in one narrow cone: on the LFW DevTrain images two photos of
    *different* people have a mean cosine of ~0.84 (dlib compares them by Euclidean distance,
    threshold 0.6, where the offset does not matter). A student pulled towards them by
    1 - cos(student, teacher) then spends its capacity on the shared offset: distilling the raw
    table gave 51 % DevTest accuracy in a 4-epoch probe. Minus the training mean, random pairs
    have cos ~0 and the cosine target keeps only the identity signal.
    """
    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or not np.isfinite(embeddings).all():
        raise ValueError("centre_embeddings needs finite embeddings (N, D): compute the teacher's "
                         "embedding of every training image first")
    return embeddings - embeddings.mean(0, keepdims=True)
