// Order audit handlers for eventhub-worker: plain ESM, runs under node without a build step.
// The JSDoc types come from the worker's handler contract; they are comments, not imports at run time.

/** @typedef {import("../../src/handlers/contract.js").EventHandler} EventHandler */
/** @typedef {import("../../src/handlers/contract.js").HandlerContext} HandlerContext */
/** @typedef {import("../../src/handlers/contract.js").InitContext} InitContext */
/** @typedef {import("../../src/handlers/contract.js").ReceivedEventData} ReceivedEventData */

/**
 * @typedef {object} OrderAuditOptions
 * @property {number} [flagOverTotal] Orders above this total are logged as flagged; default 1000.
 * @property {string} [currency] Only orders in this currency are audited; others are counted as skipped; default "EUR".
 * @property {string} [auditUrl] When set, each batch's flagged orders are POSTed here as JSON; default: log only.
 */

/**
 * @typedef {object} Order
 * @property {string} orderId
 * @property {number} total
 * @property {string} currency
 */

/**
 * Reads an order from an event body (a JSON object, or JSON text/bytes). Returns undefined for a
 * body that is not an order, so that one malformed event is reported instead of failing the batch
 * forever.
 * @param {unknown} body
 * @returns {Order | undefined}
 */
export function parseOrder(body) {
  let value = body;
  if (value instanceof Uint8Array) value = new TextDecoder().decode(value);
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { orderId, total, currency } = /** @type {Record<string, unknown>} */ (value);
  if (typeof orderId !== "string" || typeof total !== "number" || typeof currency !== "string")
    return undefined;
  return { orderId, total, currency };
}

/**
 * Order audit: checks a batch of order events of one partition, logs orders over a threshold and
 * optionally reports them to an audit service. Batch-only, so its pipeline runs in batches.
 * @param {OrderAuditOptions} options
 * @param {InitContext} initCtx
 * @returns {EventHandler}
 */
export default function createOrderAudit(options, initCtx) {
  const flagOverTotal = options.flagOverTotal ?? 1000;
  const currency = options.currency ?? "EUR";
  if (typeof flagOverTotal !== "number" || flagOverTotal < 0) {
    throw new Error(`handlers.${initCtx.name}.options.flagOverTotal must be a number ≥ 0`);
  }
  const stats = { audited: 0, flagged: 0, skipped: 0, malformed: 0 };

  return {
    name: "order-audit",
    init(ctx) {
      ctx.logger.info(
        { flagOverTotal, currency, reporting: options.auditUrl !== undefined },
        "order audit ready",
      );
    },
    async handleBatch(events, ctx) {
      /** @type {Array<Order & { sequenceNumber: number }>} */
      const flagged = [];
      for (const event of events) {
        const order = parseOrder(event.body);
        if (order === undefined) {
          stats.malformed += 1;
          ctx.logger.warn({ sequenceNumber: event.sequenceNumber }, "event is not an order; not audited");
          continue;
        }
        if (order.currency !== currency) {
          stats.skipped += 1;
          continue;
        }
        stats.audited += 1;
        if (order.total > flagOverTotal) flagged.push({ ...order, sequenceNumber: event.sequenceNumber });
      }
      stats.flagged += flagged.length;
      for (const order of flagged)
        ctx.logger.warn({ ...order, attempt: ctx.attempt }, "order over threshold");
      if (flagged.length > 0 && options.auditUrl !== undefined) {
        // The signal fires when this worker loses the partition or shuts down: stop waiting then,
        // the events are not checkpointed and whoever owns the partition next processes them again.
        const response = await fetch(options.auditUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ partitionId: ctx.partitionId, orders: flagged }),
          signal: ctx.signal,
        });
        // Throwing makes the worker retry the batch with backoff (ctx.attempt counts up).
        if (!response.ok) throw new Error(`audit service answered ${response.status}`);
      }
    },
    close() {
      initCtx.logger.info(stats, "order audit closed");
    },
  };
}

/**
 * Refund check: one event at a time, logs refunds above `maxRefund` (default 500).
 * @param {{ maxRefund?: number }} options
 * @param {InitContext} initCtx
 * @returns {EventHandler}
 */
export function refundCheck(options, initCtx) {
  const maxRefund = options.maxRefund ?? 500;
  return {
    name: "refund-check",
    handle(event, ctx) {
      const refund = parseOrder(event.body);
      if (refund === undefined) {
        ctx.logger.warn({ sequenceNumber: event.sequenceNumber }, "event is not a refund; not checked");
        return;
      }
      if (refund.total > maxRefund) {
        ctx.logger.warn(
          { orderId: refund.orderId, total: refund.total, maxRefund, worker: initCtx.workerId },
          "large refund",
        );
      }
    },
  };
}
