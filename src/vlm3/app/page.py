"""The page: one Gradio tab per task (depth, correspondence, pose, object, calibration), wired to
``vlm3.app.handlers``.

Every tab has its inputs (uploads that can be clicked, intrinsics, the calibration policy
for images without them), a one-line message (``#<tab>_msg``: empty, or what to fix), the
answer, a visible summary (answers parsed, cameras, notes, time) and the collapsed details
(questions sent, raw answers, the task's settings). Element ids (``elem_id``) are stable:
the browser tests and the docs' screenshots find the page by them. Fonts are the system's
(the default theme would fetch Google fonts), so the page needs no network.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from vlm3.app import handlers, inputs
from vlm3.app.examples import Examples
from vlm3.app.session import Session

#: policies for an image without intrinsics (``vlm3.standardize.calibration``): stated guesses first
CALIBRATIONS = ["fov60", "fov45", "fov75", "fov90", "anycalib", "none"]
_CAL_HELP = "no intrinsics given: fov<deg> = a stated guess of the field of view, anycalib = AnyCalib " \
            "(when installed), none = refuse"
_K_HELP = "fx,fy,cx,cy in pixels of this image (empty: the calibration policy)"


def _message(tab: str) -> gr.Markdown:
    return gr.Markdown("", elem_id=f"{tab}_msg", elem_classes=["vlm3-msg"])


def _details(tab: str) -> tuple[gr.Markdown, gr.Markdown]:
    """The visible summary line (answers parsed, cameras, notes, time) and the collapsed details."""
    summary = gr.Markdown("", elem_id=f"{tab}_summary")
    with gr.Accordion("details: questions sent, raw answers, time, settings", open=False, elem_id=f"{tab}_acc"):
        return summary, gr.Markdown("", elem_id=f"{tab}_details")


def _buttons(tab: str, points_label: str, grid_label: str, grid_value: str, grid_button: str):
    """The row under the inputs: ask at the points, the grid size, ask the grid."""
    with gr.Row():
        go = gr.Button(points_label, elem_id=f"{tab}_go")
        grid = gr.Textbox(value=grid_value, label=grid_label, elem_id=f"{tab}_grid_size")
        go_grid = gr.Button(grid_button, variant="primary", elem_id=f"{tab}_grid_go")
    return go, grid, go_grid


def _cameras(tab: str, *boxes: tuple[str, str]) -> tuple[Any, ...]:
    """One intrinsics box per image (``(id suffix, label)``: ``#<tab>_<suffix>``) and the
    calibration policy for images without them (``#<tab>_cal``)."""
    Ks = [gr.Textbox(label=label, placeholder=_K_HELP, elem_id=f"{tab}_{suffix}") for suffix, label in boxes]
    return (*Ks, gr.Dropdown(CALIBRATIONS, value="fov60", label=_CAL_HELP, elem_id=f"{tab}_cal"))


_PAIR_K = (("K1", "intrinsics of image 1"), ("K2", "intrinsics of image 2"))


def _add_point(points: str, evt: gr.SelectData) -> str:
    """A click on an image appends its pixel to the points box."""
    return inputs.add_point(points, evt.index)


def _image(label: str, elem_id: str) -> gr.Image:
    """An upload that can be clicked; the file is passed on as uploaded (no conversion)."""
    return gr.Image(label=label, type="filepath", image_mode=None, sources=["upload"], elem_id=elem_id)


def _depth_tab(s: Session, ex: Examples) -> None:
    with gr.Row():
        with gr.Column():
            image = _image("image (click to ask the depth there)", "depth_image")
            points = gr.Textbox(label="points x,y; x,y (pixels)", elem_id="depth_points")
            K, cal = _cameras("depth", ("K", "intrinsics"))
            ask_points, grid, ask_grid = _buttons("depth", "depth at the points", "grid (columns x rows)", "16x12",
                                                  "dense grid")
        with gr.Column():
            msg = _message("depth")
            picture = gr.Image(label="image and predicted depth (m, ray length)", interactive=False,
                               elem_id="depth_picture")
            cloud = gr.Model3D(label="point cloud (camera frame, metres)", display_mode="point_cloud",
                               elem_id="depth_3d")
            files = gr.File(label="downloads: depth.npy (m), depth_mm.png (16-bit, mm), points.ply, depth.json",
                            file_count="multiple", interactive=False, elem_id="depth_files")
            table = gr.Markdown("", elem_id="depth_table")
            summary, details = _details("depth")
    if ex.depth:
        gr.Examples(ex.depth, [image, K], label="examples (image, intrinsics)")

    def run_points(img, pts, k, c, progress=gr.Progress()):
        return handlers.depth_points(s, img, pts, k, c, progress=progress)

    def run_grid(img, g, k, c, progress=gr.Progress()):
        return handlers.depth_grid(s, img, g, k, c, progress=progress)

    image.change(lambda: "", outputs=points)
    image.select(_add_point, [points], [points]).then(run_points, [image, points, K, cal],
                                                 [msg, picture, table, summary, details])
    ask_points.click(run_points, [image, points, K, cal], [msg, picture, table, summary, details])
    ask_grid.click(run_grid, [image, grid, K, cal], [msg, picture, cloud, files, table, summary, details])


def _match_tab(s: Session, ex: Examples) -> None:
    with gr.Row():
        image1 = _image("image 1 (click points here)", "match_image1")
        image2 = _image("image 2", "match_image2")
    with gr.Row():
        with gr.Column():
            points = gr.Textbox(label="points in image 1: x,y; x,y (pixels)", elem_id="match_points")
            K1, K2, cal = _cameras("match", *_PAIR_K)
            go, grid, go_grid = _buttons("match", "match the points", "grid over image 1 (columns x rows)", "8x6",
                                         "grid")
        with gr.Column():
            msg = _message("match")
            picture = gr.Image(label="matches: image 1 | image 2", interactive=False, elem_id="match_picture")
            table = gr.Markdown("", elem_id="match_table")
            summary, details = _details("match")
    if ex.pairs:
        gr.Examples(ex.pairs, [image1, image2, K1, K2], label="examples (image 1, image 2, intrinsics)")

    def run(a, b, pts, k1, k2, c, progress=gr.Progress()):
        return handlers.match_points(s, a, b, pts, k1, k2, c, progress=progress)

    def run_grid(a, b, g, k1, k2, c, progress=gr.Progress()):
        return handlers.match_grid(s, a, b, g, k1, k2, c, progress=progress)

    image1.change(lambda: "", outputs=points)
    image1.select(_add_point, [points], [points]).then(run, [image1, image2, points, K1, K2, cal],
                                                  [msg, picture, table, summary, details])
    go.click(run, [image1, image2, points, K1, K2, cal], [msg, picture, table, summary, details])
    go_grid.click(run_grid, [image1, image2, grid, K1, K2, cal], [msg, picture, table, summary, details])


def _pose_tab(s: Session, ex: Examples) -> None:
    with gr.Row():
        image1 = _image("image 1 (camera 1: the reference)", "pose_image1")
        image2 = _image("image 2 (camera 2)", "pose_image2")
    with gr.Row():
        with gr.Column():
            K1, K2, cal = _cameras("pose", *_PAIR_K)
            go = gr.Button("relative pose", variant="primary", elem_id="pose_go")
            msg = _message("pose")
            answers = gr.Markdown("", elem_id="pose_answers")
            summary, details = _details("pose")
        picture = gr.Image(label="camera frustums (camera 2 placed by the answers, camera 1's frame)",
                           interactive=False, elem_id="pose_picture")
    if ex.pairs:
        gr.Examples(ex.pairs, [image1, image2, K1, K2], label="examples (image 1, image 2, intrinsics)")
    go.click(lambda a, b, k1, k2, c: handlers.pose(s, a, b, k1, k2, c), [image1, image2, K1, K2, cal],
             [msg, picture, answers, summary, details])


def _object_tab(s: Session, ex: Examples) -> None:
    templates = handlers.question_templates(s)
    with gr.Row():
        with gr.Column():
            image = _image("image (click two corners to draw a box)", "object_image")
            boxes = gr.Textbox(label="boxes x1,y1,x2,y2; ... (pixels; the first is [A], then [B])",
                               elem_id="object_boxes")
            pending = gr.State(None)
            template = gr.Dropdown(list(templates), value=None, label="SpatialRGPT-style question (fills the "
                                   "question below)", elem_id="object_template")
            question = gr.Textbox(label="question ([A], [B] where the boxes go)", elem_id="object_question")
            K, cal = _cameras("object", ("K", "intrinsics"))
            go = gr.Button("ask", variant="primary", elem_id="object_go")
        with gr.Column():
            msg = _message("object")
            answer = gr.Markdown("", elem_id="object_answer")
            picture = gr.Image(label="boxes of the question (green) and of the answer (red)", interactive=False,
                               elem_id="object_picture")
            summary, details = _details("object")
    if ex.objects:
        gr.Examples(ex.objects, [image, boxes, question], label="examples (image, boxes, question)")

    def click(b, p, evt: gr.SelectData):
        return inputs.add_corner(b, p, evt.index)

    image.upload(lambda: ("", None), outputs=[boxes, pending])
    image.select(click, [boxes, pending], [boxes, pending])
    template.change(lambda t: templates.get(t, ""), [template], [question])
    go.click(lambda i, q, b, k, c: handlers.ask(s, i, q, b, k, c), [image, question, boxes, K, cal],
             [msg, picture, answer, summary, details])


def _calibration_tab(s: Session, ex: Examples) -> None:
    with gr.Row():
        with gr.Column():
            image = _image("image (its field of view is asked; no intrinsics needed)", "calibration_image")
            known = gr.Textbox(label="known intrinsics fx,fy,cx,cy (optional: to compare the answer with)",
                               placeholder=_K_HELP, elem_id="calibration_K")
            go = gr.Button("field of view", variant="primary", elem_id="calibration_go")
        with gr.Column():
            msg = _message("calibration")
            answer = gr.Markdown("", elem_id="calibration_answer")
            summary, details = _details("calibration")
    if ex.depth:
        gr.Examples(ex.depth, [image, known], label="examples (image, its true intrinsics)")
    go.click(lambda i, k: handlers.calibrate(s, i, k), [image, known], [msg, answer, summary, details])


def build_page(s: Session, ex: Examples, device: str) -> gr.Blocks:
    """The Blocks of the app for a session and its examples (not launched)."""
    with gr.Blocks(title="vlm3", analytics_enabled=False) as page:
        gr.Markdown(f"## vlm3 · {s.model.name}\nA model that answers in text about pixels, regions and "
                    f"pairs. Coordinates are pixels of the images you upload; depth is metres along the ray. "
                    f"Examples: {', '.join(ex.sources) or 'none'}. Device: {device}.")
        if s.model.random_weights:
            gr.Markdown("**This model has random weights: the answers are noise.**")
        with gr.Accordion("the model's settings (vlm3.json)", open=False):
            gr.Code(s.saved_settings_text(), language="json", elem_id="settings_json")
        with gr.Tab("Depth", id="depth"):
            _depth_tab(s, ex)
        with gr.Tab("Correspondence", id="correspondence"):
            _match_tab(s, ex)
        with gr.Tab("Pose", id="pose"):
            _pose_tab(s, ex)
        with gr.Tab("Object", id="object"):
            _object_tab(s, ex)
        with gr.Tab("Calibration", id="calibration"):
            _calibration_tab(s, ex)
    return page


def theme() -> Any:
    """The default theme with system fonts (no font download)."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])
