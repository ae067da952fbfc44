/**
 * Plume's peer-assisted fan-out, a separate entry point (`plume/mesh`) so
 * the core client stays small: room members relay the server's signed
 * broadcasts to each other over WebRTC data channels, so the server sends
 * each broadcast to a few members instead of all of them.
 *
 * @example
 * import { Socket } from 'plume';
 * import { mesh } from 'plume/mesh';
 * const socket = new Socket('/socket', { params: { name: 'Ada' }, mesh: mesh({ iceServers: [{ urls: 'stun:stun.example.org' }] }) });
 * const room = socket.channel('room:lobby');
 * room.join();
 * setInterval(() => console.log(room.stats().mesh), 5000); // peers, relayed vs direct, forgeries
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { MeshFactory } from '../sync';
import { ChannelMesh } from './mesh';
import type { SimplePeerConstructor } from './peer';

/** Options for {@link mesh}. */
export interface MeshOptions {
  /** STUN/TURN servers. Default `[]`: works on a LAN or one machine (host candidates). */
  iceServers?: RTCIceServer[];
  /** Turn the mesh off (for example on metered connections). Default true. */
  enabled?: boolean;
  /** Give up on a link that has not connected after this long (ms). Default 10000. */
  connectTimeoutMs?: number;
  /** Node only: a WebRTC implementation such as `@roamhq/wrtc`. */
  wrtc?: unknown;
  /** The simple-peer constructor. Default: its prebuilt browser bundle. */
  SimplePeer?: SimplePeerConstructor;
}

function webrtcAvailable(options: MeshOptions): boolean {
  return Boolean(options.wrtc) || typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
}

/** Creates the mesh for `new Socket(url, { mesh })`. Channels join it only where WebRTC is available. */
export function mesh(options: MeshOptions = {}): MeshFactory {
  return {
    attach(host) {
      if (options.enabled === false || !webrtcAvailable(options)) return null;
      return new ChannelMesh(host, {
        SimplePeer: options.SimplePeer ?? (SimplePeer as SimplePeerConstructor),
        iceServers: options.iceServers ?? [],
        wrtc: options.wrtc,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      });
    },
  };
}

export type { MeshFactory, MeshStats } from '../sync';
