"""Named training presets: a recipe is a dict of dotted overrides of `TrainConfig` defaults.

`python -m facecourse train --recipe synthetic-arcface --set optim.lr=0.05` applies the recipe,
then the `--set`s. Add a recipe by adding an entry (lessons and other tracks add theirs here).
"""
from __future__ import annotations

_LFW_TRACK = {  # what lfw-scratch and lfw-distill share (each names its own student, below)
    "model.image_size": 64, "model.embedding_dim": 128,
    "head.name": "arcface", "head.s": 16.0, "head.m": 0.2,
    "data.source": "lfw", "data.scale_jitter": 0.1, "data.shift_jitter": 0.06,
    "data.color_jitter": 0.2,
    "optim.name": "sgd", "optim.lr": 0.1, "optim.weight_decay": 5e-4, "optim.warmup_epochs": 1,
    "optim.schedule": "cosine", "optim.clip_grad_norm": 5.0,
    "epochs": 34, "batch_size": 64, "max_minutes": 19, "fit_to_time": True, "log_every": 20,
    "checkpoint_every": 500,
}

RECIPES: dict[str, dict] = {
    # ArcFace (arXiv:1801.07698: s=64, m=0.5, SGD momentum 0.9, wd 5e-4) on synthetic faces,
    # scaled to a laptop: a small CNN at 64 px, s=32 because 100 classes need less scale.
    "synthetic-arcface": {
        "model.backbone": "convnet", "model.image_size": 64, "model.embedding_dim": 128,
        "head.name": "arcface", "head.s": 32.0, "head.m": 0.5,
        "data.source": "synthetic", "data.num_identities": 100, "data.images_per_identity": 20,
        "optim.name": "sgd", "optim.lr": 0.1, "optim.weight_decay": 5e-4,
        "optim.warmup_epochs": 1, "optim.schedule": "cosine", "optim.clip_grad_norm": 5.0,
        "epochs": 10, "batch_size": 64, "log_every": 10, "checkpoint_every": 100,
    },
    # FaceNet triplets (arXiv:1503.03832) with P x K batches and semi-hard mining.
    "synthetic-triplet": {
        "model.backbone": "convnet", "model.image_size": 64, "model.embedding_dim": 128,
        "objective": "triplet", "triplet.margin": 0.2, "triplet.mining": "semi_hard",
        "data.sampler": "pk", "data.P": 16, "data.K": 4, "batch_size": 64,
        "optim.name": "adamw", "optim.lr": 1e-3, "optim.weight_decay": 1e-4,
        "epochs": 10, "log_every": 10, "checkpoint_every": 100,
    },
    # The LFW track (datasets/lfw.md, bench/lfw.py): train on the images of the 4,038 DevTrain
    # people only, test on the 1,000 DevTest pairs (other people), at 64 px on 2 CPU cores. On
    # a slower machine max_minutes stops at 19 min all the same, and fit_to_time shortens the
    # cosine to the steps that fit, so its decay still ends: on 2026-12-03 the same 2 cores ran
    # at half speed (3.2 it/s, dlib's table 13.5 min, not 6.75).
    # From scratch: ArcFace (arXiv:1801.07698) for 4,038 classes of ~2.4 images (70 % have one
    # image) with s=16, m=0.2 rather than the paper's s=64, m=0.5: a short run on few images
    # needs the smaller scale and margin, as lesson 03 measures on synthetic faces), a 128-d
    # embedding, dropout and zoom/shift/colour jitter against over-fitting so few images.
    # The backbone is a plain convnet (32, 64, 128, 256): it runs 2.1x MobileFaceNet x0.5's
    # images/s on 2 cores and ranks new people better. Measured (bench/results/lfw.json, DevTest
    # accuracy at the threshold chosen on DevTrain / AUC; each run alone):
    #   MobileFaceNet x0.5, 39 epochs (the recipe until 2026-12-04, "scratch_mobilefacenet_39ep";
    #     34 epochs 0.892 / 0.959), 16.0 min:                          0.898 / 0.962
    #   convnet, dropout 0.4, 50 epochs on every DevTrain photo:         0.860 / 0.969
    #     (10-fold within DevTest 0.918: the ranking is good, but the threshold is chosen on
    #     photos it memorised, matched pairs' cosine 0.75 against 0.57 for new people)
    #   ... without the photos of the DevTrain pairs (hold_out=pairs), 80 epochs: 0.892 / 0.961
    #     (the threshold transfers; the multi-photo people lost cost ranking; matched: 0.890)
    #   ... sub-center ArcFace K=3: 0.883 / 0.951; margin 0.1: 0.867 / 0.967
    #   ... without the 402 people all of whose photos are in matched pairs (hold_out=people:
    #     909 photos, a tenth; their 504 matched pairs, people it never saw as DevTest's are,
    #     and the 1,100 mismatched ones choose the threshold, weighed 1:1), 55 epochs:
    #                                                                    0.894 / 0.961
    #   ... the same, 75 epochs (10,050 steps), fp32: seed 0, 15.6 min ("scratch_fp32")
    #                                                                    0.909 / 0.964
    #     seed 1, 14.3 min ("scratch_fp32_seed1"):                       0.901 / 0.965
    #     seed 2 on 2026-12-07, when the same 2 cores ran 6.8 steps/s, not ~11: fit_to_time
    #     fitted 7,768 steps (58 epochs) into 19.0 min ("scratch_fp32_seed2"): 0.894 / 0.962,
    #     as the 55-epoch run. So 0.90 needs the whole 75 epochs.
    #   ... the same in bf16 autocast (this recipe; the head stays fp32, see fit's _Net): fit
    #     runs 1.43x fp32's images/s on these cores, which have AVX512-BF16 (`python
    #     bench/train_speed.py --bf16 --threads 1`, bench/results/train.json, 2026-12-07), so
    #     the 75 epochs fit the 19 min on a slow day too. Both runs 2026-12-07, alone, on the
    #     day fp32's seed 2 ran slow:
    #     seed 0, 9,900 of the 10,050 steps in 19.0 min ("scratch"):     0.907 / 0.966
    #     seed 1, 9,600 steps (72 epochs) in 19.0 min ("scratch_seed1"): 0.897 / 0.962
    #     seed 2, all 10,050 steps in 18.9 min ("scratch_seed2"):        0.911 / 0.966
    #     Mean 0.905 over the three seeds (fp32's three: 0.901); one binomial standard error on
    #     1,000 pairs is 0.009, so a seed lands either side of 0.90. bf16 costs nothing
    #     measurable here (seed 0: 0.909 / 0.964 in fp32, seed 1: 0.901 / 0.965). On a CPU
    #     without bf16 instructions fit warns that it may be slower: --set amp=off there.
    # On LAG people in no LFW list every scratch model has learned LFW, not faces: AUC
    # 0.672-0.676 for the bf16 runs, 0.668-0.683 for the fp32 ones, 0.674 for MobileFaceNet's (Rank-1
    # 0.02-0.03).
    "lfw-scratch": {**_LFW_TRACK, "model.backbone": "convnet", "model.width": 1.0,
                    "model.extra.channels": [32, 64, 128, 256], "model.dropout": 0.4,
                    "data.hold_out": "people", "epochs": 75, "amp": "bf16"},
    # Distilled from dlib's ResNet (its 128-d embeddings of the training images, computed once
    # and cached, then centred on their mean: facecourse.train.teachers): 1 - cos(student, dlib)
    # plus the batch's relations (distill.relation_weight: the student's cosine matrix of the
    # batch pulled towards dlib's), no classification head and no dropout. The student is
    # IResNet-18 x0.25 (0.72 M parameters), not scratch's MobileFaceNet x0.5 (0.28 M): dense
    # convolutions use 2 CPU cores better than depthwise ones (276 vs 192 img/s in a bare
    # training step at 64 px, timed one after the other in one script on 2026-12-03), so the
    # wider student still fits 30-34 epochs into the 19 minutes. Measured (bench/results/
    # lfw.json, DevTest accuracy / AUC / LAG AUC; epochs are what fit_to_time fitted into 19 min
    # that day):
    #   MobileFaceNet x0.5, 1 - cos alone, 34 epochs:     0.940 / 0.984  / 0.761 (the recipe
    #     until 2026-12-03, "distilled_mobilefacenet"); with dropout 0.2 0.935 / 0.981; weight
    #     decay 1e-4 0.928; at 112 px (11 epochs) 0.929; beside ArcFace's cross-entropy 0.911
    #   IResNet-18 x0.25, 1 - cos alone, 30 epochs:      0.942 / 0.984  / 0.778
    #   ... + relations weighted 50, 34 epochs:          0.944 / 0.9865 / 0.798
    #   ... + relations weighted 50 (this recipe's run, "distilled"), 32 epochs (4,817 steps,
    #       19.0 min):                                  0.951 / 0.9869 / 0.794
    #   ... + relations weighted 150, 31 epochs:         0.936 / 0.985  / 0.793
    # So this recipe's two runs gave 0.944 and 0.951 (1,000 pairs: +-0.007 is one binomial
    # standard error), both above every MobileFaceNet run on all three figures. The wider
    # student fits dlib better (DevTrain pairs 0.968-0.974 vs 0.955) but gains little on
    # DevTest; the relation term gains most on LAG's unseen people. From scratch the same
    # IResNet lost (0.870 / 0.959 / 0.683, "scratch_iresnet18_w025").
    # Not taken (2026-12-04, each run alone), for the cross-age figure: a fifth of the images
    # turned greyscale (data.gray_jitter=0.2; LAG's young photos are 24 % greyscale, LFW's
    # 0.4 %): 0.951 / 0.9877 / 0.798. With dlib also labelling the 468 LAG-dev photos of 88
    # DevTrain people (distill.unlabeled=lag-devtrain): seed 0 0.950 / 0.9894 / 0.814, seed 1
    # 0.938 / 0.9877 / 0.823; at 55 epochs (19 min on a fast day) 0.949 / 0.9903 / 0.828. LAG
    # gains 0.02-0.03 and AUC a little, DevTest accuracy does not, and the recipe would need a
    # prepared LAG: kept as options ("distilled_gray02*" in bench/results/lfw.json).
    # In bf16 autocast (--set amp=bf16, as lfw-scratch): all 34 epochs in 13.8 min instead of
    # 32 in 19.0, 0.944 / 0.9864 / 0.804 ("distilled_bf16", 2026-12-07): inside this recipe's
    # two fp32 runs' spread, so the time is saved but not yet spent on anything that gains.
    # Not at a lesson's budget:
    # as lesson 08's students (12 epochs on 3,302 photos, ~620 steps) the regression alone tied or
    # lost to the student alone (AUC 0.922 / 0.905 / 0.915 vs 0.916 / 0.919 / 0.917, seeds 0-2,
    # bench/results/seeds_08_distillation_track_recipes.json): lesson 08 keeps ArcFace + the term.
    "lfw-distill": {**_LFW_TRACK, "model.backbone": "iresnet18", "model.width": 0.25,
                    "objective": "distill", "distill.teacher": "dlib", "distill.weight": 10.0,
                    "distill.relation_weight": 50.0, "model.dropout": 0.0},
    # The GPU box on a real web-face set: ArcFace's CASIA-WebFace setting (Deng et al.,
    # arXiv:1801.07698, Sec. 4.1: s=64, m=0.5, batch 512, SGD momentum 0.9, weight decay 5e-4,
    # lr 0.1 divided by 10 at 20k and 28k iterations, 32k in all = 20.9, 29.2 and 33.4 epochs of
    # CASIA's 490,623 images; their LResNet50E-IR is insightface's iresnet50), 112 px aligned
    # crops as insightface packs them (data.source=rec: $FACECOURSE_DATA/faces_webface_112x112/
    # train.rec), AMP and channels-last on CUDA, 8 DataLoader workers decoding the JPEGs, and
    # the .bin sets found beside train.rec measured every 2,000 steps (10-fold accuracy, as
    # insightface reports them). Many classes: --set head.partial_fc=0.3 (PartialFC). Several
    # GPUs: torchrun --nproc_per_node=N -m facecourse train --recipe casia-arcface (batch 512
    # is global). bench/gpu.py times it; on a CPU it runs (slowly) with the same code. Lessons
    # 03, 04 and 06 train it under the gpu profile (`webface_config`, below).
    "casia-arcface": {
        "model.backbone": "iresnet50", "model.image_size": 112, "model.embedding_dim": 512,
        "head.name": "arcface", "head.s": 64.0, "head.m": 0.5,
        "data.source": "rec", "data.workers": 8,
        "optim.name": "sgd", "optim.lr": 0.1, "optim.momentum": 0.9, "optim.weight_decay": 5e-4,
        "optim.schedule": "step", "optim.milestones": [20.9, 29.2], "optim.gamma": 0.1,
        "epochs": 33.4, "batch_size": 512, "amp": "auto", "channels_last": "auto",
        "val.every": 2000, "log_every": 100, "checkpoint_every": 2000,
    },
}


