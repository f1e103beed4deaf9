import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`), or the one MLC_SIM_CHROMIUM names. */
const CHROMIUM = process.env.MLC_SIM_CHROMIUM ?? '/usr/bin/chromium';

/** Where the browser specs leave their screenshots (gitignored). */
export const TEST_OUTPUT = path.resolve('test-output');

/** The widths the pages must read at: a phone held upright, and a desktop monitor. */
export const WIDTHS = [480, 1920] as const;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (README: Development), or set MLC_SIM_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // Nothing of the browser's own may reach the network: the specs check that the pages fetch nothing outside.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records its console errors and every request outside loopback and files (and refuses those). */
export async function watchedPage(browser: Browser, width: number): Promise<{ page: Page; consoleErrors: string[]; outsideRequests: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 1000 } });
  const consoleErrors: string[] = [];
  const outsideRequests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'file:' || url.protocol === 'data:' || url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue();
    outsideRequests.push(url.href);
    return route.abort();
  });
  return { page, consoleErrors, outsideRequests };
}

/** A full-page screenshot into the test output, named by what it shows and its width. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const file = path.join(TEST_OUTPUT, `${name}-${page.viewportSize()?.width ?? 0}px.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** How the page reads at its width: sideways overflow in pixels, and the smallest font size of visible text. */
export function layoutOf(page: Page): Promise<{ overflow: number; smallestFontPx: number }> {
  return page.evaluate(() => {
    const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    let smallestFontPx = Infinity;
    for (const element of document.querySelectorAll('body *')) {
      if (!(element instanceof HTMLElement) || element.offsetParent === null) continue;
      const hasText = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && (node.textContent ?? '').trim() !== '');
      if (hasText) smallestFontPx = Math.min(smallestFontPx, parseFloat(getComputedStyle(element).fontSize));
    }
    return { overflow, smallestFontPx };
  });
}
