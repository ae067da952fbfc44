/**
 * The server's logger seam: anything with info/warn/error works (console,
 * pino, ...). `silentLogger` is for tests and embedding. Details may be
 * errors or plain objects of fields (`{ socketId }`, `{ reqId }`); the JSON
 * logger (`logging/json.ts`) makes them fields, the console prints them.
 */
export interface Logger {
  /** Per socket and per request detail; optional (the console logger leaves it out). */
  debug?(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Logs nothing. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Prefixes messages with `[plume]` on the console. */
export const consoleLogger: Logger = {
  info: (message, ...details) => console.log(`[plume] ${message}`, ...details),
  warn: (message, ...details) => console.warn(`[plume] ${message}`, ...details),
  error: (message, ...details) => console.error(`[plume] ${message}`, ...details),
};
