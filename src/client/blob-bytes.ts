/**
 * Record bytes in an API request. Over HTTP, JSON.stringify turns it into the base64 text the wire
 * format wants (via toJSON, without Buffer's slow array form); the in-process client hands the
 * bytes to the engine as they are. One request shape serves both transports.
 */
export class BlobBytes {
  constructor(readonly bytes: Uint8Array) {}

  toJSON(): string {
    const { buffer, byteOffset, byteLength } = this.bytes;
    return Buffer.from(buffer, byteOffset, byteLength).toString('base64');
  }
}
