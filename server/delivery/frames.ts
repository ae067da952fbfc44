/**
 * The frames of one broadcast, each kind built at most once however many
 * members get it: one for plain Phoenix sockets, one with Plume's order
 * metadata, one signed for members that forward to peers, and the skip a
 * Plume member gets for a position it does not receive.
 *
 * Responsible for the bytes of those frames (PROTOCOL.md §7, §10). Not
 * responsible for who gets which (`fanout.ts`).
 */
import { EVENTS, encodeBroadcast, encodeRaw } from '../../src/protocol';
import type { Signature } from '../mesh/signer';
import { binaryAround, frameAround, reframe, reframeAscii, textFrame, type WireFrame } from '../wire/frame';

const ASCII = /^[\x00-\x7f]*$/;

/** What a broadcast's frames are made of. */
export interface FrameSource {
  event: string;
  epoch: string;
  seq: number;
  id?: string;
  exclude: string | null;
  /** The payload is bytes: the frames are binary (kinds 2 and 3, PROTOCOL.md §2). */
  binary?: boolean;
  /** Read back from history without its payload: Plume members get a skip naming the event (PROTOCOL.md §7). */
  folded?: boolean;
}

const NO_BYTES = new Uint8Array(0);

/** Builds each kind of frame for one broadcast at most once, however many members get it. */
export class Frames {
  private phoenixFrame: WireFrame | undefined;
  private plumeFrame: WireFrame | undefined;
  private signedFrame: WireFrame | undefined;
  private skipFrame: string | undefined;
  private metaJson: string | undefined;

  constructor(
    private readonly topic: string,
    private readonly message: FrameSource,
    private readonly payloadJson: () => string,
    private readonly payloadBytes?: Buffer,
    /** This node's signature of the broadcast, when its mesh relays the topic (PROTOCOL.md §10). */
    readonly sig?: Signature,
  ) {}

  meta(): string {
    const { epoch, seq, id } = this.message;
    // What JSON.stringify({ epoch, seq, id }) writes (seq is an integer), without building the object.
    return (this.metaJson ??= `{"epoch":${JSON.stringify(epoch)},"seq":${seq}${id === undefined ? '' : `,"id":${JSON.stringify(id)}`}}`);
  }

  phoenix(): WireFrame {
    return (this.phoenixFrame ??= this.frame(undefined));
  }

  plume(): WireFrame {
    return (this.plumeFrame ??= this.frame(this.meta()));
  }

  /**
   * The broadcast's frame, with `metaJson` as its last element if given: around the payload's bytes when
   * there are some. A binary payload gets a binary frame: its header (kind, names, meta) then the bytes.
   */
  private frame(metaJson: string | undefined): WireFrame {
    const bytes = this.payloadBytes;
    if (this.message.binary) return binaryAround(encodeBroadcast(this.topic, this.message.event, NO_BYTES, metaJson), bytes!);
    if (!bytes) return textFrame(encodeRaw(null, null, this.topic, this.message.event, this.payloadJson(), metaJson));
    return frameAround(`[null,null,${JSON.stringify(this.topic)},${JSON.stringify(this.message.event)},`, bytes, metaJson === undefined ? ']' : `,${metaJson}]`);
  }

  /**
   * With the signature (and the excluded member): for members that forward to peers. Built from the
   * bytes of the Plume frame (which the other members get), whose text ends with the meta's closing
   * brace and the array's: the signature goes in before them, and the payload is not encoded twice.
   */
  signed(): WireFrame {
    if (this.signedFrame) return this.signedFrame;
    const { start, proof } = this.sig!;
    const exclude = this.message.exclude;
    if (this.message.binary) {
      // The meta sits before a binary payload: the frame is built again with the signed meta.
      const x = exclude === null ? '' : `,"x":${JSON.stringify(exclude)}`;
      return (this.signedFrame = this.frame(`${this.meta().slice(0, -1)},"sig":${start}${proof}}${x}}`));
    }
    if (exclude === null) return (this.signedFrame = reframeAscii(this.plume(), 2, ',"sig":', start, proof, '}}]'));
    // Socket ids are base64url, but a broadcast may name any string as the one to leave out.
    const x = `,"x":${JSON.stringify(exclude)}`;
    return (this.signedFrame = (ASCII.test(x) ? reframeAscii : reframe)(this.plume(), 2, ',"sig":', start, proof, '}', x, '}]'));
  }

  /** The skip for this position; for a folded entry, one that names its event (`{"folded": event}`). */
  skip(): string {
    const { epoch, seq, event, folded } = this.message;
    return (this.skipFrame ??= encodeRaw(null, null, this.topic, EVENTS.skip, folded ? JSON.stringify({ folded: event }) : '{}', JSON.stringify({ epoch, seq })));
  }
}
