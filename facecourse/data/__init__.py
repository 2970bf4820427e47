"""facecourse.data: synthetic and real faces behind one interface (`FaceDataset`), pairs,
identity splits, alignment and degradations. Taught in lesson 00 (data)."""
from .age_pairs import all_age_gap_pairs, all_cross_age_pairs, lag_pairs, young_adult_split
from .align import ARCFACE_TEMPLATE, DlibLandmarker, align, centre_crop, pad_image, template, umeyama, warp
from .aligner import AlignedFaces, align_faces
from .archive import ChecksumError, safe_extract, verify_checksum
from .att import load_att
from .dataset import FaceDataset, contact_sheet, to_float
from .degrade import blur, downsample, draw_mask, illumination, jpeg, mask_coverage
from .folder import ImageFolderFaces, prepare_folder
from .images import BadImageError, decode_image
from .insightface import (RecordIOReader, RestrictedUnpickler, UnsafePickleError, load_bin, load_rec,
                          make_tiny_insightface, write_bin, write_rec)
from .lag import LAG, LFWOverlap, lag_inventory, lfw_overlap, load_lag, prepare_lag, split_people
from .lfw import LFW, lfw_photo, load_lfw, prepare_lfw, read_pairs, read_people
from .noise import NOISE_KINDS, add_label_noise
from .pairs import Pairs, make_cross_age_pairs, make_masked_pairs, make_pairs, split_by_identity
from .paths import default_cache_dir, default_data_root, find_lag, find_lfw
from .prepared import alignment_report, load_prepared_folder
from .real import load_real, prepare_real, real_ready, real_root
from .synthetic import ID_PARAMS, FactorRanges, SyntheticFaces, render_batch, sample_factors

__all__ = [
    "NOISE_KINDS", "add_label_noise",
    "all_age_gap_pairs", "all_cross_age_pairs",
    "ARCFACE_TEMPLATE", "BadImageError", "ChecksumError", "DlibLandmarker", "FaceDataset", "FactorRanges",
    "ID_PARAMS", "ImageFolderFaces", "LFW", "Pairs", "RecordIOReader", "RestrictedUnpickler",
    "SyntheticFaces", "UnsafePickleError", "align", "blur", "centre_crop", "contact_sheet", "decode_image",
    "default_cache_dir", "default_data_root", "downsample", "draw_mask", "find_lfw", "illumination",
    "jpeg", "lfw_photo", "load_att", "load_bin", "load_lfw", "load_rec", "write_rec", "write_bin", "make_tiny_insightface", "make_cross_age_pairs", "make_masked_pairs",
    "mask_coverage",
    "make_pairs", "prepare_lfw", "read_pairs", "read_people", "render_batch", "safe_extract",
    "sample_factors", "split_by_identity", "template", "to_float", "umeyama", "verify_checksum", "warp",
    # one alignment pipeline, prepared folders, LAG (issues 16, 18)
    "AlignedFaces", "LAG", "LFWOverlap", "align_faces", "alignment_report", "find_lag", "lag_inventory",
    "lag_pairs", "lfw_overlap", "load_lag", "load_prepared_folder", "pad_image", "prepare_folder",
    "prepare_lag", "split_people", "young_adult_split",
    # real faces for the lessons, prepared once (issue 18)
    "load_real", "prepare_real", "real_ready", "real_root",
]
from .lesson_faces import (TEST_FIRST_IDENTITY, LessonLAG, LessonLFW, closed_set_faces,  # noqa: E402
                           lesson_faces, lesson_lag, lesson_lfw, resize_uint8, split_by_photo,
                           test_people, train_people)

__all__ += ["TEST_FIRST_IDENTITY", "LessonLAG", "LessonLFW", "closed_set_faces", "lesson_faces",
            "lesson_lag", "lesson_lfw", "resize_uint8", "split_by_photo", "test_people",
            "train_people"]  # the lessons' standard people (issue 15)
