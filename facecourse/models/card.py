"""The model card: what a checkpoint or ONNX file needs to be used correctly, in one schema.

A face embedding is only as good as its input pipeline: most "it works on LFW, not on my
photos" reports are a crop or a colour order the model never saw. `ModelCard` records that
pipeline (input size, RGB, [-1, 1] normalisation, ArcFace five-point alignment, flip TTA),
where the weights came from (training data, recipe, config), what they measured, and the
acceptance thresholds calibrated at FAR 1e-2 / 1e-3 / 1e-4 with the impostor pairs behind
each (`facecourse.eval.calibrate`). It is written as `model_card.json` beside every
checkpoint (`python -m facecourse train`, `python -m facecourse eval --calibrate`) and as
the ONNX file's `metadata_props` (`export-onnx`: one key per field, its value in JSON);
`verify` and `search` read it and refuse a model whose card does not fit.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

SCHEMA = "facecourse.model_card/1"
CARD_NAME = "model_card.json"
DEFAULT_FARS = (1e-2, 1e-3, 1e-4)
NORMALISATION = "x / 127.5 - 1: uint8 pixels to [-1, 1]"


def how_to_calibrate(checkpoint="CHECKPOINT") -> str:
    """The command that writes a checkpoint's card with thresholds, for error messages."""
    return (f"`python -m facecourse eval --checkpoint {checkpoint} --calibrate` (on LFW's DevTrain people; "
            "add `--data synthetic --protocol synthetic` or `--data FOLDER --protocol synthetic` for "
            "other faces)")


class MissingCardError(FileNotFoundError):
    """A checkpoint or ONNX file without a model card."""


class CardMismatchError(ValueError):
    """A model card that does not describe the model or the input it is given."""


@dataclass
class Threshold:
    """One operating point: accept a pair when its cosine >= `threshold`."""
    far: float  # the false accept rate asked for
    threshold: float  # the lowest threshold whose FAR on the calibration set is <= far
    calibrated: bool  # far >= the resolution 1 / n_impostor; False: only bounded (FAR 0 measured)
    impostors_above: int  # impostor pairs of the calibration set with cosine >= threshold
    tar: float | None  # genuine pairs of the calibration set accepted (None: it has none)


@dataclass
class Calibration:
    """Thresholds from every pair of a set of held-out faces (`facecourse.eval.calibrate`)."""
    data: str  # what was paired, e.g. "LFW DevTrain: 9,525 images of 4,038 people, all pairs"
    n_images: int
    n_people: int
    n_genuine: int  # same-person pairs
    n_impostor: int  # different-person pairs
    far_resolution: float  # 1 / n_impostor: the smallest FAR one impostor pair can measure
    thresholds: list[Threshold]
    note: str = ""  # caveats, e.g. "the model trained on these people"
    checks: dict = field(default_factory=dict)  # {set: [{far, threshold, measured_far, tar, ...}]}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """From the dict `facecourse.eval.calibrate` returns (plus data, note, checks)."""
        d = dict(d)
        d["thresholds"] = [t if isinstance(t, Threshold) else Threshold(**t) for t in d["thresholds"]]
        return cls(**d)

    def at(self, far: float) -> Threshold | None:
        return next((t for t in self.thresholds if math.isclose(t.far, far, rel_tol=1e-6)), None)


