import numpy as np

from posemoe.camera import Camera, load_h36m_cameras
from posemoe.datasets.h36m import write_gt_2d
from posemoe.io.npz import load_npz


def _camera(**kw) -> Camera:
    base = dict(
        id="test",
        R=np.eye(3),
        T=np.zeros(3),
        f=np.array([1000.0, 1000.0]),
        c=np.array([500.0, 500.0]),
        k=np.zeros(3),
        p=np.zeros(2),
        width=1000,
        height=1000,
    )
    return Camera(**(base | kw))


def test_pinhole_projection_by_hand():
    uv = _camera().project(np.array([0.2, -0.1, 2.0]))
    np.testing.assert_allclose(uv, [500 + 1000 * 0.1, 500 - 1000 * 0.05])


def test_distortion_by_hand():
    k, p = np.array([0.1, 0.01, 0.001]), np.array([0.002, -0.003])
    cam = _camera(k=k, p=p, f=np.array([1100.0, 1090.0]), c=np.array([510.0, 505.0]))
    x, y = 0.3 / 1.5, 0.15 / 1.5
    r2 = x * x + y * y
    radial = 1 + 0.1 * r2 + 0.01 * r2**2 + 0.001 * r2**3
    tan = 0.002 * x - 0.003 * y
    xd, yd = x * (radial + tan) + 0.002 * r2, y * (radial + tan) - 0.003 * r2
    np.testing.assert_allclose(
        cam.project(np.array([0.3, 0.15, 1.5])), [1100 * xd + 510, 1090 * yd + 505], rtol=1e-12
    )


def test_world_camera_roundtrip_and_depth():
    cams = load_h36m_cameras()
    assert set(cams) == {"S1", "S5", "S6", "S7", "S8", "S9", "S11"}
    cam = cams["S1"][0]
    assert cam.id == "54138969" and (cam.width, cam.height) == (1000, 1002)
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-6)
    point = np.array([[0.1, 0.2, 0.9]])
    np.testing.assert_allclose(cam.camera_to_world(cam.world_to_camera(point)), point, atol=1e-9)
    assert (
        cam.world_to_camera(point)[0, 2] > 2.0
    )  # the capture volume lies in front of every camera


def test_prepare_2d_writes_the_projection(synthetic_dir, tmp_path):
    import shutil

    shutil.copy(synthetic_dir / "data_3d_h36m.npz", tmp_path / "data_3d_h36m.npz")
    path = write_gt_2d(tmp_path)
    written = load_npz(path)
    world = load_npz(tmp_path / "data_3d_h36m.npz")["positions_3d"]["S5"]["Walking 1"]
    cam = load_h36m_cameras()["S5"][2]
    hip = cam.project(cam.world_to_camera(world[:, 0].astype(np.float64)))
    np.testing.assert_allclose(written["positions_2d"]["S5"]["Walking 1"][2][:, 0], hip, atol=1e-3)
    assert written["metadata"]["num_joints"] == 17
