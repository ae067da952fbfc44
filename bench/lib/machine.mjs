/**
 * What a benchmark run was measured on: the machine, its load and pinning,
 * and the versions of the contenders, as every bench's report shows above
 * its tables. Other work on the machine skews every figure, so the load
 * average is kept with the results.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/proc.mjs';

/** The installed version of a package. @example packageVersion('socket.io') // '4.8.4' */
export function packageVersion(pkg) {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

/**
 * @param pin what `pinning()` decided (`{ pinned, cores, note }`)
 * @param versions the contenders' versions, by name
 * @param pinnedText how the pinning reads when it happened (default: "Pinned with taskset: <note>")
 */
export function describeMachine(pin, versions, pinnedText = `Pinned with taskset: ${pin.note}`) {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: pin.cores,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    pinning: pin.pinned ? pinnedText : `Not pinned: ${pin.note}`,
    pinned: pin.pinned,
    versions,
  };
}
