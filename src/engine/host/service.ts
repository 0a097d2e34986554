import { unknownOperation } from './json-protocol.js';

/**
 * One API the engine hosts (Kinesis Data Streams; later Firehose): the host reads and checks the
 * request, finds the service by the part of `X-Amz-Target` before the dot, and hands it the rest.
 * Transport-free, so the in-process client can run the very same `call`.
 */
export interface Service {
  /** How messages name the API, e.g. "Kinesis". */
  readonly name: string;
  /** The part of `X-Amz-Target` before the dot, e.g. `Kinesis_20131202`. */
  readonly targetPrefix: string;
  /**
   * Runs one action on a parsed JSON object and returns its output (undefined for actions without
   * one), or throws AwsApiError; any other error is answered as an InternalFailure.
   */
  call(action: string, input: Record<string, unknown>): object | undefined;
  /** The JSON text of an output of `call` (empty for undefined). */
  serialize(action: string, output: object | undefined): string;
  /** Work the host runs on its timers while it serves (retention, say); each `run` logs what it did. */
  readonly periodic: readonly PeriodicWork[];
  /** After the last request: saves what must be saved and closes the service's storage. */
  stop(): void | Promise<void>;
}

export interface PeriodicWork {
  intervalMs: number;
  run(): void;
}

/** Where a target goes: a service and an action, or the UnknownOperationException to answer. */
export type Route = { service: Service; action: string } | { error: ReturnType<typeof unknownOperation> };

/** The registered services by target prefix; one prefix, one service. */
export class ServiceTable {
  private readonly byPrefix = new Map<string, Service>();

  constructor(services: readonly Service[]) {
    for (const service of services) {
      if (this.byPrefix.has(service.targetPrefix))
        throw new Error(`two services registered for target prefix ${service.targetPrefix}`);
      this.byPrefix.set(service.targetPrefix, service);
    }
  }

  get services(): Service[] {
    return [...this.byPrefix.values()];
  }

  /** How the refusal of an abusive body names the API when the target names none of ours. */
  get apiNames(): string {
    return this.services.map((service) => service.name).join(' or ');
  }

  route(target: string | string[] | undefined): Route {
    if (typeof target !== 'string' || target.length === 0) {
      const expected = this.services.map((service) => `${service.targetPrefix}.<Operation>`).join(' or ');
      return { error: unknownOperation(`Missing X-Amz-Target header: expected ${expected}.`) };
    }
    const dot = target.indexOf('.');
    const service = dot < 0 ? undefined : this.byPrefix.get(target.slice(0, dot));
    const action = dot < 0 ? '' : target.slice(dot + 1);
    if (!service || action.length === 0) return { error: unknownOperation(`Unknown operation ${target}.`) };
    return { service, action };
  }
}
