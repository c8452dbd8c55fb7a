"""Evaluation reports: errors in millimetres, frame-weighted and per action, as markdown and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


@dataclass
class EvaluationReport:
    """Errors in millimetres; ``per_action`` maps action group -> metric -> mm."""

    frame_weighted: dict[str, float]
    action_mean: dict[str, float]
    per_action: dict[str, dict[str, float]]
    frames: int
    source: str
    subjects: list[str]
    flip: bool
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def to_markdown(self) -> str:
        if "mpjpe" not in self.frame_weighted:  # a 2D model's report
            return "\n".join(
                [
                    f"{self.source}, {self.frames} crops, test-time flip {'on' if self.flip else 'off'}",
                    "",
                    *(f"- {k}: {v:.2f}" for k, v in self.frame_weighted.items()),
                ]
            )
        head = "| action | " + " | ".join(f"{m} (mm)" for m in METRICS) + " |"
        rule = "|---|" + "---:|" * len(METRICS)
        rows = [
            f"| {a} | " + " | ".join(f"{v[m]:.1f}" for m in METRICS) + " |"
            for a, v in sorted(self.per_action.items())
        ]
        rows.append(
            "| **mean of actions** | "
            + " | ".join(f"**{self.action_mean[m]:.1f}**" for m in METRICS)
            + " |"
        )
        rows.append(
            "| **all frames** | "
            + " | ".join(f"**{self.frame_weighted[m]:.1f}**" for m in METRICS)
            + " |"
        )
        info = (
            f"2D source `{self.source}`, subjects {', '.join(self.subjects)}, {self.frames} frames "
            f"(all cameras), test-time flip {'on' if self.flip else 'off'}"
        )
        if self.extra.get("left_out"):
            info += "\n\nleft out: " + "; ".join(
                f"{n} frame(s) {why}" for why, n in self.extra["left_out"].items()
            )
        return "\n".join([info, "", head, rule, *rows])
