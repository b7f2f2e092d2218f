import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandEnv } from './env.js';

const env = { HOST: 'db', PORT: '5432', EMPTY: '' };

test('expandEnv replaces ${VAR} and $VAR', () => {
  assert.deepEqual(expandEnv('postgres://${HOST}:$PORT/x', env), { value: 'postgres://db:5432/x', unset: [] });
});

test('expandEnv turns unset variables into "" and names them', () => {
  assert.deepEqual(expandEnv('a${NOPE}b$ALSO_NOT', env), { value: 'ab', unset: ['NOPE', 'ALSO_NOT'] });
  assert.deepEqual(expandEnv('${EMPTY}', env), { value: '', unset: [] });
});

test('expandEnv follows Go os.ExpandEnv on edge cases', () => {
  assert.equal(expandEnv('cost: $', env).value, 'cost: $'); // trailing $ kept
  assert.equal(expandEnv('a $ b', env).value, 'a $ b'); // $ before a non-name kept
  assert.equal(expandEnv('x${}y', env).value, 'xy'); // bad syntax eaten
  assert.equal(expandEnv('x${HOST', env).value, 'xHOST'); // unclosed: "${" eaten
  assert.deepEqual(expandEnv('$1-${#}', env), { value: '-', unset: ['1', '#'] }); // shell specials
  assert.equal(expandEnv('$HOST.$PORT', env).value, 'db.5432');
  assert.equal(expandEnv('no dollars', env).value, 'no dollars');
});