@dataclass
class ModelCard:
    backbone: str  # a name of facecourse.models.list_backbones(), or "dlib-resnet"
    embedding_dim: int  # D
    input_size: int  # H = W of the aligned crop the model takes
    colour_order: str = "RGB"
    normalisation: str = NORMALISATION
    layout: str = "NCHW float32"
    alignment: dict = field(default_factory=dict)  # see `alignment()`
    flip_tta: bool = True  # embedding = normalize(f(x) + f(mirror x)), as eval.embed(flip=True)
    metric: str = "cosine"  # scores are cosines of L2-normalized embeddings, accept when >= t
    training: dict = field(default_factory=dict)  # data, recipe, command, steps, config
    evaluation: dict = field(default_factory=dict)  # protocol -> its figures
    calibration: Calibration | None = None
    default_far: float | None = None  # verify/search use it when --far is not given
    checkpoint: dict = field(default_factory=dict)  # file, step, weights (digest)
    schema: str = SCHEMA

    def to_dict(self) -> dict:
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict, source: str = "the card") -> "ModelCard":
        if not isinstance(d, dict):
            raise CardMismatchError(f"{source} is not a model card (a JSON object), got {type(d).__name__}")
        if d.get("schema") != SCHEMA:
            raise CardMismatchError(f"{source} has schema {d.get('schema')!r}, not {SCHEMA!r}; write it "
                                    "again with `python -m facecourse eval --calibrate`")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown, missing = set(d) - names, {"backbone", "embedding_dim", "input_size"} - set(d)
        if unknown or missing:
            raise CardMismatchError(f"{source}: unknown fields {sorted(unknown)}, missing fields {sorted(missing)}")
        d = dict(d)
        try:
            if d.get("calibration") is not None:
                d["calibration"] = Calibration.from_dict(d["calibration"])
            return cls(**d)
        except (TypeError, KeyError) as e:
            raise CardMismatchError(f"{source}: its calibration is malformed ({e}); write it again with "
                                    f"{how_to_calibrate()}") from None

    def threshold(self, far: float | None = None, source: str | None = None) -> Threshold:
        """The calibrated threshold at `far` (None: `default_far`); CardMismatchError when the
        card has none there or when `far` is below the calibration set's resolution. `source`:
        the model's file, for the advice."""
        cal = self.calibration
        how = how_to_calibrate(source or "CHECKPOINT")
        if cal is None or not cal.thresholds:
            raise CardMismatchError(f"the model card has no calibrated thresholds; make them with {how}")
        if far is None:  # the card's choice; without a calibrated one, the largest FAR says why
            far = self.default_far if self.default_far is not None else max(x.far for x in cal.thresholds)
        if not 0 < far < 1:
            raise CardMismatchError(f"--far is a false accept rate in (0, 1), e.g. 1e-3; got {far:g}")
        t = cal.at(far)
        if t is None:
            have = ", ".join(sci(x.far) for x in cal.thresholds)
            raise CardMismatchError(f"the model card has no threshold at FAR {sci(far)}; it has FAR {have} "
                                    f"(calibrated on {cal.data})")
        if not t.calibrated:
            ok = [x.far for x in cal.thresholds if x.calibrated]
            raise CardMismatchError(
                f"FAR {sci(far)} is below the resolution {sci(cal.far_resolution, 2)} of the calibration set "
                f"({cal.n_impostor:,} impostor pairs of {cal.data}): its threshold is not calibrated, "
                f"no impostor pair was allowed above it. Use {_choices(ok)}, or calibrate on more people "
                f"({how})")
        return t

    def describe(self, t: Threshold) -> str:
        """'threshold 0.41 at FAR 1e-3, calibrated on 49,000 impostor pairs of ...; resolution 2e-5'."""
        cal = self.calibration
        return (f"threshold {t.threshold:.4f} at FAR {sci(t.far)}, calibrated on {cal.n_impostor:,} "
                f"impostor pairs of {cal.data}; resolution {sci(cal.far_resolution, 2)}")

    def measured(self, t: Threshold) -> list[str]:
        """What the threshold gave on its calibration set and on the other sets the card checked."""
        cal = self.calibration
        lines = [f"  on the calibration set it accepts {t.tar:.1%} of the genuine pairs"] if t.tar is not None else []
        for name, rows in cal.checks.items():
            row = next((r for r in rows if math.isclose(r["far"], t.far, rel_tol=1e-6)), None)
            if row is not None and row.get("measured_far") is not None:
                tar = f", TAR {row['tar']:.1%}" if row.get("tar") is not None else ""
                lines.append(f"  on {name}: FAR {sci(row['measured_far'], 2)}{tar}")
        return lines

    def check_input_size(self, size: int, what: str) -> None:
        """CardMismatchError quoting the card when `what` gives `size` x `size` crops."""
        if int(size) != int(self.input_size):
            raise CardMismatchError(
                f"{what} is {size}x{size} but the model card says \"input_size\": {self.input_size} "
                f"({self.backbone}, {self.embedding_dim}-d, {self.input_size}x{self.input_size} "
                f"{self.colour_order} crops aligned to the {self.alignment.get('template', 'ArcFace')} "
                "template); the card belongs to another model or the input was made for one")


def sci(x: float, digits: int = 1) -> str:
    """1e-3 -> '1e-3', 2.04e-05 -> '2e-5', sci(1.44e-4, 2) -> '1.4e-4': rates as people write them."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _choices(fars) -> str:
    return " or ".join(f"--far {sci(f)}" for f in fars) if fars else "a larger --far"


def json_safe(value):
    """JSON-safe: non-finite floats (a threshold of -inf) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    return value


def alignment(crop_size: int, pad: float = 0.0, note: str = "") -> dict:
    """The input pipeline of `facecourse.data.align_faces`, as a card records it."""
    from facecourse.data.align import ARCFACE_TEMPLATE
    out = {"method": "dlib HOG face detector + 68-point shape predictor -> five points (eye centres, "
                     "nose tip, mouth corners) -> least-squares similarity transform (facecourse.data.align_faces)",
           "template": "ArcFace 5-point (insightface arcface_dst)",
           "template_112": ARCFACE_TEMPLATE.round(4).tolist(),
           "crop_size": int(crop_size), "pad": float(pad),
           "several_faces": "the one nearest the image centre"}
    if note:
        out["note"] = note
    return out


