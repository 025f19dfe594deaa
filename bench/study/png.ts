/**
 * The study's SVG chart as a PNG, rendered by Debian's Chromium through playwright-core (already a dependency
 * for the dashboard's browser tests; never a downloaded browser), so the README shows a picture even where SVG
 * is not displayed. No native image library needed. Returns false, and the caller keeps the SVG alone, when no
 * Chromium is installed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function renderPng(svg: string, file: URL): Promise<boolean> {
  if (!existsSync(CHROMIUM)) return false;
  const size = /width="(\d+)" height="(\d+)"/.exec(svg);
  const width = Number(size?.[1] ?? 1000);
  const height = Number(size?.[2] ?? 400);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    writeFileSync(file, await page.locator('svg').screenshot());
    return true;
  } finally {
    await browser.close();
  }
}
