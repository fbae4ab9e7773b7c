import numpy as np
import pytest

from wordsight.data.records import SALIENCY_CATEGORIES
from wordsight.data.synthetic import (
    BACKGROUNDS, COLORS, HELDOUT_COMBOS, HELDOUT_TEMPLATES, SHAPES, SIZES, TRAIN_TEMPLATES, ObjectSpec,
    SceneSpec, SyntheticWorld, WorldConfig, object_coverage, parse_caption, relation, render_scene, slot_targets,
)
from wordsight.utils.checks import InputError


def world(**kw):
    return SyntheticWorld(WorldConfig(**{"seed": 0, "image_size": 64, **kw}))


def test_vocabulary_sizes_meet_the_spec():
    assert len(SHAPES) >= 6 and len(COLORS) >= 8 and len(SIZES) == 2 and len(BACKGROUNDS) >= 4


def test_scenes_are_deterministic_and_seed_dependent():
    a, b = world().scene(7), world().scene(7)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image)) and a.captions == b.captions
    c = world(seed=1).scene(7)
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))


@pytest.mark.parametrize("size", [16, 64, 256])
def test_render_sizes_and_masks(size):
    s = world(image_size=size).scene(3)
    assert s.image.size == (size, size)
    assert s.masks.shape == (len(s.objects), size, size)
    for m, box, o in zip(s.masks, s.boxes, s.objects):
        assert m.any()
        ys, xs = np.nonzero(m)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == tuple(box.astype(int))
        # the mask's centroid sits at the object's centre (within a pixel or two)
        assert abs(xs.mean() + 0.5 - o.cx * size) < max(2.0, 0.03 * size)


def test_objects_do_not_overlap_and_masks_carry_the_object_colour():
    w = world(min_objects=3, max_objects=3, image_size=128)
    for i in range(20):
        s = w.scene(i)
        assert s.masks.sum(0).max() <= 1
        arr = np.asarray(s.image).astype(int)
        for m, o in zip(s.masks, s.objects):
            core = m & np.roll(m, 2, 0) & np.roll(m, -2, 0) & np.roll(m, 2, 1) & np.roll(m, -2, 1)
            assert np.abs(arr[core] - np.array(COLORS[o.color])).max() <= 1


def test_antialiasing_gives_partial_coverage_on_edges():
    cov, _ = object_coverage(ObjectSpec("circle", "red", "large", 0.5, 0.5, 0.2), 64)
    assert ((cov > 0.05) & (cov < 0.95)).any() and cov.max() == 1.0
    # coverage area approximates the disc area
    assert abs(cov.sum() - np.pi * (0.2 * 64) ** 2) / (np.pi * (0.2 * 64) ** 2) < 0.02


def test_every_shape_renders_differently():
    masks = []
    for shape in SHAPES:
        cov, _ = object_coverage(ObjectSpec(shape, "red", "large", 0.5, 0.5, 0.2), 64)
        masks.append(cov >= 0.5)
        assert 60 < masks[-1].sum() < 600
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert (masks[i] != masks[j]).sum() > 20, (SHAPES[i], SHAPES[j])


def test_captions_name_every_attribute_of_every_object():
    w = world()
    for i in range(50):
        s = w.scene(i)
        assert len(s.captions) >= 5 and len(set(s.captions)) >= 3
        for cap in s.captions:
            parsed = parse_caption(cap)
            want = [(o.color, o.shape, o.size) for o in s.objects]
            assert [(p["color"], p["shape"], p["size"]) for p in parsed] == want, cap
            if len(s.objects) >= 2:
                assert parsed[0]["relation"] == relation(s.objects[0], s.objects[1])


def test_train_split_never_shows_heldout_combos_and_heldout_always_does():
    tr, ho = world(), world(split="heldout")
    for i in range(100):
        assert all((o.color, o.shape) not in HELDOUT_COMBOS for o in tr.spec(i).objects)
        assert (ho.spec(i).objects[0].color, ho.spec(i).objects[0].shape) in HELDOUT_COMBOS


