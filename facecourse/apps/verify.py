"""`python -m facecourse verify A.jpg B.jpg --checkpoint C`: the same person, or not?

    python -m facecourse verify a.jpg b.jpg --checkpoint runs/lfw/checkpoint.pt
    python -m facecourse verify a.jpg b.jpg --checkpoint runs/lfw/checkpoint.pt --far 1e-2
    python -m facecourse verify a.jpg b.jpg --onnx model.onnx      # onnxruntime; the card is inside

Both photos go through the LFW pipeline (dlib, five points, the ArcFace template: one face each,
the one nearest the centre), are embedded with flip averaging as `facecourse.eval.embed` does,
and their cosine is compared with the threshold the model card calibrated at the chosen FAR
(`--far`, default the card's). A photo without a face, a missing or unreadable file, a model
without a card, a card for another input size and a FAR below the calibration's resolution
each print one `error:` line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from .model import FaceModel, align_photos, card_notes, default_pad

ERRORS = (FileNotFoundError, ValueError, KeyError)  # MissingCardError, CardMismatchError, NoFaceError, ...


@dataclass
class Verdict:
    score: float  # cosine of the two flip-averaged embeddings
    threshold: object  # the card's `Threshold`
    same: bool  # score >= threshold
    notes: list[str] = field(default_factory=list)


def verify(model: FaceModel, a, b, far: float | None = None, on_missing: str = "error",
           pad: float | None = None) -> Verdict:
    """Align photos `a` and `b`, embed them, and decide at the card's threshold for `far`."""
    threshold = model.card.threshold(far, model.source)  # before any work: a bad --far fails at once
    photos = align_photos([a, b], model.card.input_size, default_pad(model.card, pad), on_missing)
    emb = model.embed(photos.images)  # (2, D), normalized
    score = float(emb[0] @ emb[1])
    return Verdict(score, threshold, score >= threshold.threshold, photos.notes)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="checkpoint.pt of a training run (model_card.json beside it)")
    parser.add_argument("--onnx", help="an ONNX file written by export-onnx (its card in its metadata)")
    parser.add_argument("--far", type=float, default=None,
                        help="false accept rate of the threshold: 1e-2, 1e-3 or 1e-4 (default: the card's)")
    parser.add_argument("--on-missing", choices=("error", "centre"), default="error",
                        help="a photo where no face is found: stop (error, the default) or use its centre crop")
    parser.add_argument("--pad", type=float, default=None,
                        help="black border (fraction of the longer side) added before detection; "
                             "default: the card's (what its training photos used); 0.25 helps tight crops")
    parser.add_argument("--device", default="cpu", help="cpu | cuda (checkpoints; ONNX runs on the CPU)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse verify",
                                     description="Do two photos show the same person?")
    parser.add_argument("photos", nargs=2, metavar="PHOTO", help="two photos (JPEG, PNG, ...)")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    from facecourse.eval.cli import choose_device

    from .model import load_model
    try:
        model = load_model(args.checkpoint, args.onnx, choose_device(args.device))
        verdict = verify(model, *args.photos, far=args.far, on_missing=args.on_missing, pad=args.pad)
    except ERRORS as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    for note in card_notes(model.card) + verdict.notes:
        print(f"note: {note}")
    card, t = model.card, verdict.threshold
    print(f"cosine {verdict.score:.4f} ({card.backbone}, {card.embedding_dim}-d, {card.input_size}x"
          f"{card.input_size} aligned crops, {'flip-averaged' if card.flip_tta else 'no flip'}; {model.source})")
    print("\n".join([card.describe(t), *card.measured(t)]))
    relation = ">=" if verdict.same else "<"
    print(f"{'same person' if verdict.same else 'different people'} "
          f"({verdict.score:.4f} {relation} {t.threshold:.4f})")
    return 0
