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
    np.testing.assert_array_equal(
        out["positions_2d"]["S1"]["Walking"][1], value["S1"]["Walking"][1]
    )


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
        header = (
            b"\x93NUMPY\x01\x00"
            + b"v\x00"
            + b"{'descr': '|O', 'fortran_order': False, 'shape': (), }".ljust(118)
            + b"\n"
        )
        z.writestr("positions_3d.npy", header + pickle.dumps({"a": 1})[:5])
    with pytest.raises(ValueError, match="corrupt"):
        load_npz(tmp_path / "trunc.npz")


def test_members_that_unpack_far_beyond_their_size_are_refused_unread(tmp_path, monkeypatch):
    from posemoe.io import npz

    monkeypatch.setattr(npz, "RATIO_FREE_BYTES", 1000)  # the real limits need a 1 GB member to show
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("keypoints.npy", b"\x93NUMPY" + bytes(2**20))
    reads = []
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda *a, **k: reads.append(a) or pytest.fail("read")
    )
    with pytest.raises(
        ValueError,
        match=r"bomb.npz\[keypoints.npy\]: [\d,]+ bytes unpack to 1,048,582, more than 100 times",
    ):
        load_npz(tmp_path / "bomb.npz")
    assert not reads


def test_members_are_limited_in_total(tmp_path, monkeypatch):
    from posemoe.io import npz

    np.savez(tmp_path / "a.npz", a=np.zeros(1000), b=np.zeros(1000))
    monkeypatch.setattr(npz, "MAX_NPZ_BYTES", 12_000)
    with pytest.raises(
        ValueError, match=r"a.npz: unpacks to 16,\d+ bytes, more than the 12,000 accepted"
    ):
        load_npz(tmp_path / "a.npz")


def _npy(shape, data: bytes) -> bytes:
    import io

    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return head.getvalue() + data


@pytest.mark.parametrize(
    "shape, data, error",
    [
        (
            (10**12, 17, 3),
            b"",
            r"declares \(1000000000000, 17, 3\) float64 \(408,000,000,000,000 bytes\) but 0 bytes follow",
        ),
        ((4, 17, 3), bytes(100), "truncated or corrupt"),
        ((-3, 17), b"", "declares"),
    ],
)
def test_array_headers_must_describe_the_bytes_that_follow(tmp_path, shape, data, error):
    from posemoe.io.npz import load_npy

    with zipfile.ZipFile(tmp_path / "a.npz", "w") as z:
        z.writestr("keypoints.npy", _npy(shape, data))
    with pytest.raises(ValueError, match=error):
        load_npz(tmp_path / "a.npz")
    (tmp_path / "a.npy").write_bytes(_npy(shape, data))
    with pytest.raises(ValueError, match=error):
        load_npy(tmp_path / "a.npy")


def test_plain_arrays_read_the_same_as_numpy(tmp_path):
    from posemoe.io.npz import load_npy

    value = np.asfortranarray(np.random.default_rng(0).normal(size=(5, 17, 3)))
    np.save(tmp_path / "f.npy", value)
    np.testing.assert_array_equal(load_npy(tmp_path / "f.npy"), value)
    np.savez_compressed(tmp_path / "f.npz", value=value, text=np.array(["S1", "S11"]))
    out = load_npz(tmp_path / "f.npz")
    np.testing.assert_array_equal(out["value"], value)
    assert out["text"].tolist() == ["S1", "S11"]
    holder = np.empty((), dtype=object)
    holder[()] = {"a": 1}
    np.save(tmp_path / "o.npy", holder, allow_pickle=True)
    with pytest.raises(ValueError, match="holds Python objects"):
        load_npy(tmp_path / "o.npy")


def test_saving_is_whole_or_nothing_and_never_replaces_another_file(tmp_path, monkeypatch):
    (tmp_path / "labels.json").write_text("{}")
    assert save_npz(tmp_path / "labels.json", a=np.zeros(3)) == tmp_path / "labels.json.npz"
    assert (tmp_path / "labels.json").read_text() == "{}"
    save_npz(tmp_path / "d.npz", a=np.zeros(3))

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", broken)
    with pytest.raises(OSError, match="No space") as err:
        save_npz(tmp_path / "d.npz", a=np.ones(3))
    assert err.value.filename == str(tmp_path / "d.npz")  # the CLI's one line names it
    monkeypatch.undo()
    np.testing.assert_array_equal(load_npz(tmp_path / "d.npz")["a"], np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "labels.json", "labels.json.npz"]
