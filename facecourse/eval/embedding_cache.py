"""Embeddings computed once and kept on disk: `cached_embeddings`, and dlib's of LFW.

A slow embedder (dlib's ResNet, `facecourse.models.DlibResNet`: ~85 ms a face on one core)
runs once per image, in worker processes, with a tqdm bar; its rows are written to a .npy as
they finish, so an interrupted run resumes where it stopped. `data_key` names such a cache
after the pixels it holds. Lesson 08 distils dlib's cached LFW table into a student
(`facecourse.train.teachers.EmbeddingTable`), lesson 11 caches dlib's embeddings of its
test faces.
"""
from __future__ import annotations

import hashlib
import json
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

from facecourse.models.dlib_resnet import DlibResNet

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
