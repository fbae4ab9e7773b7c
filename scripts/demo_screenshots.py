"""Screenshots of the web demo for the README and docs/demo.md (docs/images/demo_*.png).

    python scripts/demo_screenshots.py --osie ../shared/data/osie --out docs/images

Starts ``wordsight serve`` in-process on a free loopback port, drives Debian's chromium with Playwright
(headless) through the four tabs and saves one picture per tab: a caption generated, an OSIE photo's
predicted map beside its human fixations, a synthetic example edited, two models compared.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osie", type=Path, required=True, help="OSIE folder (stimuli/, eye/fixations.mat)")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--caption", default="a big blue square")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from wordsight.app import handlers
    from wordsight.app.server import launch

    stems = handlers.osie_stems(args.osie)
    photo = next((args.osie / "stimuli").glob(f"{stems[0]}.*"))
    args.out.mkdir(parents=True, exist_ok=True)
    demo, url = launch(port=_free_port(), osie=args.osie)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(url, wait_until="domcontentloaded")

            def shot(name: str) -> None:
                for close in page.locator(".toast-close").all():  # notes shown as toasts would cover the page
                    if close.is_visible():
                        close.click()
                page.wait_for_timeout(500)
                path = args.out / f"demo_{name}.png"
                page.screenshot(path=str(path), full_page=False)
                print(f"wrote {path}")

            page.get_by_label("Caption").first.fill(args.caption)
            page.locator("#generate-button").click()
            page.wait_for_function("document.querySelectorAll('#generate-gallery img').length >= 4")
            page.locator("#generate-gallery").scroll_into_view_if_needed()
            shot("text_to_image")

            page.get_by_role("tab", name="Saliency").click()
            page.locator("#saliency-upload input[type=file]").set_input_files(str(photo))
            page.locator("#saliency-upload button[aria-label='Clear']").first.wait_for(state="visible")
            page.locator("#saliency-button").click()
            page.locator("#saliency-overlay img").first.wait_for(state="visible")
            page.locator("#osie-button").click()
            page.locator("#osie-human img").first.wait_for(state="visible")
            page.locator("#osie-button").scroll_into_view_if_needed()
            shot("saliency")

            page.get_by_role("tab", name="Manipulation").click()
            page.get_by_label("...or a synthetic example (used when nothing is uploaded)").click()
            page.get_by_role("option").first.click()
            page.locator("#edit-button").click()
            page.locator("#manipulate-edited img").first.wait_for(state="visible")
            shot("manipulation")

            page.get_by_role("tab", name="Compare").click()
            page.locator("#compare-button").click()
            page.wait_for_function("document.querySelectorAll('#compare-gallery-b img').length >= 1")
            page.locator("#compare-button").scroll_into_view_if_needed()
            shot("compare")
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
