import { EhwError, type EhwErrorOptions } from "../common/errors.js";

/**
 * An AMQP-level refusal raised inside the emulator. The transport turns it into an AMQP error on
 * the wire: a rejected delivery, a detached link, or a non-2xx management/CBS reply.
 */
export class EmulatorProtocolError extends EhwError {
  /** The AMQP error condition to send, e.g. `"amqp:not-found"`. */
  readonly condition: string;

  constructor(condition: string, message: string, options: EhwErrorOptions = {}) {
    super("EMULATOR_PROTOCOL", message, options);
    this.condition = condition;
  }
}
