"""Take the README's screenshots of the administration pages, the ticket history, the keyboard help, the
offline API documentation, My tickets and search results (issue 17): the same demo server as
``make_screenshots.py``, in a data dir of its own (``/tmp/tierroute-screenshots-workspace``).

Saves ``docs/screenshots/{agents,agent,customers,customer,ticket-history,keyboard-help,api-docs}.png``
and ``docs/screenshots/{search,my-tickets,macros,macro-preview}.png``.

Usage: python docs/make_workspace_screenshots.py [--port 8797]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import make_screenshots as base_shots
from playwright.async_api import Page, async_playwright

OUT = base_shots.OUT
NAMES = (
    "agents",
    "agent",
    "customers",
    "customer",
    "ticket-history",
    "keyboard-help",
    "api-docs",
    "search",
    "my-tickets",
    "macros",
    "macro-preview",
)


async def pages(page: Page) -> None:
    await page.goto("/ui/login")
    await page.get_by_label("Email").fill("lena@support.example")
    await page.get_by_label("Password").fill("demo")
    await page.get_by_label("Password").press("Enter")
    await page.get_by_role("heading", name="My queues").wait_for()
    await page.keyboard.press("?")
    await page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    await page.screenshot(path=OUT / "keyboard-help.png")
    await page.keyboard.press("Escape")

    await page.goto("/ui/admin/agents")
    await page.screenshot(path=OUT / "agents.png", full_page=True)
    await page.get_by_role("link", name="Frank", exact=False).first.click()
    await page.get_by_role("heading", name="API tokens").wait_for()
    await page.screenshot(path=OUT / "agent.png", full_page=True)

    await page.goto("/ui/admin/customers")
    await page.screenshot(path=OUT / "customers.png", full_page=True)
    await page.locator("main table tbody a").first.click()
    await page.get_by_role("heading", name="Mail domains").wait_for()
    await page.screenshot(path=OUT / "customer.png", full_page=True)

    await page.goto("/ui/queues/1")
    await page.locator("main table tbody a").first.click()
    history = page.locator(".ticket-history")
    await history.wait_for()
    await history.screenshot(path=OUT / "ticket-history.png")
    picker = page.locator("#macro-picker")
    await picker.get_by_label("Macro").select_option(label="Ask for logs")
    await picker.get_by_role("button", name="Preview macro").click()
    await page.locator("#macro-message").wait_for()
    await page.locator("#macro-picker").screenshot(path=OUT / "macro-preview.png")

    await page.goto("/ui/macros")
    await page.screenshot(path=OUT / "macros.png", full_page=True)

    await page.goto("/ui/")
    await page.get_by_role("button", name="Claim next").first.click()  # something of Lena's own
    await page.goto("/ui/my")
    await page.screenshot(path=OUT / "my-tickets.png", full_page=True)
    await page.get_by_role("searchbox").first.fill("payment")
    await page.get_by_role("searchbox").first.press("Enter")
    await page.wait_for_url(re.compile(r"/ui/tickets\?"))  # /ui/search hands text to the tickets list
    await page.locator("main table tbody tr").first.wait_for()
    await page.screenshot(path=OUT / "search.png", full_page=True)

    await page.goto("/docs")
    await page.locator(".swagger-ui .info .title").wait_for()
    await page.screenshot(path=OUT / "api-docs.png")


async def shoot(url: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-background-networking"]
        )
        await pages(await browser.new_page(base_url=url, viewport={"width": 1280, "height": 860}))
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8797)
    args = parser.parse_args()
    base_shots.DATA = data = Path("/tmp/tierroute-screenshots-workspace")
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env = base_shots.environment()
    cli = [sys.executable, "-m", "router.cli"]
    repo = base_shots.REPO
    demo = subprocess.run([*cli, "demo"], cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=True)
    token = base_shots.lead_token(demo.stdout)
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "up", "--port", str(args.port)], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        asyncio.run(base_shots.wait_until_routed(url, token, expected=190))
        asyncio.run(shoot(url))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    for name in NAMES:
        print(f"{OUT / name}.png: {(OUT / f'{name}.png').stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
