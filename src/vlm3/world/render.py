"""Exact analytic ray casting of a ``Scene`` in numpy: image, z-depth, ray length, instance ids.

One ray per pixel centre (OpenCV pixel convention: pixel (i, j) is centred at x = i, y = j).
Ray directions are ``R_world_from_cam @ K^-1 (x, y, 1)``, i.e. they have camera-z = 1, so the
hit parameter *is* the z-depth and ``ray_m = z * |K^-1 (x, y, 1)|``. Intersections are
closed-form in float64 (planes, yawed boxes by slabs, spheres and vertical cylinders by
quadratics); every primitive is tested only on the pixel rectangle that contains the
projection of its bounding box (all 8 corners in front of the camera -> the convex hull of
their projections bounds the object's image). Shading: procedural albedo x Lambert
(ambient + diffuse from a point light or the sun), no shadows. Invalid depth (sky) is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.world.scenes import Primitive, Scene
from vlm3.world.textures import albedo, fbm

EPS_T = 1e-6
_SKY_HORIZON = np.array([0.78, 0.85, 0.93])
_SKY_ZENITH = np.array([0.33, 0.52, 0.84])


@dataclass
class RenderOutput:
    """Per-pixel ground truth of one view.

    image: (H, W, 3) uint8 RGB. depth_z_m / ray_m: (H, W) float32 metres, 0 where no surface
    (sky). instance_id: (H, W) int32, -1 where no surface.
    """

    image: np.ndarray
    depth_z_m: np.ndarray
    ray_m: np.ndarray
    instance_id: np.ndarray


def _intersect(p: Primitive, ox, oy, oz, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """Nearest hit parameter t > EPS_T along o + t d (inf where the ray misses)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p.kind == "plane":
            n = [float(v) for v in p.normal]
            denom = n[0] * dx + n[1] * dy + n[2] * dz
            t = (p.offset - (n[0] * ox + n[1] * oy + n[2] * oz)) / denom
            return np.where(t > EPS_T, t, np.inf)
        cx, cy, cz = (float(v) for v in p.centre)
        px, py, pz = ox - cx, oy - cy, oz - cz
        if p.kind == "box":
            c, s = float(np.cos(p.yaw_rad)), float(np.sin(p.yaw_rad))
            lo = (c * px + s * py, -s * px + c * py, pz)
            ld = (c * dx + s * dy, -s * dx + c * dy, dz)
            tmin = tmax = None
            for k in range(3):
                h = 0.5 * float(p.size[k])
                inv = 1.0 / ld[k]
                t1 = (-h - lo[k]) * inv
                t2 = (h - lo[k]) * inv
                a, b = np.minimum(t1, t2), np.maximum(t1, t2)
                tmin = a if tmin is None else np.maximum(tmin, a)
                tmax = b if tmax is None else np.minimum(tmax, b)
            t = np.where(tmin > EPS_T, tmin, tmax)
            return np.where((tmax >= tmin) & (t > EPS_T), t, np.inf)
        r = 0.5 * float(p.size[0])
        if p.kind == "sphere":
            a = dx * dx + dy * dy + dz * dz
            b = px * dx + py * dy + pz * dz
            disc = b * b - a * (px * px + py * py + pz * pz - r * r)
            sq = np.sqrt(np.maximum(disc, 0.0))
            t0 = (-b - sq) / a
            t = np.where(t0 > EPS_T, t0, (-b + sq) / a)
            return np.where((disc >= 0) & (t > EPS_T), t, np.inf)
        # vertical cylinders (solid, or the inward-facing backdrop)
        a = dx * dx + dy * dy
        b = px * dx + py * dy
        disc = b * b - a * (px * px + py * py - r * r)
        sq = np.sqrt(np.maximum(disc, 0.0))
        half_h = 0.5 * float(p.size[2])
        if p.kind == "backdrop":
            t = (-b + sq) / a
            ok = (disc >= 0) & (t > EPS_T) & (np.abs(pz + t * dz) <= half_h)
            return np.where(ok, t, np.inf)
        t0 = (-b - sq) / a
        best = np.where((disc >= 0) & (t0 > EPS_T) & (np.abs(pz + t0 * dz) <= half_h), t0, np.inf)
        for zc in (half_h, -half_h):
            tc = (zc - pz) / dz
            xx = px + tc * dx
            yy = py + tc * dy
            ok = (tc > EPS_T) & (xx * xx + yy * yy <= r * r)
            best = np.minimum(best, np.where(ok, tc, np.inf))
        return best