def test_heldout_captions_use_unseen_templates():
    heads_train = {t.split("{")[0] for t in TRAIN_TEMPLATES if not t.startswith("{")}
    for cap in world(split="heldout").scene(0).captions:
        assert not any(cap.startswith(h) for h in heads_train if h)
    assert {t.split(" ")[0] for t in HELDOUT_TEMPLATES}.isdisjoint({"there", "this", "on", "a"})


def test_test_split_is_a_different_stream():
    assert world().spec(0) != world(split="test").spec(0)


def test_relation_uses_the_dominant_axis():
    a = ObjectSpec("circle", "red", "small", 0.2, 0.5, 0.1)
    b = ObjectSpec("star", "blue", "small", 0.7, 0.55, 0.1)
    assert relation(a, b) == "left of" and relation(b, a) == "right of"
    c = ObjectSpec("star", "blue", "small", 0.3, 0.9, 0.1)
    assert relation(a, c) == "above" and relation(c, a) == "below"


def test_gaze_free_viewing_and_text_guided():
    w = world(min_objects=2, max_objects=3, image_size=64, observers=15)
    on_target = {"salient": [], "nonsalient": []}
    for i in range(30):
        spec = w.spec(i)
        sal = w.object_salience(spec)
        for cat in ("salient", "nonsalient"):
            g = w.gaze(i, cat)
            t = int(np.argmax(sal) if cat == "salient" else np.argmin(sal))
            assert g.target_objects == (t,)
            assert parse_caption(g.text)[0]["shape"] == spec.objects[t].shape
            s = w.scene(i)
            hits = s.masks[t][g.fixations.y.astype(int), g.fixations.x.astype(int)]
            on_target[cat].append(hits.mean())
    # most fixations land on the object the text names
    assert np.mean(on_target["salient"]) > 0.5 and np.mean(on_target["nonsalient"]) > 0.5
    g = w.gaze(0, "none")
    assert g.text is None and g.fixations.num_observers == 15
    assert g.density.shape == (64, 64) and g.density.max() == pytest.approx(1.0) and g.density.min() >= 0
    assert (g.fixations.x >= 0).all() and (g.fixations.x < 64).all()


def test_free_viewing_prefers_salient_objects():
    w = world(min_objects=2, max_objects=2, image_size=64, observers=20)
    more = 0
    for i in range(30):
        g, s = w.gaze(i, "none"), w.scene(i)
        sal = w.object_salience(s.spec)
        hit = [s.masks[k][g.fixations.y.astype(int), g.fixations.x.astype(int)].sum() for k in range(2)]
        more += hit[int(np.argmax(sal))] >= hit[int(np.argmin(sal))]
    assert more >= 22


def test_saliency_records_for_every_category():
    w = world(min_objects=2)
    for cat in SALIENCY_CATEGORIES:
        r = w.saliency_record(1, cat)
        assert r.category == cat and (r.text is None) == (cat == "none")
        assert r.fixation_map.shape == (64, 64) and len(r.fixations) > 0
    with pytest.raises(InputError, match="unknown saliency category"):
        w.gaze(0, "bogus")


@pytest.mark.parametrize("op", ["colour", "shape", "size", "remove", "add"])
def test_manipulation_changes_exactly_one_object(op):
    w = world(min_objects=2, max_objects=2)
    p = w.manipulation(4, op)
    src, tgt = p.source_spec.objects, p.target_spec.objects
    diff = np.abs(np.asarray(p.source, dtype=int) - np.asarray(p.target, dtype=int)).max(-1) > 0
    assert diff.any() and not diff[~p.change_mask].any()  # nothing changed outside the mask
    if op in ("colour", "shape", "size"):
        changed = [k for k in range(len(src)) if src[k] != tgt[k]]
        assert len(changed) == 1
        o = src[changed[0]]
        assert f"the {o.color} {o.shape}" in p.instruction
    elif op == "remove":
        assert len(tgt) == len(src) - 1 and p.instruction.startswith("remove the ")
    else:
        assert len(tgt) == len(src) + 1 and p.instruction.startswith("add ")
    assert parse_caption(p.target_caption) and p.operation == op


