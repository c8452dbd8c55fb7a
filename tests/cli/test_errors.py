"""User errors are one line; bugs keep their traceback."""

import numpy as np
import pytest

from posemoe.cli import main


def test_a_user_error_is_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", str(tmp_path / "none.pt"), "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("posemoe eval: error: no checkpoint at")


def test_a_bug_is_not_disguised_as_a_user_error(monkeypatch):
    import posemoe.cli.models as models

    def broken(args):
        raise KeyError("a genuine bug")

    monkeypatch.setattr(models, "cmd_models", broken)
    from posemoe.cli import build_parser

    args = build_parser().parse_args(["models"])
    assert args.func is broken
    with pytest.raises(KeyError, match="a genuine bug"):
        main(["models"])


def test_image_sets_keep_their_layout(tmp_path):
    import numpy as np

    from posemoe.datasets.images import ImageSet
    from posemoe.datasets.sequences import PoseSequences, SequenceInfo
    from posemoe.layouts import COCO17

    labels = PoseSequences(
        np.zeros((2, 17, 3), np.float32),
        np.zeros((2, 17, 3), np.float32),
        [SequenceInfo("coco", "person", 0, 0, 2)],
        "coco",
        COCO17,
    )
    ImageSet(np.zeros((2, 32, 32, 3), np.uint8), labels).save(tmp_path / "set.npz")
    assert ImageSet.load(tmp_path / "set.npz").labels.layout == COCO17


def test_roll_is_refused_where_the_dataset_has_its_own_cameras(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "eval",
                "posemoe-t27-s-h36m",
                "--dataset",
                "mpi-inf-3dhp",
                "--data-dir",
                str(tmp_path),
                "--roll",
                "90",
            ]
        )
    assert (
        exit_info.value.code == 2
        and "--roll turns the cameras of --dataset h36m-virtual" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "dataset, options, error",
    [
        ("humaneva", ["--source", "sh"], "scored from ground-truth 2D"),
        ("mpi-inf-3dhp", ["--source", "cpn"], "scored from ground-truth 2D"),
        ("humaneva", ["--subjects", "Validate/S1"], "--subjects does not apply"),
        ("h36m", ["--seed", "3"], "--seed draws the cameras"),
        ("humaneva", ["--intrinsics", "guess"], "--intrinsics applies to"),
        ("h36m", ["--out", __file__], "a file, not a folder"),
    ],
)
def test_eval_refuses_options_the_dataset_does_not_use(capsys, tmp_path, dataset, options, error):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "eval",
                "posemoe-t27-s-h36m",
                "--dataset",
                dataset,
                "--data-dir",
                str(tmp_path),
                *options,
            ]
        )
    assert exit_info.value.code == 2 and error in capsys.readouterr().err


@pytest.mark.parametrize("options", [["--upright", "10"], ["--no-upright"]])
def test_upright_is_refused_where_nothing_turns(capsys, tmp_path, options):
    with pytest.raises(SystemExit) as exit_info:  # the Human3.6M protocol lifts windows directly
        main(["eval", "posemoe-t27-s-h36m", "--data-dir", str(tmp_path), *options])
    assert (
        exit_info.value.code == 2
        and "the Human3.6M protocol and image models do not turn" in capsys.readouterr().err
    )


def test_upright_is_refused_for_an_image_model(capsys, tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"not looked at")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "infer",
                str(image),
                "--model",
                "aitepose-s-bodies",
                "--upright",
                "10",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert (
        exit_info.value.code == 2
        and "estimates 3D from the image itself" in capsys.readouterr().err
    )


def test_upright_and_no_upright_together_are_refused(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "eval",
                "posemoe-t27-s-h36m",
                "--dataset",
                "humaneva",
                "--data-dir",
                str(tmp_path),
                "--upright",
                "20",
                "--no-upright",
            ]
        )
    assert exit_info.value.code == 2 and "contradict" in capsys.readouterr().err


def test_infer_says_what_a_folder_lacks_and_refuses_an_out_that_is_a_file(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(tmp_path / "empty")])
    assert exit_info.value.code == 2 and "no images (.bmp" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    np.save(tmp_path / "k.npy", np.zeros((3, 17, 3)))
    for out in ("afile", "afile/sub"):
        with pytest.raises(SystemExit) as exit_info:
            main(
                [
                    "infer",
                    str(tmp_path / "k.npy"),
                    "--layout",
                    "coco17",
                    "--image-size",
                    "64",
                    "64",
                    "--out",
                    str(tmp_path / out),
                ]
            )
        assert exit_info.value.code == 2 and "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "afile").read_text() == "x"


def test_export_says_what_it_takes(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "w.safetensors"), str(tmp_path / "out.safetensors")])
    assert (
        exit_info.value.code == 2
        and "already exported weights; export takes a training checkpoint"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "export",
                str(tmp_path / "last.pt"),
                str(tmp_path / "out.safetensors"),
                "--average-weight",
                "0.3",
            ]
        )
    assert exit_info.value.code == 2 and "give both" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, error",
    [
        (
            ["--image-size", "10", "10"],
            "--image-size applies to keypoint files, not to videos and images",
        ),
        (
            ["--bbox", "0", "0", "9", "9", "--no-flip"],
            "--bbox and --no-flip apply to one image with an image model",
        ),
        (
            ["--render-height", "480", "--render", "html"],
            "--render-height sizes the video that --render mp4 writes",
        ),
    ],
)
def test_options_that_cannot_apply_are_refused_not_ignored(capsys, tmp_path, options, error):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded: the options are refused first")
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(video), "--out", str(tmp_path / "out"), *options])
    assert exit_info.value.code == 2 and error in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    np.save(tmp_path / "k.npy", np.ones((5, 17, 3)) * 100)
    with pytest.raises(SystemExit):
        main(
            [
                "infer",
                str(tmp_path / "k.npy"),
                "--layout",
                "coco17",
                "--image-size",
                "640",
                "480",
                "--bbox",
                "0",
                "0",
                "9",
                "9",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert (
        "--bbox applies to one image with an image model (aitepose-*), not to keypoint files"
        in capsys.readouterr().err
    )


@pytest.mark.skipif(
    not __import__("pathlib").Path("/proc/self").is_dir(), reason="needs Linux's /proc"
)
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    from posemoe.cli.common import check_out_dir

    with pytest.raises(ValueError, match=r"--out /proc/posemoe-out: cannot write in /proc"):
        check_out_dir("/proc/posemoe-out")
    check_out_dir(
        str(tmp_path / "new" / "folder")
    )  # a folder to be made under a writable one is fine
    assert list(tmp_path.iterdir()) == []  # and the check leaves nothing behind