def get_recipe(name: str) -> dict:
    """The overrides of recipe `name` (a copy)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return dict(RECIPES[name])


# ---- the lessons' recipe: one function from a profile to a TrainConfig -------------------------
#
# Every lesson that trains a classifier builds its config here, so that lessons which train the
# same model get the same config (and `fit_cached` trains it once for the whole course: softmax
# is shared by lessons 01-03, ArcFace by 03, 06, 07 and 08).

def lesson_heads() -> dict:
    """The classification heads of the lessons, with margins sized for small runs.

    The papers' settings (ArcFace s=64, m=0.5; CosFace s=64, m=0.35) were tuned for ~10^4-10^5
    identities and ~10^5 steps. For the course's few hundred identities and ~2,000 steps we use
    s = 16 and smaller margins: measured on the laptop profile (`bench/calibrate_synthetic.py`,
    `bench/results/calibration.json`) s = 30 left the margin heads *behind* softmax after the
    same number of steps, s = 16 puts them ahead. NormFace's bound (Wang et al. 2017, Prop. 2)
    says s ~ 10-16 already allows a low loss for a few hundred classes.
    SphereFace is the normalized variant (s * psi(theta), as the ArcFace paper compares it) with
    the paper's lambda annealing (base 1000, gamma 0.12, floor 5: the floor is reached after
    ~1,700 steps, about the length of a laptop run).
    """
    from .config import HeadConfig
    return {
        "softmax": HeadConfig(name="softmax"),
        "NormFace": HeadConfig(name="normface", s=16.0),
        "SphereFace": HeadConfig(name="sphereface", s=16.0, m1=4,
                                 extra={"feature_norm": False}),
        "CosFace": HeadConfig(name="cosface", s=16.0, m=0.2),
        "ArcFace": HeadConfig(name="arcface", s=16.0, m=0.25),
    }


def lesson_config(profile, head="softmax", seed: int = 0, *, objective: str = "classification",
                  **fields):
    """The lessons' recipe for `profile` (a facecourse.Profile): every lesson's run starts here.

    `head` is a key of `lesson_heads()` or a HeadConfig. SGD at the profile's lr, half an epoch
    of warm-up, cosine decay, the profile's backbone, width, embedding size, image size,
    epochs, batch, device and AMP, `log_every=10`. `objective` names the objective (its
    settings go in its section: `triplet=TripletConfig(...)`).

    Keyword arguments set TrainConfig fields. For a section (model, head, data, optim,
    classification, triplet, siamese, distill) a dict changes only the fields it names, a
    dataclass replaces the section:
        lesson_config(profile, "CosFace", seed, model={"backbone": "iresnet18", "neck": "fc"},
                      optim={"warmup_epochs": 0, "warmup_steps": 10}, max_steps=100)
    """
    from .config import TrainConfig, apply_overrides
    head = _pick_head(head, lesson_heads(), "lesson")
    recipe = {**profile.train, "optim.warmup_epochs": 0.5, "objective": objective, "seed": seed,
              "log_every": 10}  # the profile's fields (profiles.TRAIN_FIELDS), then the lessons'
    cfg = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), recipe))
    cfg.head = head
    return _set_fields(cfg, fields, "lesson_config")


def _pick_head(head, heads: dict, what: str):
    """`head` itself when it is a HeadConfig, else the entry of `heads` it names."""
    from .config import HeadConfig
    if isinstance(head, HeadConfig):
        return head
    if head not in heads:
        raise KeyError(f"unknown {what} head {head!r}; choose one of {list(heads)} or pass a HeadConfig")
    return heads[head]


def _set_fields(cfg, fields: dict, caller: str):
    """Set TrainConfig fields on `cfg`: a dict for a section changes only the fields it names."""
    import dataclasses

    from .config import TrainConfig
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"{caller}(): unknown TrainConfig field(s) {unknown}; fields: "
                        f"{', '.join(sorted(known))}")
    for name, value in fields.items():
        if isinstance(value, dict) and dataclasses.is_dataclass(getattr(cfg, name)):
            value = dataclasses.replace(getattr(cfg, name), **value)
        setattr(cfg, name, value)
    return cfg


def real_config(profile, head="ArcFace", seed: int = 0, *, objective: str = "classification",
                **fields):
    """`lesson_config` for the lessons' "Real faces" sections: the same recipe at the profile's
    `real_size` (LFW and LAG photos, see `facecourse.data.lesson_lfw`), with the gradient norm
    clipped at 5 (real photos from scratch at lr 0.1 give a few large early gradients). Lessons
    that train the same real-face model get the same config, so `fit_cached` trains it once for
    the course: ArcFace on LFW DevTrain is lesson 00's, 03's, 06's stage 1, 07's, 10's and 11's.
    `fields` as in `lesson_config` (a `model` or `optim` dict is merged with these settings)."""
    model = fields.pop("model", {})
    optim = fields.pop("optim", {})
    if isinstance(model, dict):
        model = {"image_size": profile.real_size, **model}
    if isinstance(optim, dict):
        optim = {"clip_grad_norm": 5.0, **optim}
    return lesson_config(profile, head, seed, objective=objective, model=model, optim=optim, **fields)


# ---- the web-face sections (lessons 03, 04, 06 under the gpu profile) -------------------------

def webface_heads() -> dict:
    """The heads at the papers' own settings, for ~10^4 identities (CASIA-WebFace): softmax,
    CosFace s=64, m=0.35 (Wang et al., arXiv:1801.09414) and ArcFace s=64, m=0.5 (Deng et al.,
    arXiv:1801.07698), the comparison of the ArcFace paper's Table 2 (CASIA, ResNet-50)."""
    from .config import HeadConfig
    return {
        "softmax": HeadConfig(name="softmax"),
        "CosFace": HeadConfig(name="cosface", s=64.0, m=0.35),
        "ArcFace": HeadConfig(name="arcface", s=64.0, m=0.5),
    }


