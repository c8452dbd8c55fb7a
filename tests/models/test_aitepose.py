import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.cli import main  # noqa: E402
from posemoe.export.weights import export_weights  # noqa: E402
from posemoe.models import (  # noqa: E402
    AITEPose,
    config_from_dict,
    count_parameters,
    create_model,
    get_config,
)
from posemoe.models.pretrained import load_model  # noqa: E402
from posemoe.training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from posemoe.training.loop import TrainConfig, train  # noqa: E402

SMALL = {"image_size": 64}


def test_aitepose_shapes_confidence_and_config_round_trip():
    for name, dims in (("aitepose-s", 3), ("aitepose2d-s", 2)):
        model = create_model(name, **SMALL).eval()
        pose, aux = model(torch.rand(2, 3, 64, 64), aux=True)
        confidence = aux["confidence"]
        assert pose.shape == (2, 17, dims) and confidence.shape == (2, 17)
        assert ((confidence > 0) & (confidence < 1)).all()
        if dims == 2:
            assert pose.abs().max() <= 1  # crop coordinates
        assert config_from_dict(model.config.to_dict()) == model.config
    assert count_parameters(create_model("aitepose-b")) > 10 * count_parameters(
        create_model("aitepose-s")
    )
    with pytest.raises(ValueError, match="expected images of shape"):
        create_model("aitepose-s", **SMALL)(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="multiple of 32"):
        get_config("aitepose-s", image_size=100)


def _image_config(rendered_dir, out, **kw):
    return TrainConfig().override(
        dict(
            model="aitepose-s",
            model_overrides=SMALL,
            train_images=str(rendered_dir / "train.npz"),
            val_images=str(rendered_dir / "val.npz"),
            out_dir=str(out),
            epochs=3,
            batch_size=16,
            warmup_steps=3,
            lr=2e-3,
            threads=1,
            log_every=2,
        )
        | kw
    )


def test_aitepose_trains_with_aite_and_ships_as_the_plain_network(rendered_dir, tmp_path):
    summary = train(_image_config(rendered_dir, tmp_path, aite=True), quiet=True)
    assert summary["done"]
    log = (tmp_path / "log.csv").read_text().splitlines()
    vals = [row for row in log if row.startswith("val")]
    first_loss = float(next(r for r in log if r.startswith("train")).split(",")[4])
    last_loss = float([r for r in log if r.startswith("train")][-1].split(",")[4])
    assert last_loss < first_loss and len(vals) == 3
    ckpt = load_checkpoint(tmp_path / "last.pt")
    plain = AITEPose(config_from_dict(ckpt["model_config"]))
    assert set(ckpt["model"]) == set(plain.state_dict()) and any(
        "cascade" in k for k in ckpt["aite"]
    )
    plain.load_state_dict(ckpt["model"])
    loaded = model_from_checkpoint(tmp_path / "last.pt")
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(loaded(x), plain.eval()(x), rtol=0, atol=0)
    shipped = load_model(export_weights(tmp_path / "last.pt", tmp_path / "w.safetensors"))
    torch.testing.assert_close(shipped(x), plain(x), rtol=0, atol=0)


def test_aitepose2d_trains_on_keypoints_with_visibility(rendered_dir, tmp_path):
    from posemoe.datasets.images import ImageSet

    # Turn the rendered 3D set into a 2D one with some unlabelled joints, as COCO has.
    for name in ("train", "val"):
        data = ImageSet.load(rendered_dir / f"{name}.npz")
        kp = data.labels.keypoints
        visible = (np.random.default_rng(0).random(kp.shape[:2]) > 0.2).astype(np.float32)
        data.labels.keypoints = np.concatenate([kp * visible[..., None], visible[..., None]], -1)
        data.save(tmp_path / f"{name}.npz")
    cfg = _image_config(tmp_path, tmp_path / "run", model="aitepose2d-s", aite=True, epochs=2)
    summary = train(cfg, quiet=True)
    assert summary["done"] and np.isfinite(summary["best"])


def test_image_commands(rendered_dir, tmp_path, capsys):
    run = tmp_path / "run"
    train(_image_config(rendered_dir, run, epochs=1), quiet=True)
    main(["eval", str(run / "best.pt"), "--images", str(rendered_dir / "val.npz")])
    assert "mean of actions" in capsys.readouterr().out
    main(["export", str(run / "best.pt"), str(tmp_path / "w.safetensors"), "--half"])
    data = np.load(rendered_dir / "val.npz")
    from PIL import Image

    Image.fromarray(data["images"][0]).resize((100, 80)).save(tmp_path / "person.png")
    main(
        [
            "infer",
            str(tmp_path / "person.png"),
            "--model",
            str(tmp_path / "w.safetensors"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    import json

    record = json.loads((tmp_path / "o" / "person.json").read_text())
    assert np.array(record["joints_3d_m"]).shape == (17, 3) and len(record["confidence"]) == 17
    with pytest.raises(SystemExit):
        main(["infer", str(tmp_path / "person.png"), "--model", "no-such-weights"])
    assert "available" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(run / "best.pt")])
    assert "--images" in capsys.readouterr().err


def test_shipped_image_weights_load_by_name():
    from posemoe.models.pretrained import available

    assert "aitepose-s-bodies" in available()
    model = load_model("aitepose-s-bodies")
    assert model.config.image_size == 128 and not model.training
    pose = model(torch.rand(1, 3, 128, 128))
    assert torch.isfinite(pose).all() and pose.shape == (1, 17, 3)
