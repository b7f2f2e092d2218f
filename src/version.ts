/** The engine's version: `conduit version`, the API's /info and its OpenAPI document. */
export const VERSION = '0.1.0';
