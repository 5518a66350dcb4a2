"""Take the README's screenshots of the agent UI: demo data, a real server, Debian's chromium.

Runs ``tierroute demo`` and ``tierroute up`` on a throw-away data dir (SQLite and embedded Redis under
``/tmp/tierroute-screenshots``: nothing shared is touched), signs in as the demo lead and saves
``docs/screenshots/{sign-in,my-queues,queue,ticket}.png``.

Usage: python docs/make_screenshots.py [--port 8799]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
DATA = Path("/tmp/tierroute-screenshots")


def environment() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIERROUTE_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["TIERROUTE_DATA_DIR"] = str(DATA)
    return env


def lead_token(demo_output: str) -> str:
    for line in demo_output.splitlines():
        if "token:" in line:
            return line.rsplit(" ", 1)[-1].strip()
    raise RuntimeError(f"no token in the demo output:\n{demo_output}")


async def wait_until_routed(base: str, token: str, expected: int) -> None:
    """The server's workers route the demo tickets; wait until the queues hold (nearly) all of them."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                queues = (await client.get("/api/v1/queues")).json()
                if isinstance(queues, list) and sum(q["depth"] for q in queues) >= expected:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the demo tickets were not routed within two minutes")


async def shoot(base: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page(base_url=base, viewport={"width": 1280, "height": 860})
        await page.goto("/ui/login")
        await page.get_by_label("Email").fill("lena@support.example")
        await page.screenshot(path=OUT / "sign-in.png")
        await page.get_by_label("Password").fill("demo")
        await page.get_by_label("Password").press("Enter")
        await page.get_by_role("heading", name="My queues").wait_for()
        await page.screenshot(path=OUT / "my-queues.png")
        await page.get_by_role("link", name="Tier 2 ·").click()
        await page.get_by_role("heading", name="Tier 2").wait_for()
        await page.screenshot(path=OUT / "queue.png")
        await page.get_by_role("button", name="Claim next").click()
        await page.get_by_text("You claimed").wait_for()
        await page.get_by_label("Reply to").fill("Thanks for the report: we are looking at the failing calls now.")
        await page.get_by_role("button", name="Send reply").click()
        await page.get_by_text("Reply queued").wait_for()
        await page.get_by_label("Reply to").fill("Errors started with the 9:00 deploy; checking with the API team.")
        await page.get_by_role("button", name="Add internal note").click()
        await page.get_by_text("Internal note added").wait_for()
        await page.screenshot(path=OUT / "ticket.png", full_page=True)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    OUT.mkdir(parents=True, exist_ok=True)
    env = environment()
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
    for name in ("sign-in", "my-queues", "queue", "ticket"):
        print(f"{OUT / name}.png: {(OUT / f'{name}.png').stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
