"""Make the shipped ONNX models: ``posemoe/weights/<name>.onnx`` for each name in :data:`SHIPPED`,
from the shipped ``<name>.safetensors`` by ``posemoe export --onnx`` (:func:`posemoe.export.onnx.export_onnx`),
which checks each graph against torch before writing it. The safetensors weights are float16, so
the ONNX files hold the same numbers (float16, cast to float32 on loading) and lift within a
micrometre of torch (``tests/inference/test_runtime.py``).

A developer's tool, not part of the package; it needs the training extra (torch, onnx, onnxscript):

    python3 tools/export_onnx.py             # writes the files, prints their sha256
    python3 tools/export_onnx.py --check     # writes them to a temporary folder, compares with the shipped ones

The same torch / onnx / onnxscript versions write the same bytes; :data:`SHIPPED_SHA256` records
what this tool wrote (torch 2.13.0+cpu, onnx 1.18.0, onnxscript 0.7.2), and the tests check that
the shipped files are those.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

from posemoe.weights import DEFAULT_LIFTER, WEIGHTS_DIR

SHIPPED = (DEFAULT_LIFTER, "aitepose-s-bodies")
SHIPPED_SHA256 = {
    "posemoe-t27-s-h36m-he-bvh-vcam-rt6k": "16b8384cd4169a2ea384f72410ad90b5461f6bba8e4a5c890e1c10d18fc45333",
    "aitepose-s-bodies": "83a98927830916e137405ffe1045d1ff2c03ff5e6726fa64413c1678cf8bb78c",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    from posemoe.export.onnx import export_onnx  # torch: the constants above are read without it

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write to a temporary folder and compare with the shipped files",
    )
    parser.add_argument(
        "names",
        nargs="*",
        default=list(SHIPPED),
        help="shipped weights to convert (default: SHIPPED)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) if args.check else WEIGHTS_DIR
        same = True
        for name in args.names:
            path, difference = export_onnx(name, folder / f"{name}.onnx")
            digest = sha256(path)
            note = ""
            if args.check:
                shipped = WEIGHTS_DIR / f"{name}.onnx"
                agrees = shipped.is_file() and sha256(shipped) == digest
                same &= agrees
                note = "  same as shipped" if agrees else "  DIFFERS from the shipped file"
            print(
                f"{name}.onnx  {path.stat().st_size / 1e6:.2f} MB  largest difference from torch "
                f"{difference:.2g}  sha256 {digest}{note}"
            )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
