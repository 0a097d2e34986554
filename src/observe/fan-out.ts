import type { AgentEvents, AgentObserver, DestinationName } from './events.js';

/** Every event goes to each of `targets` in turn (logging, then metrics), and so do each flow's. */
export function fanOut(targets: AgentObserver[]): AgentObserver {
  if (targets.length === 1) return targets[0];
  return forward(targets, (flowId, destination) => forward(targets.map((t) => t.forFlow(flowId, destination))));
}

function forward<T extends AgentEvents>(
  targets: AgentEvents[],
  forFlow?: (flowId: string, destination: DestinationName) => AgentEvents,
): T {
  return new Proxy({} as T, {
    get: (_, name) => {
      if (name === 'forFlow') return forFlow;
      return (...args: unknown[]) => {
        for (const target of targets) (target[name as keyof AgentEvents] as (...a: unknown[]) => void)(...args);
      };
    },
  });
}

/** An implementation with `handlers` for the events it cares about and nothing done for the others. */
export function someEvents<T extends Partial<AgentEvents>>(handlers: T): AgentEvents & T {
  return new Proxy(handlers, {
    get: (target, name) => (name in target ? target[name as keyof T] : () => undefined),
  }) as AgentEvents & T;
}
