"""Pluggable single-image calibration for views that come without intrinsics.

Policies (``calibration:`` in the data config):

- ``"none"`` (default): a view without K is refused with a reason saying how to fix it.
- ``"anycalib"``: AnyCalib (Tirado-Garin & Civera 2025; the model the VLM3 paper used for
  in-the-wild images) predicts fx, fy, cx, cy. Optional: install it from its repository
  (see docs/data.md); when it is not importable the record is refused with that reason.
- ``"anycalib|fov<deg>"``: AnyCalib when it is installed, else the stated ``fov<deg>`` guess
  (labels say which: ``calibrated:anycalib`` or ``fallback:fov60 (AnyCalib not installed)``).
- ``"fov<deg>"`` (e.g. ``"fov60"``): an explicit, stated guess -- square pixels, principal
  point at the image centre, horizontal field of view <deg> degrees. Labels built from such
  views carry ``camera_from: "fallback:fov60"`` so they can be filtered later.

- ``"model:<DIR>"``: a vlm3 model trained on the calibration task (``vlm3.tasks.calibration``)
  is asked "what is the horizontal field of view of this image?"; its answer becomes the camera
  as ``fov<deg>`` would (square pixels, centred principal point). Labels say
  ``calibrated:model:<DIR>``. The model lives in a higher layer (``vlm3.infer``), which provides
  the policy with `register_policy`; the ``vlm3`` command line registers it for ``vlm3 data`` /
  ``vlm3 eval`` / ``vlm3 demo`` (``vlm3.infer.api.register_model_calibration`` in Python).

A calibrator is any callable ``(image (H, W, 3) uint8) -> Camera``; ``get_calibrator``
resolves a policy name to one (``None`` for "none").
"""

from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

from vlm3.io.records import RecordError
from vlm3.geometry.camera import Camera

Calibrator = Callable[[np.ndarray], Camera]

_FOV = re.compile(r"fov(\d+(?:\.\d+)?)")


def fov_calibrator(hfov_deg: float) -> Calibrator:
    """A calibrator that assumes a horizontal field of view (degrees) and a centred principal point."""
    if not 1.0 <= hfov_deg <= 179.0:
        raise ValueError(f"fallback field of view must be in [1, 179] degrees, got {hfov_deg}")

    def calibrate(image: np.ndarray) -> Camera:
        h, w = image.shape[:2]
        return fov_camera(w, h, hfov_deg)

    return calibrate


def anycalib_calibrator(model_id: str = "anycalib_pinhole") -> Calibrator:
    """AnyCalib pinhole calibration; raises ImportError when the package is not installed."""
    import torch  # AnyCalib needs torch; imported here to fail early
    from anycalib import AnyCalib  # type: ignore[import-not-found]

    model = AnyCalib(model_id=model_id).eval()

    def calibrate(image: np.ndarray) -> Camera:

        h, w = image.shape[:2]
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
        with torch.no_grad():
            out = model.predict(tensor, cam_id="pinhole")
        fx, fy, cx, cy = (float(v) for v in out["intrinsics"].reshape(-1)[:4])
        return Camera.from_fx_fy_cx_cy(fx, fy, cx, cy, w, h)

    return calibrate


#: policies ``<prefix>:<argument>`` provided by higher layers: prefix -> factory(argument) -> Calibrator
_PROVIDED: dict[str, Callable[[str], Calibrator]] = {}


def register_policy(prefix: str, factory: Callable[[str], Calibrator]) -> None:
    """Provide the policy ``<prefix>:<argument>`` (e.g. ``model:DIR``): ``factory(argument)`` returns
    the calibrator, or raises ValueError (one line) when the argument cannot be used. Registering
    the same factory again keeps the calibrators already made (a model is loaded once a process)."""
    if _PROVIDED.get(prefix) is factory:
        return
    _PROVIDED[prefix] = factory
    for key in [k for k in _CACHE if k.startswith(prefix + ":")]:
        del _CACHE[key]


def provided_policies() -> dict[str, Callable[[str], Calibrator]]:
    """The policies registered in this process (prefix -> factory): what a worker process of a
    distributed build registers again (``vlm3.data.build.run_ray``), the factories travel by
    reference to their module."""
    return dict(_PROVIDED)


def fov_camera(width: int, height: int, hfov_deg: float) -> Camera:
    """The camera of a ``width`` x ``height`` image with horizontal field of view ``hfov_deg``
    (square pixels, principal point at the centre)."""
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return Camera.from_fx_fy_cx_cy(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)


def get_calibrator(policy: str) -> tuple[Calibrator | None, str]:
    """Resolve a policy to (calibrator or None, label written into labels as ``camera_from``).

    Raises ValueError for an unknown policy name. "anycalib" without the package returns
    (None, reason) so records are refused with that reason instead of crashing the build.
    """
    if policy == "none":
        return None, ("no intrinsics and calibration is 'none': set calibration: anycalib "
                      "(install AnyCalib, see docs/data.md) or opt into a stated guess such as "
                      "calibration: fov60")
    if policy == "anycalib":
        try:
            return anycalib_calibrator(), "calibrated:anycalib"
        except ImportError:
            return None, ("no intrinsics and AnyCalib is not installed (see docs/data.md), "
                          "or opt into a stated guess such as calibration: fov60")
    if policy.startswith("anycalib|"):  # AnyCalib when installed, else the stated guess after the bar
        fallback = policy.split("|", 1)[1]
        if not _FOV.fullmatch(fallback):
            raise ValueError(f"calibration {policy!r}: the fallback after '|' must be fov<deg> (e.g. anycalib|fov60)")
        try:
            return anycalib_calibrator(), "calibrated:anycalib"
        except ImportError:
            return fov_calibrator(float(fallback[3:])), f"fallback:{fallback} (AnyCalib not installed)"
    m = _FOV.fullmatch(policy)
    if m:
        return fov_calibrator(float(m.group(1))), f"fallback:{policy}"
    prefix, sep, argument = policy.partition(":")
    if sep and prefix in _PROVIDED:
        if not argument:
            raise ValueError(f"calibration {policy!r}: name the model folder after '{prefix}:'")
        return _PROVIDED[prefix](argument), f"calibrated:{policy}"
    if sep and prefix == "model":
        raise ValueError(f"calibration {policy!r} asks a vlm3 model, which this process has not loaded: run it "
                         f"through the vlm3 command, or call vlm3.infer.api.register_model_calibration() first")
    raise ValueError(f"unknown calibration policy {policy!r}; use none, anycalib, fov<deg> (e.g. fov60) or "
                     f"model:DIR (a vlm3 model trained on the calibration task)")


_CACHE: dict[str, tuple[Calibrator | None, str]] = {}


def camera_for(path: str, image: np.ndarray, camera: Camera | None,
               policy: str) -> tuple[Camera, str]:
    """The view's camera and where it came from ("given", "calibrated:...", "fallback:...").

    Raises RecordError(path, reason) when there is no K and the policy gives none, or when the
    calibrator cannot calibrate this image (a model whose answer does not parse): a counted skip.
    """
    if camera is not None:
        return camera, "given"
    if policy not in _CACHE:
        _CACHE[policy] = get_calibrator(policy)
    calibrator, label = _CACHE[policy]
    if calibrator is None:
        raise RecordError(path, label)
    try:
        return calibrator(image), label
    except ValueError as err:  # e.g. model:DIR: the model's answer is no field of view
        raise RecordError(path, f"{label}: {err}") from None


__all__ = ["Calibrator", "anycalib_calibrator", "camera_for", "fov_calibrator", "fov_camera", "get_calibrator",
           "provided_policies", "register_policy"]
