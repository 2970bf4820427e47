"""Vectorised face renderer: signed-distance shapes on a pixel grid, one batch at a time.

Every quantity in `geometry` is a tensor of shape (B,) (colours (B, 3)). Face features live in
canonical face coordinates (u, v): u to the viewer's right, v down, the face centred at u=0,
both in units of half the image side, laid out like the ArcFace 112x112 crop (eyes near
v=-0.08, mouth near v=0.65). Pose is applied by mapping each screen pixel back to (u, v)
through a vertical cylinder (yaw) and a horizontal one (pitch), so a turned face shows its
near cheek and hides the far one. Anti-aliasing: every shape is an approximate signed
distance d (in image units) turned into coverage clamp(0.5 - d * H / 2, 0, 1).
Taught in lesson 00 (data).
"""
from __future__ import annotations

import math

import torch

Geometry = dict  # name -> tensor (B,) or (B, 3)


def _cov(d: torch.Tensor, px) -> torch.Tensor:
    """Coverage of a shape from its signed distance d (negative inside); edges px wide
    (one pixel, or more for a blurred image; a float or (B, 1, 1))."""
    return (d * (-1.0 / px)).add_(0.5).clamp_(0.0, 1.0)


def _ellipse(u, v, cu, cv, a, b):
    """Approximate signed distance to the ellipse centred (cu, cv) with semi-axes (a, b)."""
    du = (u - cu) * (1 / a) if isinstance(cu, torch.Tensor) or cu else u * (1 / a)
    dv = (v - cv) * (1 / b) if isinstance(cv, torch.Tensor) or cv else v * (1 / b)
    k = du.square_().add_(dv.square_()).sqrt_()
    return k.sub_(1.0).mul_(torch.minimum(a, b))


def _bump(x: torch.Tensor) -> torch.Tensor:
    """A smooth bump (1 - x^2)^2 on |x| < 1, 0 outside; a cheap stand-in for exp(-x^2)."""
    return (1 - x.square()).clamp_(min=0).square_()


def _over(img, alpha, colour):
    """Composite `colour` (B, 3) over `img` (B, 3, H, W) with coverage alpha (B, H, W), in place."""
    return img.lerp_(colour[:, :, None, None].expand_as(img), alpha[:, None])


