/**
 * Links outlive the token they were attached with unless someone checks: the service detaches a
 * link whose token lapsed without renewal (the SDKs renew well before expiry), and so does the
 * emulator. Each sending or receiving link is watched with the connection's grants and its
 * address; a sweep closes the links no unexpired token covers any more.
 */
import type { Receiver, Sender } from "rhea";
import type { ConnectionAuth } from "../services/cbs.js";

/** How often the grants are checked, ms: an expired token stops working within this. */
export const TOKEN_SWEEP_INTERVAL_MS = 1_000;

interface Watched {
  readonly auth: ConnectionAuth;
  readonly path: string;
}

/** The links to detach when their token lapses. */
export class TokenExpiryWatch {
  private readonly links = new Map<Sender | Receiver, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onExpired: (path: string) => void = () => {}) {}

  /** Watches `link`, attached to `path` under `auth`'s grants. */
  watch(link: Sender | Receiver, auth: ConnectionAuth, path: string): void {
    this.links.set(link, { auth, path });
  }

  forget(link: Sender | Receiver): void {
    this.links.delete(link);
  }

  start(intervalMs = TOKEN_SWEEP_INTERVAL_MS): void {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.links.clear();
  }

  /** Detaches every watched link whose address no unexpired token covers. */
  sweep(): void {
    for (const [link, { auth, path }] of this.links) {
      if (auth.covers(path)) continue;
      this.links.delete(link);
      this.onExpired(path);
      link.close({
        condition: "amqp:unauthorized-access",
        description: `Unauthorized access. The token for '${path}' expired and was not renewed.`,
      });
    }
  }
}
