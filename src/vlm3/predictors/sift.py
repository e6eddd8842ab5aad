"""The classical baseline: OpenCV SIFT + Lowe ratio test + RANSAC.

Pose: RootSIFT keypoints of both views, mutual nearest neighbours passing the ratio test, an essential matrix
estimated by RANSAC on focal-normalised coordinates, ``cv2.recoverPose`` for R and the
unit translation direction (SuperGlue's evaluation recipe).

Correspondence: the same matches, then for each query pixel a local transform fitted to the
matched keypoints nearest to it in image 1 (RANSAC homography when there are enough
neighbours, else a RANSAC affine map, else a global homography); the query is carried
through that transform into image 2.

Everything here works in the pixel coordinates of the images it is given (OpenCV
convention, x = column, y = row). Relative pose convention: ``T_cam1_from_cam0`` maps
camera-0 points into camera 1; the returned ``t`` is unit-length (SIFT has no scale).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.io.images import read_rgb
from vlm3.predictors.base import Prediction, Request
from vlm3.protocol import codecs
from vlm3.tasks.correspondence import TASK as CORRESPONDENCE
from vlm3.tasks.pose import TASK as POSE


@dataclass(frozen=True)
class SiftMatches:
    """Ratio-test matches between two images.

    Attributes:
        xy0_px: (N, 2) float64 keypoints in image 0 (pixels).
        xy1_px: (N, 2) float64 matching keypoints in image 1 (pixels).
    """

    xy0_px: np.ndarray
    xy1_px: np.ndarray

    def __len__(self) -> int:
        return int(self.xy0_px.shape[0])


@dataclass(frozen=True)
class SiftPose:
    """Relative pose from SIFT + RANSAC.

    Attributes:
        R_cam1_from_cam0: (3, 3) rotation mapping camera-0 directions into camera 1.
        t_cam1_from_cam0_unit: (3,) unit translation direction (scale unknown).
        num_matches: ratio-test matches found.
        num_inliers: RANSAC inliers that survived the cheirality check.
    """

    R_cam1_from_cam0: np.ndarray
    t_cam1_from_cam0_unit: np.ndarray
    num_matches: int
    num_inliers: int


def _gray(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return img


def match_sift(
    image0: np.ndarray, image1: np.ndarray, ratio: float = 0.8, max_keypoints: int = 8000
) -> SiftMatches:
    """RootSIFT keypoints of both images, mutual nearest neighbours passing Lowe's ratio test.

    Args:
        image0, image1: (H, W, 3) RGB uint8 or (H, W) grayscale images.
        ratio: keep a match when best distance < ratio * second-best distance.
        max_keypoints: keypoint cap per image (strongest first).
    Returns:
        SiftMatches with (N, 2) pixel coordinates in each image (N may be 0).
    """
    sift = cv2.SIFT_create(nfeatures=max_keypoints)
    kp0, des0 = sift.detectAndCompute(_gray(image0), None)
    kp1, des1 = sift.detectAndCompute(_gray(image1), None)
    empty = SiftMatches(np.zeros((0, 2)), np.zeros((0, 2)))
    if des0 is None or des1 is None or len(kp0) < 2 or len(kp1) < 2:
        return empty
    des0, des1 = _root_sift(des0), _root_sift(des1)
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    back = {m.queryIdx: m.trainIdx for m in matcher.match(des1, des0)}
    good = [
        m[0]
        for m in matcher.knnMatch(des0, des1, k=2)
        if len(m) == 2 and m[0].distance < ratio * m[1].distance and back.get(m[0].trainIdx) == m[0].queryIdx
    ]
    if not good:
        return empty
    xy0 = np.array([kp0[m.queryIdx].pt for m in good], dtype=np.float64)
    xy1 = np.array([kp1[m.trainIdx].pt for m in good], dtype=np.float64)
    return SiftMatches(xy0, xy1)


def _root_sift(des: np.ndarray) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise, then square-root."""
    des = des / (np.abs(des).sum(axis=1, keepdims=True) + 1e-7)
    return np.sqrt(des).astype(np.float32)


def estimate_relative_pose(
    matches: SiftMatches,
    K0: np.ndarray,
    K1: np.ndarray,
    ransac_thresh_px: float = 1.0,
    confidence: float = 0.99999,
) -> SiftPose | None:
    """Essential-matrix RANSAC on focal-normalised matches, then ``cv2.recoverPose``.

    Args:
        matches: ratio-test matches (pixels of the images K0 / K1 refer to).
        K0, K1: (3, 3) intrinsics of image 0 and image 1.
        ransac_thresh_px: inlier threshold in pixels (divided by the mean focal length).
        confidence: RANSAC confidence.
    Returns:
        SiftPose, or None when fewer than 5 matches or RANSAC finds no model (degenerate matches
        included: OpenCV 5's solver raises on them).
    """
    if len(matches) < 5:
        return None
    cv2.setRNGSeed(0)  # deterministic RANSAC
    K0 = np.asarray(K0, dtype=np.float64)
    K1 = np.asarray(K1, dtype=np.float64)
    n0 = cv2.undistortPoints(matches.xy0_px.reshape(-1, 1, 2), K0, None).reshape(-1, 2)
    n1 = cv2.undistortPoints(matches.xy1_px.reshape(-1, 1, 2), K1, None).reshape(-1, 2)
    f_mean = float(np.mean([K0[0, 0], K0[1, 1], K1[0, 0], K1[1, 1]]))
    try:
        E, mask = cv2.findEssentialMat(
            n0, n1, np.eye(3), method=cv2.RANSAC, prob=confidence, threshold=ransac_thresh_px / f_mean
        )
    except cv2.error:  # OpenCV 5 asserts in its polynomial solver on degenerate matches (no motion, a line)
        return None
    if E is None or mask is None:
        return None
    best: SiftPose | None = None
    for E_i in np.split(E, len(E) // 3):  # findEssentialMat may return several stacked 3x3
        n_in, R, t, _ = cv2.recoverPose(E_i, n0, n1, np.eye(3), mask=mask.copy())
        if best is None or n_in > best.num_inliers:
            t_unit = t.reshape(3) / max(np.linalg.norm(t), 1e-12)
            best = SiftPose(R.astype(np.float64), t_unit.astype(np.float64), len(matches), int(n_in))
    return best


def _fit_local(src: np.ndarray, dst: np.ndarray, ransac_px: float) -> np.ndarray | None:
    """3x3 map src->dst: homography when >= 8 points agree, else affine; None if neither."""
    if len(src) >= 8:
        H, inl = cv2.findHomography(src, dst, cv2.RANSAC, ransac_px)
        if H is not None and inl is not None and int(inl.sum()) >= 6 and abs(np.linalg.det(H)) > 1e-8:
            return H
    if len(src) >= 3:
        A, inl = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=ransac_px)
        if A is not None:
            return np.vstack([A, [0.0, 0.0, 1.0]])
    return None


