"""Copy a free-viewing saliency pipeline trained on OSIE into src/wordsight/assets/salgan_osie/ as the shipped
default (`wordsight saliency IMAGE`), with what it was trained on, then score it on the 140 held-out OSIE images
(`wordsight evaluate saliency`, shuffled-AUC negatives from the whole data set) into eval/ with the centre bias
and the training set's mean fixation map. Called by scripts/train_shipped_osie_saliency.sh (EXPORT=1).

    .venv/bin/python scripts/export_shipped_saliency.py RUN/pipeline --data osie:../shared/data/osie
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSET = ROOT / "src" / "wordsight" / "assets" / "salgan_osie"
METRICS = "auc_judd,shuffled_auc,nss,cc,kld,sim,information_gain"


def main() -> None:
    from wordsight.utils.io import atomic_dir, atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pipeline", type=Path)
    p.add_argument("--data", required=True, help="osie:PATH")
    args = p.parse_args()
    run = args.pipeline.resolve().parent
    config = (run / "config.yaml").read_text(encoding="utf-8") if (run / "config.yaml").exists() else ""
    with atomic_dir(ASSET) as tmp:  # a crash leaves the previous asset in place
        shutil.copytree(args.pipeline, tmp, dirs_exist_ok=True)
        meta = json.loads((tmp / "pipeline.json").read_text())
        meta.update({
            "trained_on": "OSIE (Xu et al. 2014, MIT licence): 560 of its 700 photos, 15 observers, free viewing; "
                          "the other 140 (split_stems seed 0, test fraction 0.2) held out",
            "description": "SalGAN (Pan et al. 2017), width 1/4, 96x128 input, random init (no ImageNet VGG-16), "
                           "learned centre prior, flip/zoom/colour augmentation, content (BCE) loss only",
            "recipe": "scripts/train_shipped_osie_saliency.sh", "source_run": run.name,
        })
        atomic_write_json(tmp / "pipeline.json", meta)
        if config:
            (tmp / "train_config.yaml").write_text(config, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "wordsight.cli.main", "evaluate", "saliency", str(ASSET), "--data", args.data,
                    "--split", "test", "--metrics", METRICS, "--out", str(ASSET / "eval")], check=True, cwd=ROOT)
    print(f"exported {args.pipeline} -> {ASSET}")


if __name__ == "__main__":
    main()