def _bounds(prims: list[Primitive]) -> tuple[np.ndarray, np.ndarray]:
    """(P, 2, 3) world AABBs (NaN for unbounded primitives) and (P,) bool bounded."""
    out = np.full((len(prims), 2, 3), np.nan)
    for k, p in enumerate(prims):
        box = p.aabb()
        if box is not None:
            out[k, 0], out[k, 1] = box
    return out, ~np.isnan(out[:, 0, 0])


def _screen_rects(bounds: np.ndarray, R_cw: np.ndarray, t_cw: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pixel rectangles (P, 4) [x0, x1, y0, y1) bounding each primitive's image and the
    smallest camera z (P,) of its AABB corners. Unbounded primitives or boxes straddling the
    camera plane get the full image and z_min = 0; boxes wholly behind get an empty rect."""
    W, H = camera.width, camera.height
    sel = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    corners = np.stack([bounds[:, sel[:, 0], 0], bounds[:, sel[:, 1], 1], bounds[:, sel[:, 2], 2]], axis=-1)
    Xc = corners @ R_cw.T + t_cw                      # (P, 8, 3)
    z = Xc[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = camera.fx * Xc[..., 0] / z + camera.cx
        y = camera.fy * Xc[..., 1] / z + camera.cy
    lim = np.array([W, W, H, H])
    ext = np.stack([np.floor(np.fmin.reduce(x, axis=1)), np.floor(np.fmax.reduce(x, axis=1)) + 1,
                    np.floor(np.fmin.reduce(y, axis=1)), np.floor(np.fmax.reduce(y, axis=1)) + 1], axis=1)
    rects = np.clip(np.nan_to_num(ext, nan=0.0, posinf=1e9, neginf=-1e9), 0, lim).astype(np.int64)
    zmin = z.min(axis=1)
    straddle = np.isnan(zmin) | ((zmin <= 1e-9) & (z.max(axis=1) > 0))
    rects[straddle] = (0, W, 0, H)
    behind = ~np.isnan(zmin) & (z.max(axis=1) <= 0)
    rects[behind] = (0, 0, 0, 0)
    zmin = np.where(straddle, 0.0, zmin)
    return rects, zmin


def _surface(p: Primitive, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit normals (M, 3) and texture coordinates u, v (M,) in metres at hit points P (M, 3)."""
    if p.kind == "plane":
        n = p.normal
        N = np.broadcast_to(n, P.shape)
        if abs(n[2]) > 0.9:
            return N, P[:, 0], P[:, 1]
        h = np.cross([0.0, 0.0, 1.0], n)
        h /= np.linalg.norm(h)
        return N, P @ h.astype(P.dtype), P[:, 2]
    L = P - p.centre.astype(P.dtype)
    if p.kind == "box":
        c, s = float(np.cos(p.yaw_rad)), float(np.sin(p.yaw_rad))
        lx, ly, lz = c * L[:, 0] + s * L[:, 1], -s * L[:, 0] + c * L[:, 1], L[:, 2]
        half = [0.5 * float(v) for v in p.size]
        rx, ry, rz = np.abs(lx) / half[0], np.abs(ly) / half[1], np.abs(lz) / half[2]
        kx = (rx >= ry) & (rx >= rz)
        kz = ~kx & (rz >= ry)
        ky = ~kx & ~kz
        nx, ny, nz = np.sign(lx) * kx, np.sign(ly) * ky, np.sign(lz) * kz
        N = np.stack([c * nx - s * ny, s * nx + c * ny, nz], axis=1)
        u = np.where(kx, ly, lx) + 3.1 * ky + 1.7 * (nx + ny + nz)
        v = np.where(kz, ly + 6.2, lz + half[2])
        return N, u, v
    r = 0.5 * float(p.size[0])
    if p.kind == "sphere":
        N = L / r
        return N, r * np.arctan2(N[:, 1], N[:, 0]), L[:, 2]
    radial = np.hypot(L[:, 0], L[:, 1])
    ang = r * np.arctan2(L[:, 1], L[:, 0])
    side_n = np.stack([L[:, 0], L[:, 1], np.zeros(len(L))], axis=1) / np.maximum(radial, 1e-12)[:, None]
    if p.kind == "backdrop":
        return -side_n, ang, L[:, 2] + 0.5 * p.size[2]
    on_side = np.abs(radial - r) <= np.abs(np.abs(L[:, 2]) - 0.5 * p.size[2])
    cap_n = np.zeros_like(P)
    cap_n[:, 2] = np.sign(L[:, 2])
    N = np.where(on_side[:, None], side_n, cap_n)
    return N, np.where(on_side, ang, L[:, 0]), np.where(on_side, L[:, 2], L[:, 1])


def camera_rays_world(camera: Camera, T_cam_from_world: np.ndarray,
                      rect: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre (3,) and world ray directions (3, h, w) with camera-z = 1 for every pixel
    (or for the pixel rectangle ``rect`` = (x0, x1, y0, y1), end-exclusive)."""
    T = np.asarray(T_cam_from_world, dtype=np.float64)
    R_cw, t_cw = T[:3, :3], T[:3, 3]
    x0, x1, y0, y1 = rect if rect is not None else (0, camera.width, 0, camera.height)
    xs = (np.arange(x0, x1, dtype=np.float64) - camera.cx) / camera.fx
    ys = (np.arange(y0, y1, dtype=np.float64) - camera.cy) / camera.fy
    R_wc = R_cw.T
    D = (R_wc[:, 0, None, None] * xs[None, None, :] + R_wc[:, 1, None, None] * ys[None, :, None]
         + R_wc[:, 2, None, None])
    return -R_wc @ t_cw, D


def _sky(dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
    norm = np.sqrt(dx * dx + dy * dy + dz * dz)
    elev = np.clip(dz / norm, 0.0, 1.0)
    col = _SKY_HORIZON[None] * (1 - elev[:, None]) + _SKY_ZENITH[None] * elev[:, None]
    horiz = np.maximum(dz / norm, 0.05)
    cloud = fbm(dx / norm / horiz * 2.0, dy / norm / horiz * 2.0, 4242, 2)
    return col + 0.25 * np.clip(cloud - 0.45, 0.0, 1.0)[:, None]


def render_view(scene: Scene, camera: Camera, T_cam_from_world: np.ndarray, shade: bool = True) -> RenderOutput:
    """Render one view of ``scene`` (see ``RenderOutput``); ``shade=False`` skips the image.

    Visibility is resolved in a float32 pass (front-to-back with occlusion culling); then
    the depth of every pixel is recomputed in float64 from its winning primitive alone, so
    stored depth is exact to float precision (pixels whose float64 ray misses the float32
    winner, a grazing-silhouette case, are re-cast against all primitives in float64)."""
    if camera.dist is not None:
        raise ValueError("the world renderer only renders undistorted pinhole cameras")
    T = np.asarray(T_cam_from_world, dtype=np.float64)
    R_cw, t_cw = T[:3, :3], T[:3, 3]
    o, D = camera_rays_world(camera, T)
    D32 = D.astype(np.float32)
    ox, oy, oz = (float(v) for v in o)
    H, W = camera.height, camera.width
    tbest = np.full((H, W), np.inf, dtype=np.float32)
    if "prims" not in scene.cache:
        scene.cache["prims"] = scene.primitives()
        scene.cache["bounds"] = _bounds(scene.cache["prims"])
    prims = scene.cache["prims"]
    bounds, bounded = scene.cache["bounds"]
    # int16 primitive indices let numpy's stable argsort use a radix sort
    pbest = np.full((H, W), -1, dtype=np.int16 if len(prims) < 32000 else np.int64)
    rects, zmin = _screen_rects(bounds, R_cw, t_cw, camera)
    # unbounded planes first, then bounded primitives front to back, the backdrop last
    rank = np.where(bounded, zmin, -1.0)
    rank[[p.kind == "backdrop" for p in prims]] = np.inf
    for k in np.argsort(rank, kind="stable"):
        x0, x1, y0, y1 = rects[k]
        if x0 >= x1 or y0 >= y1:
            continue
        if bounded[k]:  # occlusion culling: shrink the rect to pixels whose current hit is farther
            need = tbest[y0:y1, x0:x1] > zmin[k] * (1 - 1e-5)
            rows = np.flatnonzero(need.any(axis=1))
            if rows.size == 0:
                continue
            cols = np.flatnonzero(need.any(axis=0))
            x0, x1, y0, y1 = x0 + cols[0], x0 + cols[-1] + 1, y0 + rows[0], y0 + rows[-1] + 1
        sl = (slice(y0, y1), slice(x0, x1))
        t = _intersect(prims[k], ox, oy, oz, D32[0][sl], D32[1][sl], D32[2][sl])
        better = t < tbest[sl]
        np.copyto(tbest[sl], t, where=better)
        np.copyto(pbest[sl], k, where=better)
    # exact float64 depth from each pixel's winning primitive (pixels sorted by primitive)
    flat_p = pbest.ravel()
    misses = None
    for _attempt in range(2):
        order = np.argsort(flat_p, kind="stable")
        counts = np.bincount(flat_p + 1, minlength=len(prims) + 1)
        Ds = D.reshape(3, -1)[:, order]
        t_sorted = np.full(H * W, np.inf)
        start = int(counts[0])
        for k in np.flatnonzero(counts[1:]):
            end = start + int(counts[k + 1])
            t_sorted[start:end] = _intersect(prims[k], o[0], o[1], o[2], Ds[0, start:end], Ds[1, start:end], Ds[2, start:end])
            start = end
        misses = order[counts[0]:][~np.isfinite(t_sorted[counts[0]:])]
        if misses.size == 0:
            break
        t_fix, _ = cast_rays(scene, np.broadcast_to(o, (misses.size, 3)), D.reshape(3, -1)[:, misses].T)
        pid = np.full(misses.size, -1)
        for k, p in enumerate(prims):  # recover the primitive index of the re-cast hits
            hit = np.isfinite(t_fix) & (pid < 0)
            if not hit.any():
                break
            tk = _intersect(p, o[0], o[1], o[2], *D.reshape(3, -1)[:, misses])
            pid[hit & (tk == t_fix)] = k
        flat_p = flat_p.copy()
        flat_p[misses] = pid
    tflat = np.empty(H * W)
    tflat[order] = t_sorted
    valid = np.isfinite(tflat)
    depth = np.where(valid, tflat, 0.0).reshape(H, W)
    dx, dy, dz = D[0], D[1], D[2]
    ray_scale = np.sqrt(dx * dx + dy * dy + dz * dz)
    inst_of_prim = np.array([p.instance_id for p in prims] + [-1], dtype=np.int32)
    inst = inst_of_prim[flat_p.reshape(H, W)]  # -1 -> last entry (-1)
    image = np.zeros((H, W, 3), dtype=np.uint8)
    if shade:
        image = _shade(scene, prims, o, Ds, t_sorted, order, counts, H, W)
    return RenderOutput(image, depth.astype(np.float32), (depth * ray_scale).astype(np.float32), inst)


def _shade(scene: Scene, prims: list[Primitive], o: np.ndarray, Ds: np.ndarray, t_sorted: np.ndarray,
           order: np.ndarray, counts: np.ndarray, H: int, W: int) -> np.ndarray:
    """Albedo x Lambert for every pixel, sky where no surface; (H, W, 3) uint8.

    Pixels come sorted by primitive (sky first): ``Ds`` (3, H*W) ray directions and
    ``t_sorted`` hit parameters in that order, so each primitive works on a contiguous slice."""
    n_sky = int(counts[0])
    d = Ds[:, n_sky:].T.astype(np.float32)
    P = (o[None, :] + t_sorted[n_sky:, None] * Ds[:, n_sky:].T).astype(np.float32)  # shading needs no float64
    M = len(P)
    N = np.empty((M, 3), dtype=np.float32)
    alb = np.empty((M, 3), dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(counts[1:])])
    for k in np.flatnonzero(counts[1:]):
        a, b = starts[k], starts[k + 1]
        N[a:b], u, v = _surface(prims[k], P[a:b])
        alb[a:b] = albedo(prims[k].texture, u, v)
    light = scene.light
    if light.kind == "point":
        Lv = light.vector.astype(np.float32)[None, :] - P
        ndotl = np.einsum("ij,ij->i", N, Lv) / np.sqrt(np.einsum("ij,ij->i", Lv, Lv))
    else:
        ndotl = N @ light.vector.astype(np.float32)
    facing = -np.sign(np.einsum("ij,ij->i", N, d))   # flip normals towards the camera
    lam = np.clip(ndotl * facing, 0.0, 1.0).astype(np.float32)
    rgb = np.empty((H * W, 3), dtype=np.float32)
    rgb[order[n_sky:]] = alb * (light.ambient + light.diffuse * lam)[:, None]
    if n_sky:
        sky = Ds[:, :n_sky]
        rgb[order[:n_sky]] = _sky(sky[0], sky[1], sky[2]) if scene.sky else 0.0
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).reshape(H, W, 3)


def unoccluded_pixels(scene: Scene, instance_id: int, camera: Camera, T_cam_from_world: np.ndarray) -> int:
    """Number of pixels object ``instance_id`` covers in this view if nothing occluded it."""
    T = np.asarray(T_cam_from_world, dtype=np.float64)
    prims = [p for p in scene.primitives() if p.instance_id == instance_id]
    if not prims:
        return 0
    bounds, _ = _bounds(prims)
    rects, _ = _screen_rects(bounds, T[:3, :3], T[:3, 3], camera)
    x0, x1 = rects[:, 0].min(), rects[:, 1].max()
    y0, y1 = rects[:, 2].min(), rects[:, 3].max()
    if x0 >= x1 or y0 >= y1:
        return 0
    o, D = camera_rays_world(camera, T, (x0, x1, y0, y1))
    hit = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for p in prims:
        hit |= np.isfinite(_intersect(p, o[0], o[1], o[2], D[0], D[1], D[2]))
    return int(hit.sum())


def cast_rays(scene: Scene, origins_world: np.ndarray, dirs_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hits of arbitrary rays: origins (N, 3) and directions (N, 3) in world metres.

    Returns (t (N,), instance_id (N,) int32): the hit point is ``origin + t * dir`` (t in
    units of the given direction's length; inf and -1 where nothing is hit).
    """
    O = np.asarray(origins_world, dtype=np.float64).reshape(-1, 3)
    Dd = np.asarray(dirs_world, dtype=np.float64).reshape(-1, 3)
    tbest = np.full(len(Dd), np.inf)
    ibest = np.full(len(Dd), -1, dtype=np.int32)
    for p in scene.primitives():
        t = _intersect(p, O[:, 0], O[:, 1], O[:, 2], Dd[:, 0], Dd[:, 1], Dd[:, 2])
        better = t < tbest
        tbest = np.where(better, t, tbest)
        ibest = np.where(better, p.instance_id, ibest)
    return tbest, ibest