def _apply(H: np.ndarray, xy: np.ndarray) -> np.ndarray:
    p = np.c_[xy, np.ones(len(xy))] @ H.T
    w = np.where(np.abs(p[:, 2:3]) < 1e-12, 1e-12, p[:, 2:3])
    return p[:, :2] / w


def transfer_points(
    matches: SiftMatches, query_xy0_px: np.ndarray, k_neighbors: int = 24, ransac_px: float = 4.0
) -> np.ndarray:
    """Carry query pixels of image 0 into image 1 through local fits to SIFT matches.

    Args:
        matches: ratio-test matches between image 0 and image 1.
        query_xy0_px: (Q, 2) query pixels in image 0.
        k_neighbors: matched keypoints (nearest to the query in image 0) per local fit.
        ransac_px: RANSAC reprojection threshold in image-1 pixels.
    Returns:
        (Q, 2) float64 pixels in image 1; NaN rows where no transform could be fitted
        (fewer than 3 matches in total).
    """
    q = np.asarray(query_xy0_px, dtype=np.float64).reshape(-1, 2)
    out = np.full_like(q, np.nan)
    if len(matches) < 3:
        return out
    H_global = _fit_local(matches.xy0_px, matches.xy1_px, ransac_px)
    d2 = ((q[:, None, :] - matches.xy0_px[None, :, :]) ** 2).sum(-1)  # (Q, N)
    k = min(k_neighbors, len(matches))
    nearest = np.argsort(d2, axis=1)[:, :k]
    for i in range(len(q)):
        idx = nearest[i]
        H = _fit_local(matches.xy0_px[idx], matches.xy1_px[idx], ransac_px)
        H = H if H is not None else H_global
        if H is not None:
            out[i] = _apply(H, q[i : i + 1])[0]
    return out


class SiftPredictor:
    """The SIFT baseline behind the predictor interface (tasks: correspondence, pose).

    Reads the question inputs of a Request (``queries``: query pixels; ``cameras``: the two
    intrinsics), never answers, and renders its estimates through the task units (so in
    the requests' text format). Pose answers render ``T_cam1_from_cam0`` with the unit
    direction times ``distance_m`` (SIFT has no scale: the trivial baseline's mean training
    distance when the harness fitted one, else 1 m). Too few matches -> an answer saying so,
    which fails to parse and is counted as a failure.
    """

    name = "sift"
    tasks = ("correspondence", "pose")

    def __init__(self, ratio: float = 0.8, ransac_thresh_px: float = 1.0, distance_m: float = 1.0) -> None:
        self.ratio = float(ratio)
        self.ransac_thresh_px = float(ransac_thresh_px)
        self.distance_m = float(distance_m)

    def fingerprint(self) -> str:
        return f"sift|opencv{cv2.__version__}|{self.ratio}|{self.ransac_thresh_px}|{self.distance_m:.4f}"

    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            im0, im1 = (read_rgb(p) for p in r.images[:2])
            m = match_sift(im0, im1, self.ratio)
            answer = {"correspondence": self._corr, "pose": self._pose}[r.task]  # the two tasks SIFT does
            texts = answer(r, m, im1.shape)
            out.append(Prediction(r.id, texts, time.perf_counter() - t0))
        return out

    def _corr(self, r: Request, m: SiftMatches, shape1: tuple[int, ...]) -> list[str]:
        q = np.array([x["query_xy_px"] for x in r.queries][: len(r.questions)], dtype=np.float64)
        xy1 = transfer_points(m, q)
        h, w = shape1[:2]
        texts = []
        for p in xy1:
            if not np.all(np.isfinite(p)):
                texts.append(f"SIFT found {len(m)} matches: too few to transfer the point.")
                continue
            p = np.clip(p, -0.5, [w - 0.5, h - 0.5])
            texts.append(CORRESPONDENCE.answer(r, codecs.encode_xy_norm1000(p, w, h)))
        return texts

    def _pose(self, r: Request, m: SiftMatches, shape1: tuple[int, ...]) -> list[str]:
        K0, K1 = (Camera.from_dict(c).K for c in r.cameras[:2])
        est = estimate_relative_pose(m, K0, K1, self.ransac_thresh_px)
        if est is None:
            n = len(r.question_ids or r.questions)
            return [f"SIFT found {len(m)} matches: no pose estimate."] * n
        T = np.eye(4)
        T[:3, :3] = est.R_cam1_from_cam0
        T[:3, 3] = est.t_cam1_from_cam0_unit * self.distance_m
        return POSE.answers_from_T_cam1_from_cam0(r, T)
