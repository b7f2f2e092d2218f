/** Every built-in connector and processor, registered in one place. */
import { BUILTIN_CONNECTORS } from '../connectors/index.js';
import { fieldSetPlugin } from '../processors/field-set/index.js';
import { filterPlugin } from '../processors/filter/index.js';
import { PluginRegistry } from './registry.js';

export function builtinRegistry(): PluginRegistry {
  const registry = new PluginRegistry().addProcessor(fieldSetPlugin).addProcessor(filterPlugin);
  for (const c of BUILTIN_CONNECTORS) registry.addConnector(c);
  return registry;
}