def card_from_config(config: dict, **fields) -> ModelCard:
    """A card for the backbone a run's config dict (as saved in its checkpoint) describes; the
    other fields (training, evaluation, calibration, ...) as given."""
    model = config.get("model", {}) if isinstance(config, dict) else {}
    try:
        size, dim, name = int(model["image_size"]), int(model["embedding_dim"]), str(model["backbone"])
    except (KeyError, TypeError, ValueError):
        raise CardMismatchError("a card needs the run's model.backbone, model.embedding_dim and "
                                f"model.image_size; the config holds {model!r}") from None
    fields.setdefault("alignment", alignment(size))
    return ModelCard(backbone=name, embedding_dim=dim, input_size=size, **fields)


def weights_digest(state_dict) -> str:
    """A short hash of a state dict's tensors (names, shapes, values): which weights a card describes."""
    h = hashlib.blake2b(digest_size=10)
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def card_path(checkpoint: str | os.PathLike) -> Path:
    """Where the card of `checkpoint` lives: `model_card.json` in the same folder."""
    return Path(checkpoint).parent / CARD_NAME


def write_card(card: ModelCard, path: str | os.PathLike) -> Path:
    """Write `card` as JSON to `path` (a file, or a checkpoint whose folder gets model_card.json),
    through a temporary file so a reader never sees half a card."""
    path = Path(path)
    if path.suffix != ".json":
        path = card_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def read_card(path: str | os.PathLike) -> ModelCard:
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CardMismatchError(f"{path} is not valid JSON ({e}); write it again with "
                                "`python -m facecourse eval --calibrate`") from None
    return ModelCard.from_dict(d, str(path))


def card_for_checkpoint(checkpoint: str | os.PathLike) -> ModelCard:
    """The card beside `checkpoint`, or MissingCardError saying how to make one."""
    path = card_path(checkpoint)
    if not path.is_file():
        raise MissingCardError(
            f"checkpoint {str(checkpoint)!r} has no model card ({path} is missing), so its input "
            "pipeline and thresholds are unknown. Make one: "
            f"{how_to_calibrate(checkpoint)} writes {CARD_NAME} beside it "
            "(every `python -m facecourse train` run writes one at its end)")
    return read_card(path)


def to_metadata(card: ModelCard) -> dict[str, str]:
    """The card as ONNX `metadata_props`: one key per field, each value in JSON."""
    return {k: json.dumps(v) for k, v in card.to_dict().items()}


def from_metadata(props: dict[str, str], source: str) -> ModelCard:
    """The card an ONNX file's `metadata_props` carry (MissingCardError without one)."""
    if "schema" not in props:
        raise MissingCardError(
            f"{source} carries no model card in its metadata, so its input pipeline and thresholds "
            "are unknown. Export it again with `python -m facecourse export-onnx --checkpoint "
            "CHECKPOINT --out FILE.onnx` from a checkpoint that has a card "
            f"({how_to_calibrate()} makes one)")
    try:
        d = {k: json.loads(v) for k, v in props.items()
             if k in {f.name for f in dataclasses.fields(ModelCard)}}
    except json.JSONDecodeError as e:
        raise CardMismatchError(f"{source}: its model card metadata is not valid JSON ({e})") from None
    return ModelCard.from_dict(d, f"the model card of {source}")


def training_data(config: dict, lfw_counts: tuple[int, int] | None = None) -> str:
    """What a run's config trained on, in words (the card's training.data)."""
    data = config.get("data", {})
    source = data.get("source", "synthetic")
    if source == "synthetic":
        return (f"synthetic faces (facecourse.data.SyntheticFaces: {data.get('num_identities')} identities x "
                f"{data.get('images_per_identity')} images, difficulty {data.get('difficulty')}, seed "
                f"{data.get('seed')}): rendered, not photos, and not aligned by the detector")
    if source == "lfw":
        counts = f": {lfw_counts[0]:,} images of {lfw_counts[1]:,} people" if lfw_counts else ""
        what = {"matched": "the photos of the DevTrain matched pairs", "pairs": "the photos of the DevTrain pairs",
                "people": "the DevTrain people all of whose photos are in matched pairs"}.get(data.get("hold_out") or "")
        held = (f", less {what} (data.hold_out={data['hold_out']!r}: the threshold is chosen on "
                "photos it never trained on)") if what else ""
        return f"LFW DevTrain people (peopleDevTrain.txt){counts}{held}, aligned by prepare lfw"
    if source == "rec":
        return (f"the insightface RecordIO {data.get('root') or 'train.rec found in $FACECOURSE_DATA'!s}"
                " (aligned 112 px crops as insightface packs them)")
    return f"the folder {data.get('root')!r} ({source})"