def webface_config(profile, head="ArcFace", seed: int = 0, **fields):
    """The `casia-arcface` recipe as the lessons' web-face sections run it under `profile`.

    The schedule is `profile.webface` of the paper's (1: 33.4 epochs of CASIA-WebFace, the lr
    divided by 10 at 20.9 and 29.2 epochs; 0.25: the same curve in a quarter of the steps).
    The gpu profile runs the recipe as it stands (IResNet-50, 112 px, batch 512, .bin sets
    measured every 2,000 steps); any other profile swaps in its own backbone, width, sizes and
    batch and measures at the end only, so that a tiny `.rec` trains in seconds on a CPU (the
    tests). `head`: a key of `webface_heads()` or a HeadConfig; `fields` as in `lesson_config`.
    """
    from .config import TrainConfig, apply_overrides
    share = float(profile.webface)
    if share <= 0:
        raise ValueError(f"webface_config: profile {profile.name!r} has webface={share}, so its "
                         "web-face sections are off; use the gpu profile or set FACECOURSE_WEBFACE "
                         "to a share of the schedule (e.g. 0.25)")
    head = _pick_head(head, webface_heads(), "web-face")
    recipe = get_recipe("casia-arcface")
    recipe["epochs"] = recipe["epochs"] * share
    recipe["optim.milestones"] = [e * share for e in recipe["optim.milestones"]]
    recipe.update({"seed": seed, "device": profile.device, "amp": profile.amp})
    if profile.name != "gpu":
        recipe.update({key: profile.train[key] for key in
                       ("model.backbone", "model.width", "model.embedding_dim", "batch_size")})
        recipe.update({"model.image_size": profile.real_size, "data.workers": 0, "val.every": 0,
                       "log_every": 10, "checkpoint_every": 100})
    cfg = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), recipe))
    cfg.head = head
    return _set_fields(cfg, fields, "webface_config")
