"""The web demo in a real browser, as a person uses it: type a caption and generate; upload a photo in the
saliency tab and get the overlay; edit a synthetic example; compare two models; and see each limit's
message on the page (empty caption, a caption cut at 200 characters, a non-image upload, a picture over the
pixel limit). Screenshots of every tab are saved under tmp_path (``WORDSIGHT_DEMO_SHOTS=DIR`` saves them
there too: how docs/images/demo_*.png are made).

Skipped without playwright (pip install playwright) or Debian's chromium (apt-get install -y chromium;
.ci/run installs it when apt-get works)."""

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the web demo needs gradio: pip install 'wordsight[demo]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install playwright")

CHROMIUM = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").is_file() else (
    Path(shutil.which("chromium")) if shutil.which("chromium") else None)
if CHROMIUM is None:
    pytest.skip("needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium", allow_module_level=True)

from wordsight.app import handlers  # noqa: E402
from wordsight.app.server import launch  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    extra = os.environ.get("WORDSIGHT_DEMO_SHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        for shot in folder.glob("*.png"):
            shutil.copy(shot, Path(extra) / shot.name)


@pytest.fixture(scope="module")
def page(shots):
    demo, url = launch(port=_free_port())
    try:
        with sync_api.sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"])
            except Exception as exc:  # a chromium that cannot start here (no sandbox support, missing libraries)
                pytest.skip(f"chromium did not start: {exc}")
            try:
                pg = browser.new_page(viewport={"width": 1280, "height": 1400})
                pg.set_default_timeout(TIMEOUT_MS)
                pg.goto(url, wait_until="domcontentloaded")
                pg.get_by_label("Caption").first.wait_for(state="visible")
                yield pg
            finally:
                browser.close()
    finally:
        demo.close()


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _shot(page, shots: Path, name: str) -> Path:
    path = shots / f"demo_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def _upload(page, tab: str, elem_id: str, path: Path) -> None:
    """Put ``path`` into the gr.File ``elem_id`` on ``tab``, clearing what an earlier test uploaded there first.

    Gradio 6.31's upload widget sometimes stays on "Uploading..." for good although both upload requests have
    finished (seen here in about one upload in ten, by hand and in this file; a reload brings the page back).
    That is Gradio's front end, not the demo's handlers, which these tests are about: so after 15 s without the
    file's name, reload the page and upload again (three tries)."""
    for attempt in range(3):
        box = page.locator(f"#{elem_id}")
        clear = box.locator("button[aria-label='Clear']")
        if clear.count() and clear.first.is_visible():
            clear.first.click()
            clear.first.wait_for(state="hidden")
        box.locator("input[type=file]").set_input_files(str(path))
        try:
            box.get_by_text(path.name).first.wait_for(state="visible", timeout=15_000)
            return
        except sync_api.TimeoutError:
            if attempt == 2:
                raise
            page.reload(wait_until="domcontentloaded")
            page.get_by_label("Caption").first.wait_for(state="visible")
            _tab(page, tab)


def _expect_message(page, text: str) -> None:
    """A Gradio error toast (or warning) holding ``text`` appears; then it is closed so the next one is new."""
    toast = page.get_by_text(text, exact=False).first
    toast.wait_for(state="visible")
    for close in page.locator(".toast-close").all():
        if close.is_visible():
            close.click()


def test_type_a_caption_click_generate_and_see_images(page, shots):
    _tab(page, "Text to image")
    page.get_by_label("Caption").first.fill("a big blue square")
    page.locator("#generate-button").click()
    page.wait_for_function("document.querySelectorAll('#generate-gallery img').length >= 4")
    assert page.locator("#generate-gallery img").count() >= 4
    _shot(page, shots, "text_to_image")


def test_caption_limits_show_on_the_page(page):
    _tab(page, "Text to image")
    box = page.get_by_label("Caption").first
    box.fill("x" * (handlers.MAX_CAPTION_CHARS + 100))  # the box itself stops at the limit
    assert len(box.input_value()) == handlers.MAX_CAPTION_CHARS
    box.fill("   ")
    page.locator("#generate-button").click()
    _expect_message(page, "the caption is empty")


def test_upload_a_photo_and_see_where_people_look(page, shots, tmp_path):
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    pixels = np.full((96, 128, 3), 200, np.uint8)
    pixels[30:60, 70:110] = rng.integers(0, 80, (30, 40, 3))  # one dark, textured object
    Image.fromarray(pixels).save(photo)
    _tab(page, "Saliency")
    _upload(page, "Saliency", "saliency-upload", photo)
    page.locator("#saliency-button").click()
    page.locator("#saliency-overlay img").first.wait_for(state="visible")
    _shot(page, shots, "saliency")


def test_non_image_and_too_many_pixels_are_refused_with_a_message(page, tmp_path):
    _tab(page, "Saliency")
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"this is a text file, not a PNG\n" * 10)
    _upload(page, "Saliency", "saliency-upload", fake)
    page.locator("#saliency-button").click()
    _expect_message(page, "is not an image this demo can read")
    side = int((handlers.MAX_PIXELS * 1.1) ** 0.5) + 1  # just over the limit; one flat colour compresses to a few kB
    big = tmp_path / "big.png"
    Image.new("L", (side, side), 128).save(big, optimize=False)
    assert big.stat().st_size < handlers.MAX_UPLOAD_BYTES
    _upload(page, "Saliency", "saliency-upload", big)
    page.locator("#saliency-button").click()
    _expect_message(page, f"the limit is {handlers.MAX_PIXELS // 10**6} MP")


def test_edit_a_synthetic_example_with_a_sentence(page, shots):
    _tab(page, "Manipulation")
    page.get_by_label("...or a synthetic example (used when nothing is uploaded)").click()
    page.get_by_role("option").first.click()
    page.locator("#edit-button").click()
    page.locator("#manipulate-edited img").first.wait_for(state="visible")
    assert page.locator("#manipulate-original img").count() >= 1
    _shot(page, shots, "manipulation")


def test_compare_two_models_side_by_side(page, shots):
    _tab(page, "Compare")
    page.locator("#compare-button").click()
    page.wait_for_function("document.querySelectorAll('#compare-gallery-a img').length >= 1 && "
                           "document.querySelectorAll('#compare-gallery-b img').length >= 1")
    _shot(page, shots, "compare")
