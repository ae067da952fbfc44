/**
 * Late join: a document built from many updates (by one editor socket, in
 * order, each echoed before the window moves on), then new clients join it
 * one after another, each from an empty document: the bytes the server
 * sent to it, and the time from opening its socket until the update it got
 * is applied to a fresh `Y.Doc` and holds the whole text (checked).
 */
import * as Y from 'yjs';
import { DocClient } from './client.mjs';
import { cpuSeconds } from './cpu.mjs';
import { build } from './loader.mjs';

/** @param {{ updates: Uint8Array[], text: string, joins: number }} config */
export async function lateJoin(contender, server, { updates, text, joins }) {
  const t0 = performance.now();
  const builder = await build(contender, server.port, 'late', updates, { window: 200 });
  const buildMs = performance.now() - t0;
  const joinRuns = [];
  const cpuBefore = cpuSeconds(server.pid);
  for (let i = 0; i < joins; i++) {
    const started = performance.now();
    const client = await DocClient.open(contender, server.port, 'late');
    const doc = new Y.Doc();
    Y.applyUpdate(doc, client.state);
    const ms = performance.now() - started;
    const bytes = client.bytesIn;
    const whole = doc.getText('body').toString() === text;
    joinRuns.push({ ms, upgradeMs: client.upgradedAt - started, joinMs: client.joinedAt ? client.joinedAt - started : null, syncMs: client.syncedAt - started, bytes, stateBytes: client.state.length, whole });
    client.close();
    doc.destroy();
    await new Promise((r) => setTimeout(r, 100));
  }
  const cpuPerJoinMs = ((cpuSeconds(server.pid)) - cpuBefore) * 1000 / joins;
  builder.close();
  const byMs = [...joinRuns].sort((a, b) => a.ms - b.ms);
  const median = byMs[(byMs.length - 1) >> 1];
  return { buildMs, ms: median.ms, minMs: byMs[0].ms, syncMs: median.syncMs, bytes: median.bytes, stateBytes: median.stateBytes, cpuPerJoinMs, whole: joinRuns.every((r) => r.whole), joins: joinRuns };
}
