"""dlib's ResNet as an embedder of aligned uint8 crops (facecourse/models/dlib_resnet.py)."""
import pickle

import numpy as np
import pytest

from facecourse.models import DlibResNet


def test_an_unknown_chip_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"method='crop'; use one of \('landmarks', 'resize'\)"):
        DlibResNet("crop")


def test_it_pickles_without_its_loaded_model():
    embedder = DlibResNet("resize")
    embedder.model = object()  # as after a first call: workers get a copy that loads its own
    copy = pickle.loads(pickle.dumps(embedder))
    assert copy.method == "resize" and copy.model is None and copy.embedding_dim == 128


def test_it_embeds_aligned_crops_into_128_dimensions():
    pytest.importorskip("dlib")
    from facecourse.data import SyntheticFaces
    crops = SyntheticFaces(1, 2, image_size=112, seed=0).images.numpy()  # (2, 3, 112, 112) uint8
    try:
        emb = DlibResNet("resize")(crops)
    except (ModuleNotFoundError, FileNotFoundError) as e:  # face-recognition-models missing
        pytest.skip(str(e))
    assert emb.shape == (2, 128) and emb.dtype == np.float32 and np.isfinite(emb).all()
