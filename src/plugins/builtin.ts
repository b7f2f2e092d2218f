/** Every built-in connector and processor, registered in one place. */
import { filePlugin } from '../connectors/file/index.js';
import { generatorPlugin } from '../connectors/generator/index.js';
import { logPlugin } from '../connectors/log/index.js';
import { fieldSetPlugin } from '../processors/field-set/index.js';
import { filterPlugin } from '../processors/filter/index.js';
import { PluginRegistry } from './registry.js';

export function builtinRegistry(): PluginRegistry {
  return new PluginRegistry()
    .addConnector(filePlugin)
    .addConnector(generatorPlugin)
    .addConnector(logPlugin)
    .addProcessor(fieldSetPlugin)
    .addProcessor(filterPlugin);
}
