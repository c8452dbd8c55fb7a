import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.evaluation.cross_dataset import evaluate_virtual_views  # noqa: E402
from posemoe.inference.lifter import Lifter  # noqa: E402
from posemoe.models import create_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)


def test_virtual_views_score_every_frame_of_every_view_by_kind(synthetic_dir, tiny_model):
    report = evaluate_virtual_views(Lifter(tiny_model), synthetic_dir, ["S8"], views=2, step=4)
    assert report.frames == sum(n for n, _, _ in report.per_kind.values())
    assert report.p_mpjpe <= report.mpjpe and "**all**" in report.to_markdown()


def test_a_rolled_camera_costs_a_lifter_turned_upright_nothing(synthetic_dir, tiny_model):
    upright = Lifter(tiny_model, upright=0.0)
    plain = evaluate_virtual_views(upright, synthetic_dir, ["S8"], views=2, step=4)
    rolled = evaluate_virtual_views(upright, synthetic_dir, ["S8"], views=2, step=4, roll=120.0)
    assert rolled.mpjpe == pytest.approx(plain.mpjpe, abs=0.05)
    as_seen = evaluate_virtual_views(
        Lifter(tiny_model, upright=None), synthetic_dir, ["S8"], views=2, step=4, roll=120.0
    )
    assert abs(as_seen.mpjpe - plain.mpjpe) > 1.0
