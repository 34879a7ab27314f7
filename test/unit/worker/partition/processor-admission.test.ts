import { describe, expect, it } from "vitest";
import { waitFor } from "../../../helpers/wait-for.js";
import { events, type GatedHandler, harness, settled } from "../../processor/harness.js";

/** An admission the test opens and closes. */
function switchable(open: boolean) {
  return {
    open,
    mayTakeEvents() {
      return this.open;
    },
  };
}

describe("PartitionProcessor admission", () => {
  it("holds a batch while the admission says no, and takes it when told it may again", async () => {
    const admission = switchable(false);
    const { processor, handler } = await harness({ admission });
    const gated = handler as GatedHandler;
    gated.autoRelease = true;
    const taken = processor.enqueue(events(0, 5));
    expect(await settled(taken)).toBe(false);
    expect(gated.starts).toEqual([]);
    expect(processor.status().queued).toBe(0);

    processor.admissionChanged();
    expect(await settled(taken)).toBe(false);
    admission.open = true;
    processor.admissionChanged();
    await taken;
    await waitFor(() => gated.ends.length === 5);
  });

  it("stops admitting between batches once the admission closes; running events finish", async () => {
    const admission = switchable(true);
    const { processor, handler } = await harness({ admission, processing: { concurrency: 2 } });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 2));
    await waitFor(() => gated.starts.length === 2);
    admission.open = false;
    const next = processor.enqueue(events(2, 3));
    gated.release(0, 1);
    await waitFor(() => gated.ends.length === 2);
    expect(await settled(next)).toBe(false);
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1]);
  });

  it("a shutdown while held drops the held batch and drains at once", async () => {
    const { processor, handler } = await harness({ admission: switchable(false) });
    (handler as GatedHandler).autoRelease = true;
    const taken = processor.enqueue(events(0, 5));
    const result = await processor.close("Shutdown");
    await taken;
    expect(result.drained).toBe(true);
    expect((handler as GatedHandler).starts).toEqual([]);
  });
});
