/** The file connector's parameters, with Conduit's names. */
import type { ParamSpecs } from '../../sdk/params.js';

export const sourceParams: ParamSpecs = {
  path: {
    type: 'string',
    required: true,
    description: 'Path to the file to follow. It may not exist yet: the source waits for it.',
  },
};

export const destinationParams: ParamSpecs = {
  path: {
    type: 'string',
    required: true,
    description: 'Path to the file to append to. The file and its directory are created when missing.',
  },
};
