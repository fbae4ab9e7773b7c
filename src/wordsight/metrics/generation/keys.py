"""Result keys of the generation metrics (the names written to ``metric-<name>.jsonl``)."""

KEY_FID = "fid"
KEY_KID_MEAN = "kid_mean"
KEY_KID_STD = "kid_std"
KEY_IS_MEAN = "is_mean"
KEY_IS_STD = "is_std"
KEY_R_PRECISION_MEAN = "r_precision_mean"  # a fraction in [0, 1]; papers print it x100
KEY_R_PRECISION_STD = "r_precision_std"
KEY_CLIP_SCORE = "clip_score"  # 100 x mean cosine (GALIP's 0.3338 is 33.38 here)
KEY_ORACLE_ACC_MEAN = "oracle_acc_mean"
KEY_ORACLE_ACC_JOINT = "oracle_acc_joint"
KEY_ORACLE_HELDOUT_ACC_MEAN = "oracle_heldout_acc_mean"
KEY_ORACLE_HELDOUT_ACC_JOINT = "oracle_heldout_acc_joint"
KEY_ORACLE_FID = "oracle_fid"  # FID over the oracle's features (its own scale, not Inception's)
KEY_ORACLE_KID_MEAN = "oracle_kid_mean"
KEY_ORACLE_KID_STD = "oracle_kid_std"


def oracle_attribute_key(attribute: str, held_out: bool = False) -> str:
    """``oracle_acc/<attribute>`` or ``oracle_heldout_acc/<attribute>``."""
    return f"{'oracle_heldout_acc' if held_out else 'oracle_acc'}/{attribute}"
