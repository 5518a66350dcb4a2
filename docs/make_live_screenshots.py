"""Take the screenshots of the live pages: two agents on one ticket (presence, typing) and the
notifications page after a live notice. Same set-up as ``make_screenshots.py`` (demo data, ``tierroute up``
on a throw-away data dir, Debian's chromium); saves ``docs/screenshots/{collision,notifications}.png``.

Usage: python docs/make_live_screenshots.py [--port 8798]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from make_screenshots import OUT, REPO, environment, lead_token, wait_until_routed  # beside this script
from playwright.async_api import Browser, Page, async_playwright

#: A data dir of its own, so both scripts may run at once.
DATA = Path("/tmp/tierroute-live-screenshots")

ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"]


async def signed_in(browser: Browser, base: str, email: str) -> Page:
    page = await browser.new_page(base_url=base, viewport={"width": 1280, "height": 860})
    await page.goto("/ui/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("demo")
    await page.get_by_label("Password").press("Enter")
    await page.get_by_role("heading", name="My queues").wait_for()
    return page


async def shoot(base: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
        lena = await signed_in(browser, base, "lena@support.example")
        frank = await signed_in(browser, base, "frank@support.example")
        await lena.goto("/ui/queues/1")
        link = lena.locator("table a[href^='/ui/tickets/']").first
        ticket_url = str(await link.get_attribute("href"))
        await lena.goto(ticket_url)
        await frank.goto(ticket_url)
        await frank.get_by_label("Reply to").press_sequentially("Could you send us the request id", delay=30)
        await lena.get_by_text("Frank").first.wait_for()
        await lena.get_by_text("is typing a reply").wait_for()
        await lena.screenshot(path=OUT / "collision.png", clip={"x": 0, "y": 0, "width": 1280, "height": 420})
        await frank.goto("/ui/")
        await lena.get_by_label("Agent").select_option(label="Frank Frontline (agent)")
        await lena.get_by_label("Reason (required)").last.fill("Frank knows this customer")
        await lena.get_by_role("button", name="Reassign").click()
        await frank.get_by_text("New notification:").wait_for()
        await frank.goto("/ui/notifications")
        await frank.screenshot(path=OUT / "notifications.png")
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    env = environment() | {"TIERROUTE_DATA_DIR": str(DATA)}
    cli = [sys.executable, "-m", "router.cli"]
    demo = subprocess.run([*cli, "demo"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True)
    token = lead_token(demo.stdout)
    log = (DATA / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "up", "--port", str(args.port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        asyncio.run(wait_until_routed(base, token, expected=190))
        asyncio.run(shoot(base))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    for name in ("collision", "notifications"):
        print(f"{OUT / name}.png: {(OUT / f'{name}.png').stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
