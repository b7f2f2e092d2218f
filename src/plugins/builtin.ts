/** Every built-in connector and processor, registered in one place. */
import { BUILTIN_CONNECTORS } from '../connectors/index.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { PluginRegistry } from './registry.js';

export function builtinRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  for (const c of BUILTIN_CONNECTORS) registry.addConnector(c);
  for (const p of BUILTIN_PROCESSORS) registry.addProcessor(p);
  return registry;
}
