"""A PNG chart per brand: metrics by round."""
from __future__ import annotations

from pathlib import Path


def write_charts(report: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, entry in report["brands"].items():
        rounds = [r["round"] for r in entry["rounds"]]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ax1.plot(rounds, [r["true_ctr"] for r in entry["rounds"]], marker="o", label="true CTR")
        ax1.axhline(entry["ceiling_ctr"], linestyle="--", color="grey", label="ceiling (allowed copy)")
        ax1.set_xlabel("round")
        ax1.set_ylabel("click probability")
        ax1.set_title(f"{name}: true CTR (lift {entry['lift'] if entry['lift'] is None else round(entry['lift'], 3)})")
        ax1.legend()
        for key in ("valid_rate", "ended_rate", "violation_rate", "distinct2"):
            if all(key in r for r in entry["rounds"]):
                ax2.plot(rounds, [r[key] for r in entry["rounds"]], marker="o", label=key)
        ax2.set_ylim(0, 1.05)
        ax2.set_xlabel("round")
        ax2.set_title("well-formed, ended, violations, diversity")
        ax2.legend()
        fig.tight_layout()
        path = out_dir / f"{name.lower()}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
