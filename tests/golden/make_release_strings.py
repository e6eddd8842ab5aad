"""Regenerate tests/golden/release_strings.json from the published VLM3 release formats.

    python tests/golden/make_release_strings.py ../shared/data/vlm3_release/formats.json

formats.json holds the prompts, answers and label values published with the VLM3 release
(facebookresearch/VLM3 sample label files and inference notebook). The golden tests need
only the short strings and numbers listed in ``KEEP``; this script copies exactly those,
values unchanged and in the file's own nesting, so tests/ carries them on a fresh clone
(no images, no prose notes). ``tests/test_protocol_golden.py`` checks that the copy still
equals the published file whenever ../shared is present. Add a key here (and rerun) when
a test starts reading a new field.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("release_strings.json")

#: the fields the tests read: True = copy the value; a dict = copy these keys (of every
#: element, for a list of objects)
KEEP: dict[str, Any] = {
    "depth": {"image_size_resized": True, "intrinsics_after_focal_normalization_to_1000": True,
              "prompt_template": True, "answer_parse_regex": True,
              "training_answer_style_of_predecessor_DepthLM": True,
              "samples": {"pixel_coord_resized": True, "pixel_coord_normalized_2000": True,
                          "depth_meters": True}},
    "correspondence": {"image_size_resized": True, "prompt_template": True,
                       "thinking_format_instruction": True, "example_prompt": True,
                       "example_gt_norm_1000": True, "answer_style_in_paper": True,
                       "samples": {"img1_pixel_in_resized": True, "img2_pixel_in_resized": True,
                                   "img1_norm_1000": True, "img2_norm_1000": True}},
    "pose": {"scale_type": True, "ground_truth_pose": True, "image_size_original": True,
             "image_size_resized": True, "intrinsics_resized": True,
             "qa_pairs": {"question_id": True, "question": True, "answer": True}},
    "object": {"image_size_original": True, "intrinsics_original": True, "image_size_resized": True,
               "prompt": True, "answer": True,
               "raw_spatialrgpt_user_msg": True, "raw_spatialrgpt_assistant_msg": True,
               "bboxes": {"bbox_original_pixels": True, "bbox_normalized_1000": True}},
}


def select(value: Any, keep: Any) -> Any:
    """The part of ``value`` that ``keep`` names (same nesting, values unchanged)."""
    if keep is True:
        return value
    if isinstance(value, list):
        return [select(v, keep) for v in value]
    return {k: select(value[k], sub) for k, sub in keep.items()}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    published = json.loads(Path(argv[0]).read_text())
    OUT.write_text(json.dumps(select(published, KEEP), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
