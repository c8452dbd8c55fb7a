import pickle
import zipfile

import numpy as np
import pytest

from posemoe.io.npz import UnsafePickleError, load_npz, save_npz


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_roundtrip_of_nested_dicts(tmp_path):
    value = {"S1": {"Walking": [np.arange(6, dtype=np.float32).reshape(2, 3)] * 2}}
    save_npz(tmp_path / "a.npz", positions_2d=value, metadata={"num_joints": 17})
    out = load_npz(tmp_path / "a.npz")
    assert out["metadata"] == {"num_joints": 17}
    np.testing.assert_array_equal(out["positions_2d"]["S1"]["Walking"][1], value["S1"]["Walking"][1])


def test_reads_the_same_as_numpy(tmp_path):
    value = {"S1": {"Walking": np.random.default_rng(0).normal(size=(4, 32, 3)).astype(np.float32)}}
    save_npz(tmp_path / "b.npz", positions_3d=value)
    ours = load_npz(tmp_path / "b.npz")["positions_3d"]
    theirs = np.load(tmp_path / "b.npz", allow_pickle=True)["positions_3d"].item()
    np.testing.assert_array_equal(ours["S1"]["Walking"], theirs["S1"]["Walking"])


def test_refuses_a_pickle_that_would_run_code(tmp_path, capsys):
    holder = np.empty((), dtype=object)
    holder[()] = {"S1": _Exploit()}
    np.savez(tmp_path / "evil.npz", positions_3d=holder)
    with pytest.raises(UnsafePickleError, match=r"builtins\.print"):
        load_npz(tmp_path / "evil.npz")
    assert "must never run" not in capsys.readouterr().out


def test_corrupt_and_missing_files_get_clear_errors(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz"):
        load_npz(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_npz(tmp_path / "missing.npz")
    with zipfile.ZipFile(tmp_path / "trunc.npz", "w") as z:
        header = b"\x93NUMPY\x01\x00" + b"v\x00" + b"{'descr': '|O', 'fortran_order': False, 'shape': (), }".ljust(118) + b"\n"
        z.writestr("positions_3d.npy", header + pickle.dumps({"a": 1})[:5])
    with pytest.raises(ValueError, match="corrupt"):
        load_npz(tmp_path / "trunc.npz")