def training_section(config: dict, data: str | None = None, recipe: str = "", command: str = "",
                     steps: int | None = None) -> dict:
    """The card's `training`: data, recipe, command, steps, objective, head and the whole config."""
    return {"data": data or training_data(config), "recipe": recipe, "command": command, "steps": steps,
            "objective": config.get("objective"), "head": config.get("head", {}).get("name"),
            "config": config}


def checkpoint_record(checkpoint: str | os.PathLike, backbone) -> dict:
    """The card's `checkpoint`: the file, the step it holds, the digest of its backbone's weights."""
    from .loading import read_checkpoint
    step = read_checkpoint(checkpoint).get("step")
    return {"file": Path(checkpoint).name, "step": None if step is None else int(step),
            "weights": weights_digest(backbone.state_dict())}


def check_card_fits(card: ModelCard, config: dict, backbone, source: str, weights: bool = True) -> None:
    """CardMismatchError when `card` describes another model than `backbone` (built from the
    run's `config`): another input size, embedding size, or (`weights`) other weights (a stale card)."""
    model = config.get("model", {})
    card.check_input_size(model.get("image_size"), f"{source} (its model.image_size)")
    if int(model.get("embedding_dim", card.embedding_dim)) != card.embedding_dim:
        raise CardMismatchError(f"{source} gives {model.get('embedding_dim')}-d embeddings but its model card "
                                f"says \"embedding_dim\": {card.embedding_dim}; the card belongs to another model")
    recorded = card.checkpoint.get("weights")
    if weights and recorded and recorded != weights_digest(backbone.state_dict()):
        raise CardMismatchError(
            f"the model card beside {source} describes other weights (step {card.checkpoint.get('step')}, "
            f"digest {recorded}) than the checkpoint holds: the run went on after the card was written. "
            f"Write it again: {how_to_calibrate(source)}")


def training_alignment(config: dict) -> dict:
    """The card's `alignment` for a run: the ArcFace template at the run's image size, with the
    pad its training photos were detected with (a prepared folder's own; LFW's is 0)."""
    data, size = config.get("data", {}), int(config.get("model", {}).get("image_size", 112))
    source, pad, note = data.get("source"), 0.0, ""
    if source == "folder" and data.get("root"):
        from facecourse.data.prepared import is_prepared, read_index
        if is_prepared(data["root"]):
            pad = float(read_index(data["root"]).get("pad", 0.0))
        else:
            note = "trained on a raw folder, resized, not aligned: photos aligned to the template differ"
    elif source == "synthetic":
        note = ("trained on rendered synthetic faces, not on photos aligned to this template: on real "
                "photos its scores mean little")
    return alignment(size, pad, note)


def default_far_of(calibration: Calibration | None) -> float | None:
    """1e-3 when calibrated there, else the lowest calibrated FAR, else None."""
    ok = [t.far for t in (calibration.thresholds if calibration else []) if t.calibrated]
    return 1e-3 if any(math.isclose(f, 1e-3) for f in ok) else (min(ok) if ok else None)


def make_card(config: dict, checkpoint, backbone, training: dict | None = None,
              evaluation: dict | None = None, calibration: dict | Calibration | None = None) -> ModelCard:
    """The card of `checkpoint` (whose `backbone` and run `config` are given): input pipeline from
    the config, `training`/`evaluation` as given, thresholds from `calibration` (the dict of
    `facecourse.eval.calibrate` with data, note and checks)."""
    if isinstance(calibration, dict):
        calibration = Calibration.from_dict(calibration)
    return card_from_config(config, alignment=training_alignment(config),
                            training=training or training_section(config), evaluation=evaluation or {},
                            calibration=calibration, default_far=default_far_of(calibration),
                            checkpoint=checkpoint_record(checkpoint, backbone))


def card_summary(path) -> str:
    """The card at `path`, one line per threshold (the end of train and of eval --calibrate)."""
    card = read_card(path)
    cal = card.calibration
    if cal is None:
        return (f"model card: {path} (no thresholds: no held-out people to calibrate on; make them with "
                f"{how_to_calibrate(Path(path).parent / card.checkpoint.get('file', 'checkpoint.pt'))})")
    rows = [f"  FAR {sci(t.far)}: threshold {t.threshold:.4f}, {t.impostors_above:,} impostor pairs at or "
            "above it" + (f", TAR {t.tar:.3f}" if t.tar is not None else "")
            + ("" if t.calibrated else "  NOT calibrated: below the resolution") for t in cal.thresholds]
    return "\n".join([f"model card: {path}; thresholds from {cal.n_impostor:,} impostor pairs of {cal.data} "
                      f"(resolution {sci(cal.far_resolution, 2)}):", *rows])
