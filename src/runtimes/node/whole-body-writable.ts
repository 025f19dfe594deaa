/**
 * Node-native half of issue 12's response buffering. For a body the Exchange plans to buffer
 * (`ResponsePlan.bufferLength`), undici's `stream` factory returns this Writable instead of the ServerResponse:
 * it collects the chunks and, once undici has the whole body (the server's side of the exchange is over),
 * hands over one Buffer. The caller then ends the exchange and sends head and body with one `res.end(buffer)`.
 */
import { Writable } from 'node:stream';

export function wholeBodyWritable(declared: number, onWhole: (body: Buffer) => void): Writable {
  const chunks: Buffer[] = [];
  let received = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      // undici enforces the Content-Length too; this keeps the buffer bounded whatever the server sends.
      if (received > declared) return callback(new Error(`the server sent more than its Content-Length of ${declared}`));
      chunks.push(chunk);
      callback();
    },
    final(callback) {
      onWhole(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
      callback();
    },
  });
}
