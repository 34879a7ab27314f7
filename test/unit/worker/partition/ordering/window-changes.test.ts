import { describe, expect, it } from "vitest";
import { ChangeNotifier } from "../../../../../src/worker/partition/ordering/scheduler.js";

describe("ChangeNotifier", () => {
  it("wakes a conditional waiter only at the first notify at which its condition holds", async () => {
    const changes = new ChangeNotifier();
    let room = false;
    let asked = 0;
    let woken = false;
    const waiting = changes
      .until(() => {
        asked += 1;
        return room;
      })
      .then(() => {
        woken = true;
      });
    changes.notify();
    changes.notify();
    await Promise.resolve();
    expect(woken).toBe(false);
    expect(asked).toBe(2);
    room = true;
    changes.notify();
    await waiting;
    expect(woken).toBe(true);
    // Once woken it is no longer asked.
    changes.notify();
    expect(asked).toBe(3);
  });

  it("keeps waiters whose condition does not hold while waking the others", async () => {
    const changes = new ChangeNotifier();
    const woken: string[] = [];
    let ready = false;
    void changes.until(() => ready).then(() => woken.push("conditional"));
    void changes.changed().then(() => woken.push("any"));
    changes.notify();
    await Promise.resolve();
    expect(woken).toEqual(["any"]);
    ready = true;
    changes.notify();
    await Promise.resolve();
    expect(woken).toEqual(["any", "conditional"]);
  });

  it("resolves after the timeout without a notify, and forgets the waiter", async () => {
    const changes = new ChangeNotifier();
    let asked = 0;
    await changes.until(() => {
      asked += 1;
      return false;
    }, 1);
    changes.notify();
    expect(asked).toBe(0);
  });
});
