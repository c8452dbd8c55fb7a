"""`posemoe models` says, per shipped weight file, what it was trained on and under which terms."""

import json

import numpy as np
import pytest

from posemoe.cli import main
from posemoe.cli.models import non_commercial, weights_licences
from posemoe.models.pretrained import available


def _entries(text: str) -> dict[str, list[str]]:
    """The weights block -> {file name: its 'trained on' and 'terms' lines}."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("shipped weights: "))
    entries: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if line.startswith("  ") and line.endswith("]"):  # "  <name> [.safetensors, .onnx]"
            name = line.split()[0]
            entries[name] = []
        elif line.startswith("      "):
            entries[name].append(line.strip())
    return entries


def test_every_shipped_file_names_its_training_data_and_non_commercial_terms(capsys):
    main(["models"])
    out = capsys.readouterr().out
    entries = _entries(out)
    assert available() and set(available()) <= set(entries)
    for name in available():
        trained_on, terms = entries[name]
        assert trained_on.startswith("trained on: ") and len(trained_on) > len("trained on: ") + 10
        # every shipped file learnt from Human3.6M (or renders of its poses)
        assert "human3.6m" in trained_on.lower() or "h36m" in trained_on.lower()
        assert terms.startswith("terms: NON-COMMERCIAL RESEARCH ONLY"), (name, terms)
    assert "Apache-2.0" in out and "pose_detection.onnx" in out
    hint = out[out.index("Commercial use") :]
    assert "posemoe train" in hint and 'kind = "bvh"' in hint
    main(["models", "--details"])  # the details table keeps the licences
    assert set(available()) <= set(_entries(capsys.readouterr().out))


@pytest.mark.parametrize(
    "training_data, licence, expected",
    [
        ("Human3.6M S1 S5 S6 S7", "", True),
        ("h36m S1 (gt 2D)", "see the dataset", True),
        ("my studio's mocap", "Bandai Namco Research Motion Dataset: CC BY-NC 4.0", True),
        ("my studio's mocap", "owned by us", False),
        ("CMU mocap", "free for any use", False),
    ],
)
def test_non_commercial_follows_training_data_and_licence(training_data, licence, expected):
    assert non_commercial(training_data, licence) is expected


def test_weights_of_free_motion_are_not_marked_non_commercial(tmp_path, monkeypatch):
    from safetensors.numpy import save_file

    for name, data, licence in [
        ("own-mocap", "bvh motion seen by virtual cameras (our studio)", "ours: any use"),
        ("lab", "Human3.6M S1", "non-commercial research only"),
    ]:
        config = {"training_data": data, "licence": licence}
        save_file(
            {"w": np.zeros(1, np.float32)},
            str(tmp_path / f"{name}.safetensors"),
            metadata={"pretrained_config": json.dumps(config)},
        )
    monkeypatch.setattr("posemoe.weights.WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr("posemoe.models.pretrained.WEIGHTS_DIR", tmp_path)
    entries = _entries(weights_licences())
    assert set(entries) == {"own-mocap", "lab"}
    assert entries["own-mocap"] == [
        "trained on: bvh motion seen by virtual cameras (our studio)",
        "terms: ours: any use",
    ]
    assert entries["lab"][1] == "terms: NON-COMMERCIAL RESEARCH ONLY (non-commercial research only)"
