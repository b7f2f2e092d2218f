/**
 * The plugin registry: every built-in connector and processor, by name.
 * Registration is explicit; a name registered twice throws.
 */
import type { ConnectorPlugin } from '../sdk/connector.js';
import type { ProcessorPlugin } from '../sdk/processor.js';

export class PluginRegistry {
  private readonly connectorMap = new Map<string, ConnectorPlugin>();
  private readonly processorMap = new Map<string, ProcessorPlugin>();

  addConnector(p: ConnectorPlugin): this {
    if (this.connectorMap.has(p.name)) throw new Error(`connector plugin ${p.name} registered twice`);
    this.connectorMap.set(p.name, p);
    return this;
  }
  addProcessor(p: ProcessorPlugin): this {
    if (this.processorMap.has(p.name)) throw new Error(`processor plugin ${p.name} registered twice`);
    this.processorMap.set(p.name, p);
    return this;
  }
  /** Looks a connector up by a reference such as `builtin:file@v0.10.8` or `file`. */
  connector(ref: string): ConnectorPlugin | undefined {
    return this.connectorMap.get(parsePluginRef(ref).name);
  }
  processor(ref: string): ProcessorPlugin | undefined {
    return this.processorMap.get(parsePluginRef(ref).name);
  }
  connectors(): ConnectorPlugin[] {
    return [...this.connectorMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
  processors(): ProcessorPlugin[] {
    return [...this.processorMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

export interface PluginRef {
  readonly kind: 'builtin' | 'standalone' | 'any';
  readonly name: string;
  /** `latest` when none was given. */
  readonly version: string;
}

/** Parses `[builtin:|standalone:|any:]name[@version]`. */
export function parsePluginRef(ref: string): PluginRef {
  let rest = ref.trim();
  let kind: PluginRef['kind'] = 'any';
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const k = rest.slice(0, colon);
    if (k === 'builtin' || k === 'standalone' || k === 'any') {
      kind = k;
      rest = rest.slice(colon + 1);
    }
  }
  const at = rest.lastIndexOf('@');
  const name = at >= 0 ? rest.slice(0, at) : rest;
  const version = at >= 0 ? rest.slice(at + 1) : 'latest';
  return { kind, name, version };
}
