"""Tiny model folders for the web demo's tests (random weights, seconds to build)."""

import json
from pathlib import Path

import torch

OSIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "osie"


def tiny_attngan_folder(root):
    """A random tiny AttnGAN saved as a run's pipeline folder, with the shipped BiLSTM text encoder and a
    metrics.jsonl holding one oracle evaluation."""
    from wordsight.models.attngan import AttnGANGenerator
    from wordsight.pipelines.text_to_image import TextToImage

    base = TextToImage.from_pretrained(device="cpu")
    torch.manual_seed(0)
    g = AttnGANGenerator(gf_dim=4, z_dim=8, text_dim=base.text_encoder.sentence_dim, c_dim=4, base_size=16, branch_num=2,
                         r_num=0)
    folder = root / "00003-attngan" / "pipeline"
    TextToImage(g, base.text_encoder, base.encoder_spec, device="cpu",
                info={"system": "attngan", "trained_on": {"data": "synthetic", "description": "random weights"}}
                ).save_pretrained(folder, extra={"trained_steps": 7})
    record = {"step": 7, "oracle_acc/count": 0.5, "oracle_acc/color": 0.25, "oracle_acc/shape": 0.125, "oracle_acc/size": 1.0,
              "oracle_acc/relation": float("nan"), "oracle_acc_joint": 0.0}
    (folder.parent / "metrics.jsonl").write_text('{"step": 1, "g/loss": 1.0}\n' + json.dumps(record) + "\n")
    return folder


def tiny_tirg_folder(root):
    """A random tiny TIRG saved as a run's retrieval pipeline folder."""
    from wordsight.models.tirg import TIRG
    from wordsight.pipelines.retrieval import Retrieval
    from wordsight.text.tokenizer import Vocabulary

    torch.manual_seed(0)
    words = list(Vocabulary.build(["a big red square", "a small blue circle"]).words)
    model = TIRG(words, embed_dim=8, word_embedding_dim=8, image_size=16, channels=(4, 8))
    return Retrieval(model, {"system": "tirg", "trained_on": {"data": "synthetic"}}).save_pretrained(root / "m" / "pipeline")
