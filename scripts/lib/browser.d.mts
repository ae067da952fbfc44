// Types for browser.mjs, so playwright.config.ts can import it under tsc.
export declare const SYSTEM_CHROMIUM: string;
export declare class ChromiumNotFound extends Error {
  code: 'CHROMIUM_NOT_FOUND';
}
export declare function locateChromium(): { path: string; source: 'CHROMIUM_PATH' | 'playwright' | 'system' } | null;
export declare function findChromium(options?: { install?: boolean }): Promise<string>;
