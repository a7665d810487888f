// Headless Chromium for the page-level tests, the demo screenshots and the
// benchmark: Debian's /usr/bin/chromium (or $CHROMIUM) driven by
// playwright-core, which never downloads a browser. As root and on a machine
// with no outside network, Chromium needs these flags.
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function launchChromium(options = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    ...options,
  });
}