def _c(t: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1) for broadcasting against a (B, H, W) grid."""
    return t[:, None, None]


def screen_to_face(g: Geometry, size: int):
    """Map the pixel grid to canonical face coordinates. Returns (u, v, xr, yr), each (B, H, W)."""
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
    Y, X = torch.meshgrid(t, t, indexing="ij")  # (H, W)
    cr, sr = torch.cos(g["roll"]) / g["scale"], torch.sin(g["roll"]) / g["scale"]  # undo roll and zoom
    xr = _c(cr) * X + (_c(sr) * Y).sub_(_c(cr * g["tx"] + sr * g["ty"]))  # (B, H, W)
    yr = _c(cr) * Y - (_c(sr) * X).sub_(_c(sr * g["tx"] - cr * g["ty"]))
    R, Rv, fcy = _c(g["fw"] * 1.12), _c(g["fh"] * 1.3), _c(g["fcy"])
    # u = R sin(asin(x / R) - yaw), written without trigonometry on the grid
    cy, sy = _c(torch.cos(g["yaw"])), _c(torch.sin(g["yaw"]))
    depth = (R.square() - xr.square()).clamp_(min=0).sqrt_()  # (B, H, W)
    u = xr * cy - depth * sy
    yy = yr - fcy
    cp, sp = _c(torch.cos(g["pitch"])), _c(torch.sin(g["pitch"]))
    v = yy * cp - (Rv.square() - yy.square()).clamp_(min=0).sqrt_() * sp + fcy
    # off the head's cylinders, or past the far limb of a turned head: no face there
    outside = (xr.abs() >= R) | (-xr * torch.sign(sy) > R * cy) | (yy.abs() >= Rv)
    u.masked_fill_(outside, 10.0)
    return u, v, xr, yr


def face_to_screen(g: Geometry, u: torch.Tensor, v: torch.Tensor, size: int) -> torch.Tensor:
    """Forward map of canonical points u, v (B, K) to pixel coordinates (B, K, 2) (x, y)."""
    R, Rv, fcy = g["fw"][:, None] * 1.12, g["fh"][:, None] * 1.3, g["fcy"][:, None]
    x = R * torch.sin(torch.asin((u / R).clamp(-1, 1)) + g["yaw"][:, None])
    y = Rv * torch.sin(torch.asin(((v - fcy) / Rv).clamp(-1, 1)) + g["pitch"][:, None]) + fcy
    x, y = x * g["scale"][:, None], y * g["scale"][:, None]
    cr, sr = torch.cos(g["roll"])[:, None], torch.sin(g["roll"])[:, None]
    X, Y = cr * x - sr * y + g["tx"][:, None], sr * x + cr * y + g["ty"][:, None]
    return torch.stack([(X + 1) * size / 2 - 0.5, (Y + 1) * size / 2 - 0.5], dim=-1)


def landmarks5(g: Geometry, size: int) -> torch.Tensor:
    """The five ArcFace landmarks (eye centres, nose tip, mouth corners) in pixels: (B, 5, 2)."""
    z = torch.zeros_like(g["ex"])
    nose_u = g["nose_depth"] * torch.tan(g["yaw"])  # a protruding tip shifts with yaw
    corner_v = g["my"] - g["smile"] * 0.06
    u = torch.stack([-g["ex"], g["ex"], z + nose_u, -g["mw"] * 0.95, g["mw"] * 0.95], 1)
    v = torch.stack([g["ey"], g["ey"], g["ny"], corner_v, corner_v], 1)
    return face_to_screen(g, u, v, size)


class _Canvas:
    """The image being drawn and its face coordinates, or a band of rows / subset of images of it.

    Features are drawn on the smallest band of rows that holds them in every image of the batch
    (and only on the images that have them: glasses, beards, moles, wrinkles), which makes the
    renderer several times faster than drawing every shape on the full grid."""

    def __init__(self, img, u, v, g, size, rows=slice(None), sel=None):
        self.img, self.u, self.v, self.g, self.size = img, u, v, g, size
        # one pixel in image units, widened by the per-image blur ("edge" softness >= 1)
        self.rows, self.sel, self.au, self.px = rows, sel, u.abs(), _c(g["edge"]) * (2.0 / size)

    def crop(self, u_half, v0, v1, sel=None) -> "_Canvas":
        """The rows holding the canonical box |u| <= u_half, v0 <= v <= v1, for images `sel`."""
        g = self.g if sel is None else {k: t[sel] for k, t in self.g.items()}
        u_half, v0, v1 = (torch.broadcast_to(torch.as_tensor(t, dtype=torch.float32), g["fw"].shape)
                          for t in (u_half, v0, v1))
        corners_u = torch.stack([-u_half, u_half, -u_half, u_half], 1)
        y = face_to_screen(g, corners_u, torch.stack([v0, v0, v1, v1], 1), self.size)[..., 1]
        rows = slice(max(0, int(y.min()) - 2), min(self.size, int(y.max()) + 3))
        if sel is None:
            return _Canvas(self.img[:, :, rows], self.u[:, rows], self.v[:, rows], g, self.size, rows)
        img = self.img[:, :, rows].index_select(0, sel)  # index_select: far faster than t[sel]
        u, v = self.u[:, rows].index_select(0, sel), self.v[:, rows].index_select(0, sel)
        return _Canvas(img, u, v, g, self.size, rows, sel)

    def commit(self, band: "_Canvas") -> None:
        """Write a band drawn on a subset of images back (bands of all images are views)."""
        if band.sel is not None:
            self.img[:, :, band.rows].index_copy_(0, band.sel, band.img)


def _grey(c: _Canvas, level: float) -> torch.Tensor:
    return torch.full((c.img.shape[0], 3), level)


def _head(c: _Canvas, xr, yr):
    """Background, long hair, neck, ears, face, hair on top. Returns the foreground coverage."""
    g, u, v, au, px = c.g, c.u, c.v, c.au, c.px
    fcy, fw, fh = _c(g["fcy"]), _c(g["fw"]), _c(g["fh"])
    t = ((xr * _c(torch.cos(g["bg_angle"])) + yr * _c(torch.sin(g["bg_angle"])) + 1.5) / 3).clamp(0, 1)
    c.img[:] = g["bg1"][:, :, None, None]
    _over(c.img, t, g["bg2"])  # a two-colour gradient
    neck = _cov(torch.maximum(xr.abs() - fw * 0.55, fcy + 0.2 - yr), px)
    # long hair behind the head: screen space, it does not turn with the face
    hair_back = _cov(_ellipse(xr, yr, 0.0, fcy - 0.05, fw * 1.25, _c(g["fh"] * (0.95 + 0.35 * g["hair_long"]))), px)
    hair_back.mul_(_c((g["hair_long"] > 0.3).float()))
    _over(c.img, hair_back, g["hair"] * 0.8)
    fg = torch.maximum(neck, hair_back)
    _over(c.img, neck, g["skin"] * 0.78)
    ears = _cov(_ellipse(au, v, fw * 0.98, _c(g["ey"] + 0.1), _c(0.08 * g["ear"]), _c(0.16 * g["ear"])), px)
    _over(c.img, ears, g["skin"] * 0.9)
    width = fw * (1 - _c(g["jaw"]) * ((v - fcy) / fh).clamp(0, 1).square())  # the jaw narrows the lower half
    face = _cov(_ellipse(u, v, 0.0, fcy, width, fh), px)
    _over(c.img, face, g["skin"])
    # hair on top: inside a slightly larger head ellipse and above the (per-identity) hairline
    hairline = _c(g["hairline"]) + _c(g["hair_curve"]) * u.square() + _c(g["recede"]) * _bump(
        (au - fw * 0.45) * (1 / 0.2))
    side = (au - fw * 0.88) * 3 * _c(g["hair_long"])  # long hair comes down the sides
    top = _cov(torch.maximum(_ellipse(u, v, 0.0, fcy - 0.03, fw * 1.08, fh * 1.07),
                             torch.minimum(v - hairline, -side)), px)
    return torch.maximum(torch.maximum(fg, face), top), face, top


def _marks(c: _Canvas, face):
    """Identity marks and age: beard, forehead lines, nasolabial folds, a mole."""
    g = c.g
    beard = torch.nonzero(g["beard"] > 0)[:, 0]
    if len(beard):
        b = c.crop(g["fw"][beard], g["ny"][beard], g["fcy"][beard] + g["fh"][beard], beard)
        rows = face[beard][:, b.rows]
        a = rows * ((b.v - _c(b.g["ny"] + 0.02)) * 8).clamp(0, 1) * (1 - (b.au / _c(b.g["fw"])) ** 4).clamp(0, 1)
        _over(b.img, a * _c(b.g["beard"] * 0.75), b.g["hair"] * 0.6)
        c.commit(b)
    old = torch.nonzero(g["wrinkles"] > 0)[:, 0]
    if len(old):
        w = c.crop(g["fw"][old], g["hairline"][old], g["my"][old] + 0.08, old)
        wg, v, au, px = w.g, w.v, w.au, w.px
        brow_v = _c(wg["ey"] - wg["by"])
        forehead = ((brow_v - 0.06 - v) / px).clamp(0, 1) * ((v - _c(wg["hairline"]) - 0.04) / px).clamp(0, 1)
        lines = torch.cos((v - brow_v) * (2 * math.pi / 0.1)).clamp(min=0) ** 6
        spread = (1 - (au / _c(wg["fw"] * 0.7)).square()).clamp(0, 1)
        _over(w.img, forehead * lines * spread * _c(wg["wrinkles"] * 0.55), wg["skin"] * 0.55)
        fold_u = _c(wg["nw"]) * 1.25 + (v - _c(wg["ny"])) * 0.3
        in_fold = ((v - _c(wg["ny"] - 0.04)) / px).clamp(0, 1) * ((_c(wg["my"] + 0.06) - v) / px).clamp(0, 1)
        _over(w.img, _cov((au - fold_u).abs() - 0.012, px) * in_fold * _c(wg["wrinkles"] * 0.6), wg["skin"] * 0.6)
        c.commit(w)
    moles = torch.nonzero(g["mole_r"] > 0)[:, 0]
    if len(moles):
        m = c.crop(g["mole_u"][moles].abs() + 0.05, g["mole_v"][moles] - 0.05, g["mole_v"][moles] + 0.05, moles)
        d = torch.sqrt((m.u - _c(m.g["mole_u"])).square() + (m.v - _c(m.g["mole_v"])).square()) - _c(m.g["mole_r"])
        _over(m.img, _cov(d, m.px) * 0.85, torch.tensor([0.25, 0.15, 0.1]).expand(len(moles), 3))
        c.commit(m)


def _eyes(c: _Canvas):
    """Sclera, iris, pupil, upper lid and brow; |u| draws both eyes in one pass."""
    g = c.g
    brow_top = g["ey"] - g["by"] - g["bang"].abs() * g["ew"] * 1.3 - g["bt"] - 0.03  # slanted brows
    e = c.crop(g["ex"] + g["ew"] * 1.4, brow_top, g["ey"] + g["eh"] + 0.04)
    eg, px = e.g, e.px
    eu = e.au - _c(eg["ex"])
    ev = e.v - _c(eg["ey"]) + _c(eg["etilt"]) * eu
    ew, eh = _c(eg["ew"]), _c(eg["eh"])
    ev_lid = ev + 0.333 * ev.clamp(min=0)  # the lower lid is flatter than the upper one
    sclera_d = _ellipse(eu, ev_lid, 0.0, 0.0, ew, eh)
    sclera = _cov(sclera_d, px)
    _over(e.img, sclera, torch.tensor([0.93, 0.92, 0.88]).expand(len(eu), 3))
    r = torch.sqrt(eu.square() + ev.square())
    r_iris = torch.minimum(ew * 0.55, eh * 1.4)
    _over(e.img, _cov(r - r_iris, px) * sclera, eg["iris"])
    _over(e.img, _cov(r - r_iris * 0.45, px) * sclera, _grey(e, 0.05))
    lid = _cov(sclera_d.abs() - 0.01, px) * ((0.005 - ev) / px).clamp(0, 1)
    _over(e.img, lid * 0.85, eg["skin"] * 0.3)
    bv = e.v - _c(eg["ey"] - eg["by"]) + _c(eg["bang"]) * eu + 0.35 * eu.square()  # slanted, arched
    _over(e.img, _cov(_ellipse(eu, bv, 0.0, 0.0, ew * 1.3, _c(eg["bt"])), px) * 0.9, eg["hair"] * 0.7)


def _nose_mouth(c: _Canvas):
    """Nose (shaded side away from the light, nostrils, tip) and lips bent by the expression."""
    g = c.g
    shift = g["nose_depth"] * torch.tan(g["yaw"])  # a protruding nose moves with yaw
    n = c.crop(shift.abs() + g["nw"] * 1.2, g["ey"], g["ny"] + 0.06)
    ng, v, px = n.g, n.v, n.px
    nw, ny, ey = _c(ng["nw"]), _c(ng["ny"]), _c(ng["ey"])
    un = n.u - _c(shift) * ((v - ey) / (ny - ey)).clamp(0, 1)
    side = _c(torch.sign(ng["light"][:, 0] + 1e-3))
    bridge = _bump((un + side * nw * 0.55) * (1 / 0.06)) * ((ny - v) / px).clamp(0, 1) * ((v - ey) / px).clamp(0, 1)
    _over(n.img, bridge * 0.3, ng["skin"] * 0.5)
    _over(n.img, _cov(_ellipse(un.abs(), v, nw * 0.5, ny + 0.015, nw * 0.28, nw * 0.16), px) * 0.8, ng["skin"] * 0.3)
    _over(n.img, _cov(_ellipse(un, v, 0.0, ny - 0.01, nw * 0.7, nw * 0.35), px) * 0.25, ng["skin"] * 1.15)
    half = g["mt"] * (1 + g["mopen"]) + 0.07
    m = c.crop(shift.abs() + g["mw"] * 1.1, g["my"] - half, g["my"] + half)
    mg = m.g
    mw, mt = _c(mg["mw"]), _c(mg["mt"])
    mu = m.u - _c(shift * 0.4)
    mv = m.v - _c(mg["my"]) + _c(mg["smile"] * 0.06) * (mu / mw).square()
    lips = _cov(_ellipse(mu, mv, 0.0, 0.0, mw, mt * (1 + _c(mg["mopen"]))), px)
    _over(m.img, lips, mg["lip"])
    opening = _cov(_ellipse(mu, mv, 0.0, 0.0, mw * 0.8, mt * _c(mg["mopen"]) * 0.85 + 0.004), px)
    _over(m.img, opening * lips, _grey(m, 0.12))


def _glasses(c: _Canvas):
    """Round-to-rectangular rims, a tinted lens, a bridge and the temple arms."""
    sel = torch.nonzero(c.g["glasses"] > 0)[:, 0]
    if not len(sel):
        return
    gh_all = c.g["eh"][sel] * 2.4 + 0.03
    b = c.crop(c.g["fw"][sel] * 1.05, c.g["ey"][sel] - gh_all - 0.02, c.g["ey"][sel] + gh_all + 0.02, sel)
    bg, au, v, px = b.g, b.au, b.v, b.px
    ex, gw, gh = _c(bg["ex"]), _c(bg["ex"] * 0.62), _c(bg["eh"] * 2.4 + 0.03)
    eu, ev = au - ex, v - _c(bg["ey"])
    k_round = torch.sqrt((eu / gw).square() + (ev / gh).square())
    k_rect = torch.maximum(eu.abs() / gw, ev.abs() / gh)
    k = k_round + _c(bg["glasses_shape"]) * (k_rect - k_round)
    rim = _cov((k - 1).abs() * gh - 0.012, px)
    bridge = _cov(torch.maximum(au - ex + gw * 0.95, (ev + gh * 0.3).abs() - 0.012), px)
    arms = _cov(torch.maximum((ev + gh * 0.4).abs() - 0.01, torch.maximum(ex + gw - au, au - _c(bg["fw"]) * 1.02)), px)
    _over(b.img, _cov((k - 1) * gh, px) * 0.18, _grey(b, 0.3))
    _over(b.img, torch.maximum(torch.maximum(rim, bridge), arms), bg["glasses_colour"])
    c.commit(b)


def render(g: Geometry, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a batch of faces. Returns images float (B, 3, H, W) in [0, 1] and the foreground
    coverage (B, H, W) (head, hair and neck)."""
    u, v, xr, yr = screen_to_face(g, size)
    img = torch.empty(u.shape[0], 3, size, size)
    c = _Canvas(img, u, v, g, size)
    fg, face, top = _head(c, xr, yr)
    _marks(c, face)
    _over(img, top, g["hair"])
    _eyes(c)
    _nose_mouth(c)
    # lighting: Lambert on an ellipsoidal head, ambient + directional, tinted by the light colour
    L = g["light"]
    nx = (xr / _c(g["fw"] * 1.15)).clamp(-1, 1)
    ny = ((yr - _c(g["fcy"])) / _c(g["fh"] * 1.25)).clamp(-1, 1)
    nz = (1 - nx.square() - ny.square()).clamp(min=0.05).sqrt()
    lam = (nx * _c(L[:, 0]) + ny * _c(L[:, 1]) + nz * _c(L[:, 2])).clamp(min=0)
    shade = _c(g["ambient"]) + _c(g["strength"]) * lam  # (B, H, W)
    img.mul_((1 + fg * (shade - 1))[:, None]).mul_(g["light_colour"][:, :, None, None])
    _glasses(c)
    return img.clamp_(0, 1), fg