def test_manipulation_rejects_impossible_edits():
    with pytest.raises(InputError):
        world(min_objects=1, max_objects=1).manipulation(0, "remove")
    with pytest.raises(InputError):
        world().manipulation(0, "explode")


def test_bad_config_is_rejected():
    with pytest.raises(InputError):
        WorldConfig(image_size=8)
    with pytest.raises(InputError):
        WorldConfig(min_objects=2, max_objects=1)
    with pytest.raises(InputError):
        WorldConfig(split="val")
    with pytest.raises(InputError):
        WorldConfig(backgrounds=["mars"])


def test_slot_targets_sort_left_to_right_and_pad():
    objs = [ObjectSpec("star", "blue", "large", 0.8, 0.5, 0.2), ObjectSpec("circle", "red", "small", 0.2, 0.5, 0.1)]
    t = slot_targets(objs, "grey")
    assert t["count"] == 1 and t["shape"] == [SHAPES.index("circle"), SHAPES.index("star"), len(SHAPES)]
    assert t["position_mask"] == [1.0, 1.0, 0.0]
    t2 = slot_targets([{"color": "red", "shape": "circle", "size": None}])
    assert t2["size"][0] == -100


def test_parse_caption_free_form():
    p = parse_caption("A small red circle left of a big blue square")
    assert p[0] == {"color": "red", "shape": "circle", "size": "small", "relation": "left of"}
    assert p[1] == {"color": "blue", "shape": "square", "size": "large"}
    assert parse_caption("a star colored pink that is tiny") == [{"color": "pink", "shape": "star", "size": "small"}]


def test_render_scene_accepts_a_hand_built_spec():
    spec = SceneSpec((ObjectSpec("hexagon", "cyan", "large", 0.5, 0.5, 0.2),), "night")
    img, masks, boxes = render_scene(spec, 32)
    assert img.size == (32, 32) and masks.shape == (1, 32, 32)


@pytest.mark.parametrize("max_objects", [1, 3])
def test_contrastive_captions_change_exactly_one_attribute_word(max_objects):
    w = SyntheticWorld(WorldConfig(seed=2, max_objects=max_objects))
    seen = set()
    for i in range(60):
        spec, true, hard = w.spec(i), w.scene_captions(i), w.contrastive_captions(i)
        assert hard == w.contrastive_captions(i) and len(hard) == len(true)  # deterministic
        for a, b in zip(true, hard):
            pa, pb = parse_caption(a), parse_caption(b)
            diff = [(j, k) for j, (x, y) in enumerate(zip(pa, pb)) for k in ("color", "shape", "size") if x[k] != y[k]]
            assert len(diff) == 1, (a, b)
            assert len(a.split()) == len(b.split())
            seen.add(diff[0][1])
            # a train caption never names a held-out colour/shape pair, nor two equal objects
            assert not {(o["color"], o["shape"]) for o in pb} & HELDOUT_COMBOS
            assert len({(o["color"], o["shape"]) for o in pb}) == len(spec.objects)
    assert seen == {"color", "shape", "size"}


def test_contrastive_captions_keep_articles_and_attribute_choice():
    w = SyntheticWorld(WorldConfig(seed=0, max_objects=1))
    for i in range(40):
        for a, b in zip(w.scene_captions(i), w.contrastive_captions(i, ("shape",))):
            assert parse_caption(a)[0]["color"] == parse_caption(b)[0]["color"]
            assert parse_caption(a)[0]["shape"] != parse_caption(b)[0]["shape"]
    for i in range(80):  # colour changes move articles: "a red star" -> "an orange star"
        for b in w.contrastive_captions(i, ("colour",)):
            toks = b.split()
            for art, nxt in zip(toks, toks[1:]):
                if art in ("a", "an"):
                    assert (art == "an") == (nxt[0] in "aeiou"), b
    with pytest.raises(InputError, match="subset"):
        w.contrastive_captions(0, ("texture",))
    # a held-out scene's only object must keep its unseen combination: no shape change is legal
    with pytest.raises(InputError, match="allows no change"):
        SyntheticWorld(WorldConfig(seed=0, max_objects=1, split="heldout")).contrastive_captions(0, ("shape",))
