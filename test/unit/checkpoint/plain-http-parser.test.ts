import { describe, expect, it } from "vitest";
import { ResponseParser, requestHead } from "../../../src/checkpoint/plain-http.js";

/** Feeds `text` to a parser `step` bytes at a time; returns the answer and the pushes it took. */
function feed(text: string, step: number) {
  const parser = new ResponseParser();
  const bytes = Buffer.from(text, "latin1");
  for (let at = 0; at < bytes.length; at += step) {
    const response = parser.push(bytes.subarray(at, at + step));
    if (response !== undefined) return { parser, response, complete: at + step >= bytes.length };
  }
  return { parser, response: undefined, complete: false };
}

describe("ResponseParser", () => {
  it.each([1, 3, 1000])("reads a Content-Length answer fed %i bytes at a time", (step) => {
    const { parser, response, complete } = feed(
      'HTTP/1.1 200 OK\r\nETag: "0x1"\r\nX-Ms-Meta: a\r\nx-ms-meta: b\r\nContent-Length: 5\r\n\r\nhello',
      step,
    );
    expect(complete).toBe(true);
    expect(response?.status).toBe(200);
    expect(response?.headers.get("etag")).toBe('"0x1"');
    expect(response?.headers.get("x-ms-meta")).toBe("a, b");
    expect(response?.body.toString()).toBe("hello");
    expect(parser.keepsConnection()).toBe(true);
  });

  it.each([1, 7, 1000])(
    "reads a chunked answer with extensions and trailers fed %i bytes at a time",
    (step) => {
      const body = "<?xml?><Error><Code>AuthorizationFailure</Code></Error>";
      const text =
        "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nx-ms-error-code: AuthorizationFailure\r\n\r\n" +
        `a;name=value\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n` +
        "0\r\nX-Trailer: t\r\n\r\n";
      const { response, complete } = feed(text, step);
      expect(complete).toBe(true);
      expect(response?.status).toBe(403);
      expect(response?.body.toString()).toBe(body);
    },
  );

  it("waits for the end of the connection when an answer has no length, and then keeps nothing", () => {
    const parser = new ResponseParser();
    expect(parser.push(Buffer.from("HTTP/1.0 500 Oops\r\nServer: x\r\n\r\npart one, "))).toBeUndefined();
    expect(parser.push(Buffer.from("part two"))).toBeUndefined();
    const response = parser.end();
    expect(response?.body.toString()).toBe("part one, part two");
    expect(parser.keepsConnection()).toBe(false);
  });

  it("gives no answer at the end of a connection that cut a Content-Length answer short", () => {
    const parser = new ResponseParser();
    parser.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
    expect(parser.end()).toBeUndefined();
    expect(parser.started()).toBe(true);
  });

  it("reads 204 without a length, and keeps no connection the server says it closes", () => {
    const parser = new ResponseParser();
    expect(parser.push(Buffer.from("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))?.status).toBe(
      204,
    );
    expect(parser.keepsConnection()).toBe(false);
  });

  it.each([
    ["a status line that is not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"],
    ["a header line without a colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n"],
    ["a bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"],
    ["a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ["more bytes than announced", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"],
  ])("throws on %s", (_what, text) => {
    expect(() => new ResponseParser().push(Buffer.from(text, "latin1"))).toThrow();
  });
});

describe("requestHead", () => {
  it("writes the request line, Host and the headers", () => {
    expect(requestHead("PUT", "/a/b?comp=metadata", "[::1]:10000", { "if-match": '"0x1"' })).toBe(
      'PUT /a/b?comp=metadata HTTP/1.1\r\nHost: [::1]:10000\r\nif-match: "0x1"\r\n\r\n',
    );
  });

  it("refuses a line break in a header value", () => {
    expect(() => requestHead("PUT", "/", "h", { "x-ms-meta-a": "1\r\nInjected: yes" })).toThrow(/line break/);
  });
});
