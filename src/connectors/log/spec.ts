/** The log destination's parameters, with Conduit's names. */
import { LEVELS } from '../../log/logger.js';
import type { ParamSpecs } from '../../sdk/params.js';

export const destinationParams: ParamSpecs = {
  level: {
    type: 'string',
    default: 'info',
    inclusion: LEVELS,
    description: 'The log level at which records are logged.',
  },
  message: {
    type: 'string',
    default: '',
    description: 'The message of every log line (the record goes in its `record` field).',
  },
};
