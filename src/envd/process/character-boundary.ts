// Output events that end on a UTF-8 character boundary. novita-sandbox decodes each output event
// of `commands.run` on its own, so a character whose bytes two reads of the pipe split reached
// its user as replacement characters: Python, for one, writes its piped stdout in 8 KiB blocks
// wherever they cut its text. The bytes of a character a read leaves unfinished (at most three)
// wait for the next read, for the stream's end, or for a short quiet spell (output that is not
// text must not stall), and are then sent as they are.

/** How many bytes at the end of `chunk` start a UTF-8 character that it does not finish. */
export function unfinishedCharacterBytes(chunk: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    return back < sequenceLength(byte) ? back : 0;
  }
  return 0;
}

/** The length of the sequence a byte leads; 1 for ASCII and for bytes no valid sequence starts
 *  with (those are sent as they are). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

export class CharacterBoundary {
  private held: Buffer | undefined;

  /** What can be sent of `chunk`, after the bytes held from the last one; empty when all of it is
   *  the start of one character. */
  take(chunk: Buffer): Buffer {
    const joined = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    const unfinished = unfinishedCharacterBytes(joined);
    this.held = unfinished > 0 ? joined.subarray(joined.length - unfinished) : undefined;
    return unfinished > 0 ? joined.subarray(0, joined.length - unfinished) : joined;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  /** The bytes held, given up as they are. */
  release(): Buffer | undefined {
    const held = this.held;
    this.held = undefined;
    return held;
  }
}
