import numpy as np

from posemoe.datasets.synthetic import synthesize_motion
from posemoe.layouts import H36M32


def test_the_procedural_body_is_a_person_not_its_mirror_image():
    for seed in range(3):
        pose = synthesize_motion(5, np.random.default_rng(seed))[2]
        right = pose[H36M32.index("RightUpLeg")] - pose[H36M32.index("LeftUpLeg")]
        up = pose[H36M32.index("Spine1")] - pose[0]
        toe = pose[H36M32.index("RightToeBase")] - pose[H36M32.index("RightFoot")]
        assert (
            np.dot(toe, np.cross(up, right)) > 0
        )  # feet point forward = up x right (right-handed)
