/**
 * Node-native half of issue 12's response buffering (phase A prototype: not wired in yet). For a body that
 * `bufferableLength` accepts, undici's `stream` factory returns this Writable instead of the ServerResponse:
 * it collects the chunks and, once undici has the whole body (the server's side of the exchange is over),
 * hands over one Buffer. The caller then ends the exchange and sends head and body with one `res.end(buffer)`.
 *
 *   .stream(options, ({ statusCode, headers }) => {
 *     const length = bufferableLength(headers['content-length'], policy.responseBufferBytes);
 *     if (length === undefined) { res.writeHead(...); return res; }           // stream, exact accounting, as today
 *     return wholeBodyWritable(length, (body) => { finish(); res.writeHead(statusCode, out); res.end(body); });
 *   })
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
