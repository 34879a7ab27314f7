import { describe, expect, it } from "vitest";
import { pagesWithin, StorageDeadline, StorageTimeoutError } from "../../../src/checkpoint/deadline.js";

interface Page {
  readonly items: number[];
  readonly continuationToken?: string;
}

/** A listing of `pages`, where the token of page i is "t<i+1>"; records every token it was opened at. */
function listing(pages: number[][], opened: (string | undefined)[]) {
  return (_signal: AbortSignal, token: string | undefined): AsyncIterator<Page> => {
    opened.push(token);
    let index = token === undefined ? 0 : Number(token.slice(1));
    return {
      next: async () => {
        const items = pages[index];
        if (items === undefined) return { done: true, value: undefined };
        index += 1;
        const continuationToken = index < pages.length ? `t${index}` : "";
        return { done: false, value: { items, continuationToken } };
      },
    };
  };
}

async function collect(pages: AsyncGenerator<Page>): Promise<number[]> {
  const out: number[] = [];
  for await (const page of pages) out.push(...page.items);
  return out;
}

describe("pagesWithin", () => {
  const deadline = new StorageDeadline("127.0.0.1:1", { timeoutMs: 200 });

  it("follows continuation tokens to the last page, opening each page afresh", async () => {
    const opened: (string | undefined)[] = [];
    const items = await collect(pagesWithin(deadline, "list", listing([[1, 2], [3], [4, 5]], opened)));
    expect(items).toEqual([1, 2, 3, 4, 5]);
    expect(opened).toEqual([undefined, "t1", "t2"]);
  });

  it("ends on an empty listing", async () => {
    expect(await collect(pagesWithin(deadline, "list", listing([], [])))).toEqual([]);
  });

  it("fails a page that does not arrive within the deadline, naming the operation", async () => {
    const silent = (signal: AbortSignal): AsyncIterator<Page> => ({
      next: () =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        ),
    });
    const failure = collect(pagesWithin(deadline, "list the archive container", silent));
    await expect(failure).rejects.toBeInstanceOf(StorageTimeoutError);
    await expect(failure).rejects.toThrow(
      /127\.0\.0\.1:1 did not answer within 200 ms to list the archive container/,
    );
  });
});
