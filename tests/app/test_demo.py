"""The Gradio page: it builds, and a server started on a free loopback port answers gradio_client calls
(skipped when gradio is not installed: pip install 'wordsight[demo]')."""

import socket

import pytest
from PIL import Image

gr = pytest.importorskip("gradio", reason="the web demo needs gradio: pip install 'wordsight[demo]'")
gradio_client = pytest.importorskip("gradio_client", reason="needs gradio_client: pip install 'wordsight[demo]'")

from wordsight.app import handlers as h  # noqa: E402
from wordsight.app.demo import build_demo  # noqa: E402
from wordsight.app.server import launch  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    demo, url = launch(port=_free_port())
    yield url
    demo.close()


def test_the_page_builds_with_every_tab_and_endpoint():
    demo = build_demo()
    assert isinstance(demo, gr.Blocks)
    tabs = [b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs == ["Text to image", "Manipulation", "Saliency", "Compare"]
    names = {d.api_name for d in demo.fns.values()}
    assert {"generate", "interpolate", "manipulate", "manipulate_interpolation", "saliency", "compare"} <= names
    assert "saliency_osie" not in names and "retrieve" not in names  # only with --osie / a TIRG model


def test_the_server_binds_loopback_and_generates_through_gradio_client(server):
    assert server.startswith("http://127.0.0.1:")
    client = gradio_client.Client(server, verbose=False)
    gallery, notes, stages, attention = client.predict(h.SHIPPED, "a small red zebra circle", 2, 0, 0, api_name="/generate")
    assert len(gallery) == 2
    assert Image.open(gallery[0]["image"]).size == (64, 64)
    assert "zebra" in notes
    assert stages == [] and attention == []  # DF-GAN: one stage, no word attention


def test_a_limit_comes_back_as_a_clear_error(server, tmp_path):
    client = gradio_client.Client(server, verbose=False)
    with pytest.raises(Exception, match="the limit is 200"):
        client.predict(h.SHIPPED, "x" * 201, 1, 0, 0, api_name="/generate")
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    with pytest.raises(Exception, match="notes.png is not an image"):
        client.predict(gradio_client.handle_file(str(notes)), "synthetic-text", "", api_name="/saliency")


def test_saliency_endpoint_returns_an_overlay_and_a_16_bit_map(server, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), (10, 200, 10)).save(photo)
    client = gradio_client.Client(server, verbose=False)
    overlay, raw, notes = client.predict(gradio_client.handle_file(str(photo)), "synthetic-text", "a green square",
                                         api_name="/saliency")
    assert Image.open(overlay).size == (40, 30)
    assert Image.open(raw).mode.startswith("I")
    assert "text-guided" in notes


def test_manipulate_and_compare_endpoints(server):
    client = gradio_client.Client(server, verbose=False)
    original, edited, notes = client.predict(None, 0, "a big red square", api_name="/manipulate")
    assert Image.open(original).size == Image.open(edited).size == (64, 64)
    a, b, notes = client.predict(h.SHIPPED, h.SHIPPED, "a large green star", 2, 1, api_name="/compare")
    assert len(a) == len(b) == 2
    assert "oracle reads in these 2 images" in notes and "| A |" in notes and "| B |" in notes
    with pytest.raises(Exception, match="no image: upload one or pick a synthetic example"):
        client.predict(None, None, "a big red square", api_name="/manipulate")


@pytest.fixture(scope="module")
def full_server(tmp_path_factory):
    """A server with an AttnGAN and a TIRG model under --models and (when present) the OSIE data."""
    from app_fixtures import OSIE, tiny_attngan_folder, tiny_tirg_folder

    root = tmp_path_factory.mktemp("models")
    attngan, tirg = tiny_attngan_folder(root), tiny_tirg_folder(root)
    osie = OSIE if (OSIE / "eye" / "fixations.mat").is_file() else None
    demo, url = launch(root, port=_free_port(), osie=osie)
    yield url, attngan, tirg, osie, {d.api_name for d in demo.fns.values()}
    demo.close()


def test_stages_attention_interpolation_and_retrieval_endpoints(full_server):
    url, attngan, tirg, osie, names = full_server
    assert {"retrieve", "interpolate", "manipulate_interpolation"} <= names
    client = gradio_client.Client(url, verbose=False)
    gallery, notes, stages, attention = client.predict(str(attngan), "a small red circle", 2, 0, 0, api_name="/generate")
    assert len(gallery) == 2 and len(stages) == 2 and len(attention) == 2
    assert [Image.open(s["image"]).size for s in stages] == [(16, 16), (32, 32)]
    strip, notes = client.predict(h.SHIPPED, "a small red circle", "a big blue square", 4, 0, api_name="/interpolate")
    assert len(strip) == 4 and "left: 'a small red circle'" in notes
    strip, notes = client.predict(None, 0, "a small blue circle", "a big red square", 3, api_name="/manipulate_interpolation")
    assert len(strip) == 3
    hits, notes = client.predict(str(tirg), None, 0, "a big red square", api_name="/retrieve")
    assert len(hits) == h.RETRIEVAL_TOP_K and hits[0]["caption"].startswith("1. ") and "synthetic" in notes
    about = client.predict(str(attngan), api_name="/model_info")
    assert "7 steps" in about and "| test |" in about


def test_osie_endpoint_shows_the_people_beside_the_model(full_server):
    url, _, _, osie, names = full_server
    if osie is None:
        pytest.skip("needs the OSIE data at ../shared/data/osie")
    client = gradio_client.Client(url, verbose=False)
    stem = h.osie_stems(osie)[0]
    photo, predicted, human, notes = client.predict(stem, "osie", "", api_name="/saliency_osie")
    assert Image.open(photo).size == Image.open(human).size == (800, 600)
    assert "This image: NSS" in notes and "AUC-J" in notes
