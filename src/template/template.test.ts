import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConduitError } from '../errors/conduit-error.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { compileTemplate, parseGoBool, recordView, TemplateExecError } from './index.js';

const structured: OpenCDCRecord = {
  position: Buffer.from('pos-1'),
  operation: 'update',
  metadata: { 'opencdc.collection': 'users', key: 'v', kind: 'a', 'opencdc.readAt': '1700000000000000000' },
  key: { id: 7n },
  payload: {
    before: null,
    after: {
      name: 'Ann',
      age: 30,
      score: 1.5,
      big: 1234567,
      huge: 1e21,
      tags: ['x', 'y'],
      nums: [1, 2, 2],
      nested: { b: true, a: 'z' },
      empty: '',
      nil: null,
      html: '<a&b>',
      bytes: Buffer.from('hi'),
    },
  },
};

const raw: OpenCDCRecord = {
  position: Buffer.from('42'),
  operation: 'create',
  metadata: {},
  key: Buffer.from('k1'),
  payload: { before: null, after: Buffer.from('hello raw') },
};

const del: OpenCDCRecord = {
  position: Buffer.from('p'),
  operation: 'delete',
  metadata: { 'opencdc.collection': 'orders' },
  key: null,
  payload: { before: { id: 1 }, after: null },
};

type Row = [template: string, expected: string, data?: unknown];

// Expected outputs are what Go's text/template + sprig print for the same input.
const table: Row[] = [
  // --- Conduit's documented examples
  ['{{ eq .Metadata.key "v" }}', 'true'],
  ['{{ index .Metadata "opencdc.collection" }}', 'users'],
  ['{{ printf "%s" .Payload.After }}', 'hello raw', raw],
  [
    '{{ toJson . }}',
    '{"position":"cG9zLTE=","operation":"update","metadata":{"key":"v","kind":"a","opencdc.collection":"users","opencdc.readAt":"1700000000000000000"},"key":{"id":7},"payload":{"before":null,"after":{"age":30,"big":1234567,"bytes":"aGk=","empty":"","html":"\\u003ca\\u0026b\\u003e","huge":1e+21,"name":"Ann","nested":{"a":"z","b":true},"nil":null,"nums":[1,2,2],"score":1.5,"tags":["x","y"]}}}',
  ],
  [
    '{{ toJson . }}',
    '{"position":"NDI=","operation":"create","metadata":{},"key":"azE=","payload":{"before":null,"after":"aGVsbG8gcmF3"}}',
    raw,
  ],
  // --- record fields
  ['{{ .Payload.After.name }}', 'Ann'],
  ['{{ .Payload.After.nested.a }}', 'z'],
  ['{{ .Operation }}', 'update'],
  ['{{ .Operation }}', 'delete', del],
  ['{{ .Operation.String }}', 'create', raw],
  ['{{ eq .Operation.String "update" }}', 'true'],
  ['{{ printf "%d" .Operation }}', '2'],
  ['{{ .Position }}', 'pos-1'],
  ['{{ printf "%s" .Position }}', '42', raw],
  ['{{ .Position.String }}', 'pos-1'],
  ['{{ .Key }}', '[107 49]', raw],
  ['{{ printf "%s" .Key }}', 'k1', raw],
  ['{{ printf "%q" .Key }}', '"k1"', raw],
  ['{{ printf "%x" .Key }}', '6b31', raw],
  ['{{ .Key.id }}', '7'],
  ['{{ .Key }}', '<nil>', del],
  ['{{ .Payload.After }}', '[104 101 108 108 111 32 114 97 119]', raw],
  ['{{ toString .Payload.After }}', '[104 101 108 108 111 32 114 97 119]', raw],
  ['{{ .Payload.Before }}', '<nil>'],
  ['{{ .Payload.Before.id }}', '1', del],
  ['{{ .Payload.After }}', '<nil>', del],
  ['{{ .Metadata }}', 'map[key:v kind:a opencdc.collection:users opencdc.readAt:1700000000000000000]'],
  ['{{ .Metadata.missing }}', '<no value>'],
  ['{{ index .Metadata "missing" }}', ''],
  ['{{ .Metadata.missing.deeper }}', '<no value>'],
  ['{{ .Payload.After.missing }}', '<no value>'],
  ['{{ .Payload.After.nil }}', '<no value>'],
  ['{{ index .Payload.After "missing" }}', '<no value>'],
  ['{{ index .Payload.After "name" }}', 'Ann'],
  ['{{ index .Payload.After.tags 1 }}', 'y'],
  ['{{ index .Payload.After "nested" "a" }}', 'z'],
  ['{{ eq (index .Metadata "opencdc.collection") "orders" }}', 'true', del],
  ['{{ eq .Metadata.missing "v" }}', 'false'],
  ['{{ . }}', '{42 create map[] [107 49] {<nil> [104 101 108 108 111 32 114 97 119]} <nil>}', raw],
  [
    '{{ printf "%+v" .Payload }}',
    '{Before:<nil> After:map[id:1]}',
    { ...del, payload: { before: null, after: { id: 1 } } },
  ],
  ['{{ $.Metadata.kind }}', 'a'],
  ['{{ with .Payload.After }}{{ .name }}/{{ $.Metadata.kind }}{{ end }}', 'Ann/a'],
  ['{{ .Payload.After.big }}', '1.234567e+06'],
  ['{{ .Payload.After.huge }}', '1e+21'],
  ['{{ .Payload.After.score }}', '1.5'],
  ['{{ .Payload.After.age }}', '30'],
  ['{{ .Payload.After.bytes }}', '[104 105]'],
  ['{{ .Payload.After.tags }}', '[x y]'],
  ['{{ .Payload.After.nested }}', 'map[a:z b:true]'],
  ['{{ .name }}', 'plain', { name: 'plain' }],
  ['{{ .a.b }}', '<no value>', { a: {} }],
  // --- text, trim markers, comments
  ['plain text', 'plain text'],
  ['a {{- " b " -}} c', 'a b c'],
  ['a  {{- 1 }}  {{- 2 -}}  z', 'a12z'],
  ['x{{/* a comment */}}y', 'xy'],
  ['x {{- /* trimmed */ -}} y', 'xy'],
  ['{{ "{{" }}', '{{'],
  ['line1\n{{- "x" }}\n', 'line1x\n'],
  // --- literals
  ['{{ "a\\tb\\n\\u00e9\\x41" }}', 'a\tb\néA'],
  ['{{ `raw\\n{{` }}', 'raw\\n{{'],
  ['{{ 42 }}', '42'],
  ['{{ -7 }}', '-7'],
  ['{{ 1.5 }}', '1.5'],
  ['{{ 1.0 }}', '1'],
  ['{{ 1e6 }}', '1e+06'],
  ['{{ 100000.0 }}', '100000'],
  ['{{ 0.0001 }}', '0.0001'],
  ['{{ 0.00001 }}', '1e-05'],
  ['{{ 0x1F }}', '31'],
  ['{{ 0o17 }} {{ 017 }} {{ 0b101 }}', '15 15 5'],
  ['{{ 1_000 }}', '1000'],
  ["{{ 'a' }}", '97'],
  ['{{ true }} {{ false }}', 'true false'],
  // --- variables
  ['{{ $x := 1 }}{{ $x }}', '1'],
  ['{{ $x := 1 }}{{ $x = add $x 2 }}{{ $x }}', '3'],
  ['{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}', 'b'],
  ['{{ $x := "outer" }}{{ with "in" }}{{ $x := . }}{{ $x }}{{ end }} {{ $x }}', 'in outer'],
  ['{{ $n := .Payload.After.name }}{{ $n | upper }}', 'ANN'],
  ['{{ $m := .Metadata }}{{ $m.kind }}', 'a'],
  // --- if / with / range
  ['{{ if .Payload.After.missing }}y{{ else if eq .Metadata.kind "a" }}A{{ else }}n{{ end }}', 'A'],
  ['{{ if .Payload.After.empty }}y{{ else }}n{{ end }}', 'n'],
  ['{{ if .Payload.After.tags }}y{{ end }}', 'y'],
  ['{{ if 0 }}y{{ else }}n{{ end }}', 'n'],
  ['{{ if 0.0 }}y{{ else }}n{{ end }}', 'n'],
  ['{{ if .Payload.After.nested }}y{{ end }}', 'y'],
  ['{{ if . }}struct{{ end }}', 'struct'],
  ['{{ with .Payload.After.missing }}y{{ else }}none{{ end }}', 'none'],
  ['{{ with $x := .Payload.After.name }}{{ $x }}{{ end }}', 'Ann'],
  ['{{ range .Payload.After.tags }}[{{ . }}]{{ end }}', '[x][y]'],
  ['{{ range $i, $v := .Payload.After.tags }}{{ $i }}={{ $v }},{{ end }}', '0=x,1=y,'],
  ['{{ range $k, $v := .Payload.After.nested }}{{ $k }}:{{ $v }};{{ end }}', 'a:z;b:true;'],
  ['{{ range $k, $v := .Metadata }}{{ $k }};{{ end }}', 'key;kind;opencdc.collection;opencdc.readAt;'],
  ['{{ range .Payload.After.missing }}x{{ else }}empty{{ end }}', 'empty'],
  ['{{ range .Payload.After.nums }}{{ if eq . 2.0 }}{{ break }}{{ end }}{{ . }}{{ end }}', '1'],
  ['{{ range .Payload.After.nums }}{{ if eq . 1.0 }}{{ continue }}{{ end }}{{ . }}{{ end }}', '22'],
  ['{{ range 3 }}{{ . }}{{ end }}', '012'],
  ['{{ range $i, $c := "" | list }}{{ $i }}{{ end }}', '0'],
  // --- define / template / block
  ['{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .Payload.After.name }}', '[Ann]'],
  ['{{ define "x" }}{{ $ }}{{ end }}{{ template "x" 5 }}', '5'],
  ['{{ block "b" .Operation }}op={{ . }}{{ end }}', 'op=update'],
  // --- comparison and logic
  ['{{ eq 1 2 3 1 }}', 'true'],
  ['{{ ne "a" "b" }}', 'true'],
  ['{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.0 }}', 'true true true false'],
  ['{{ lt .Payload.After.age 40 }}', 'true'],
  ['{{ eq .Payload.After.age 30 }}', 'true'],
  ['{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" "z" }} {{ or 0 "" }}', '0 2 z '],
  ['{{ not 0 }} {{ not "x" }} {{ 1 | not }}', 'true false false'],
  ['{{ and .Payload.After.missing .Payload.After.missing.x }}', '<no value>'],
  // --- builtins
  ['{{ len .Payload.After.tags }} {{ len .Metadata }} {{ len "héllo" }}', '2 4 6'],
  ['{{ index "abc" 1 }}', '98'],
  ['{{ slice .Payload.After.nums 1 }}', '[2 2]'],
  ['{{ print 1 2 "a" 3 "b" "c" }}', '1 2a3bc'],
  ['{{ print .Payload.After.missing }}', '<nil>'],
  ['{{ println 1 "a" }}', '1 a\n'],
  ['{{ html .Payload.After.html }}', '&lt;a&amp;b&gt;'],
  ['{{ js "a\'b<" }}', "a\\'b\\u003C"],
  ['{{ urlquery "a b&c" }}', 'a+b%26c'],
  ['{{ .Payload.After.name | printf "<%s>" }}', '<Ann>'],
  ['{{ "x" | printf "%s-%s" "a" }}', 'a-x'],
  ['{{ (.Payload.After.name) }}', 'Ann'],
  ['{{ (index .Payload.After "nested").a }}', 'z'],
  // --- printf verbs
  ['{{ printf "%d|%5d|%-5d|%05d|%+d" 42 42 42 42 42 }}', '42|   42|42   |00042|+42'],
  ['{{ printf "%s|%5s|%-5s|%.2s" "ab" "ab" "ab" "abc" }}', 'ab|   ab|ab   |ab'],
  ['{{ printf "%q %v %t" "hi" "hi" true }}', '"hi" hi true'],
  ['{{ printf "%x %X %o %b %c" 255 255 8 5 65 }}', 'ff FF 10 101 A'],
  [
    '{{ printf "%f|%.2f|%8.3f|%e|%g" 3.14159 3.14159 3.14159 123456.789 0.00001 }}',
    '3.141590|3.14|   3.142|1.234568e+05|1e-05',
  ],
  ['{{ printf "%.2f" 2.675 }}', '2.67'],
  ['{{ printf "%.0f %.0f %.1f" 0.5 1.5 0.25 }}', '0 2 0.2'],
  ['{{ printf "%v %+v" .Payload.After.nested .Payload.After.nested }}', 'map[a:z b:true] map[a:z b:true]'],
  ['{{ printf "%d%%" 50 }}', '50%'],
  ['{{ printf "%d" 1.5 }}', '%!d(float64=1.5)'],
  ['{{ printf "%s" 1 }}', '%!s(int=1)'],
  ['{{ printf "%d %d" 1 }}', '1 %!d(MISSING)'],
  ['{{ printf "%d" 1 2 }}', '1%!(EXTRA int=2)'],
  ['{{ printf "%T %T %T %T" 1 1.5 "s" .Payload.After.tags }}', 'int float64 string []interface {}'],
  ['{{ printf "%v" nil }}', '<nil>'],
  // --- sprig strings
  ['{{ upper "abc" }} {{ lower "ABC" }} {{ title "hello world" }}', 'ABC abc Hello World'],
  ['{{ trim "  x  " }}|{{ trimAll "$" "$$x$" }}|{{ trimPrefix "a" "abc" }}|{{ trimSuffix "c" "abc" }}', 'x|x|bc|ab'],
  ['{{ replace "a" "b" "banana" }}', 'bbnbnb'],
  ['{{ repeat 3 "ab" }} {{ "x" | repeat 2 }}', 'ababab xx'],
  ['{{ substr 1 3 "hello" }} {{ substr -1 2 "hello" }} {{ substr 2 99 "hello" }}', 'el he llo'],
  ['{{ trunc 2 "hello" }} {{ trunc -2 "hello" }} {{ trunc 10 "hi" }}', 'he lo hi'],
  ['{{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "x" "hello" }}', 'true true false'],
  ['{{ split "," "a,b" }} {{ (split "," "a,b")._1 }}', 'map[_0:a _1:b] b'],
  ['{{ splitList "," "a,b,c" }}', '[a b c]'],
  ['{{ splitList "," "a,b" | join "-" }} {{ join "," .Payload.After.tags }}', 'a-b x,y'],
  ['{{ join "+" (list 1 "a" nil 2.5) }}', '1+a+2.5'],
  ['{{ toStrings (list 1 "a" 2.5) }}', '[1 a 2.5]'],
  ['{{ quote "a" 1 }} {{ squote "x" }}', '"a" "1" \'x\''],
  ['{{ quote "say \\"hi\\"\\n" }}', '"say \\"hi\\"\\n"'],
  ['{{ cat "a" 1 nil "b" }}', 'a 1 b'],
  ['{{ indent 2 "a\\nb" }}', '  a\n  b'],
  ['{{ nindent 2 "a" }}', '\n  a'],
  [
    '{{ kebabcase "FirstName" }} {{ snakecase "FirstName" }} {{ camelcase "http_server" }}',
    'first-name first_name HttpServer',
  ],
  ['{{ toString 1.5 }} {{ toString .Operation }} {{ toString .Position }}', '1.5 update pos-1'],
  ['{{ b64enc "hi" }} {{ b64dec "aGk=" }}', 'aGk= hi'],
  ['{{ sha256sum "a" }}', 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'],
  ['{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^[a-z]+$" "ab1" }}', 'true false'],
  ['{{ regexFind "[0-9]+" "ab123c45" }}', '123'],
  ['{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', '-W-xxW-'],
  ['{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', '---'],
  ['{{ regexReplaceAll "(?i)A" "aA" "z" }}', 'zz'],
  // --- sprig numbers
  ['{{ add 1 2 3 }} {{ sub 1 3 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }}', '6 -2 24 3 1'],
  ['{{ add .Payload.After.age 1 }} {{ add1 .Payload.After.score }}', '31 2'],
  ['{{ max 1 5 3 }} {{ min 4 2 8 }}', '5 2'],
  ['{{ int "42" }} {{ int64 3.9 }} {{ float64 "1.5" }} {{ atoi "12" }} {{ atoi "x" }}', '42 3 1.5 12 0'],
  ['{{ printf "%d" (int .Payload.After.age) }}', '30'],
  // --- sprig defaults and flow
  [
    '{{ default "d" .Metadata.missing }} {{ default "d" .Metadata.kind }} {{ .Metadata.missing | default "p" }}',
    'd a p',
  ],
  ['{{ default "d" "" }} {{ default "d" 0 }} {{ default "d" false }} {{ default "d" (list) }}', 'd d d d'],
  ['{{ empty .Payload.After.missing }} {{ empty "" }} {{ empty "x" }} {{ empty . }}', 'true true false false'],
  ['{{ coalesce "" nil "z" }} {{ coalesce .Metadata.missing .Metadata.kind }}', 'z a'],
  ['{{ ternary "y" "n" true }} {{ ternary "y" "n" (eq 1 2) }}', 'y n'],
  // --- sprig lists and dicts
  ['{{ list 1 "a" nil | toJson }}', '[1,"a",null]'],
  ['{{ dict "b" 1 "a" "x" | toJson }}', '{"a":"x","b":1}'],
  [
    '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ keys $d | sortAlpha }} {{ hasKey $d "a" }} [{{ get $d "z" }}]',
    '[a b] true []',
  ],
  ['{{ hasKey .Payload.After "name" }}', 'true'],
  [
    '{{ first .Payload.After.tags }} {{ last .Payload.After.tags }} {{ append .Payload.After.tags "z" }}',
    'x y [x y z]',
  ],
  [
    '{{ uniq .Payload.After.nums }} {{ has 2.0 .Payload.After.nums }} {{ has 2 .Payload.After.nums }}',
    '[1 2] true false',
  ],
  ['{{ toPrettyJson .Payload.After.nested }}', '{\n  "a": "z",\n  "b": true\n}'],
  ['{{ toPrettyJson (list) }} {{ toJson (dict) }}', '[] {}'],
  ['{{ toJson .Payload.After.html }}', '"\\u003ca\\u0026b\\u003e"'],
  ['{{ toJson .Key }}', '"azE="', raw],
  ['{{ toJson .Operation }}', '"update"'],
  // --- dates (UTC inputs so results do not depend on the machine's zone)
  ['{{ unixEpoch (toDate "2006-01-02T15:04:05Z07:00" "2020-01-01T00:00:00Z") }}', '1577836800'],
  [
    '{{ (toDate "2006-01-02T15:04:05Z07:00" "2020-01-02T03:04:05Z").UTC.Format "Jan 2, 2006 15:04:05" }}',
    'Jan 2, 2020 03:04:05',
  ],
  ['{{ toDate "2006-01-02" "garbage" | unixEpoch }}', '-62135596800'],
  ['{{ len uuidv4 }}', '36'],
];

const errors: [template: string, messagePart: string, data?: unknown][] = [
  ['{{ .Payload.After.name.x }}', "can't evaluate field x in type string"],
  ['{{ .payload }}', "can't evaluate field payload in type opencdc.Record"],
  ['{{ .Payload.Before.id }}', 'nil pointer evaluating opencdc.Data.id'],
  ['{{ .Payload.After.nil.x }}', 'nil pointer evaluating interface {}.x'],
  ['{{ index .Payload.After.tags 5 }}', 'error calling index: index out of range: 5'],
  ['{{ index .Payload.After.tags "a" }}', 'cannot index slice/array with type string'],
  ['{{ index .Payload.After 1 }}', 'value has type int; should be string'],
  ['{{ index 1 0 }}', "can't index item of type int"],
  ['{{ upper 1 }}', 'expected string; found 1'],
  ['{{ upper .Payload.After.age }}', 'wrong type for value; expected string; got float64'],
  ['{{ upper .Metadata.missing }}', 'invalid value; expected string'],
  ['{{ repeat "x" "y" }}', 'expected integer; found "x"'],
  ['{{ eq .Operation "update" }}', 'error calling eq: incompatible types for comparison'],
  ['{{ lt "a" 1 }}', 'incompatible types for comparison'],
  ['{{ lt true false }}', 'invalid type for comparison'],
  ['{{ len 3 }}', 'error calling len: len of type int'],
  ['{{ hasKey .Metadata "x" }}', 'wrong type for value; expected map[string]interface {}; got opencdc.Metadata'],
  ['{{ upper "a" "b" }}', 'wrong number of args for upper: want 1 got 2'],
  ['{{ printf }}', 'wrong number of args for printf: want at least 1 got 0'],
  ['{{ div 1 0 }}', 'error calling div: runtime error: integer divide by zero'],
  ['{{ range 1.5 }}{{ end }}', "range can't iterate over 1.5"],
  ['{{ template "nope" }}', 'template "nope" not defined'],
  ['{{ 1 2 }}', "can't give argument to non-function 1"],
  ['{{ .Metadata.kind 1 }}', 'kind is not a method but has arguments'],
  ['{{ nil }}', 'nil is not a command'],
  ['{{ fail "boom" }}', 'error calling fail: boom'],
  ['{{ first "abc" }}', 'Cannot find first on type string'],
];

const parseErrors: [template: string, message: string][] = [
  ['{{ foo }}', 'template: 1:4: function "foo" not defined'],
  ['{{ .Payload.After.name | foo }}', 'template: 1:26: function "foo" not defined'],
  ['abc\n  {{ bar 1 }}', 'template: 2:6: function "bar" not defined'],
  ['{{ .a', 'template: 1:3: unclosed action'],
  ['{{ end }}', 'template: 1:4: unexpected {{end}}'],
  ['{{ if true }}x', 'unexpected EOF'],
  ['{{ $x }}', 'undefined variable "$x"'],
  ['{{ "abc }}', 'unterminated quoted string'],
  ['{{ 1x }}', 'bad number syntax: "1x"'],
  ['{{ break }}', '{{break}} outside {{range}}'],
  ['{{ (1 }}', 'unclosed left paren'],
  ['{{ 1) }}', 'unexpected right paren'],
  ['{{ if }}{{ end }}', 'missing value for if'],
  ['{{ "a" | "b" }}', 'non executable command in pipeline stage 2'],
  ['{{/* x */ }}', 'comment ends before closing delimiter'],
  ['{{ /* x */ }}', "unrecognized character in action: U+002F '/'"],
  ['{{ else }}', 'unexpected {{else}}'],
];

describe('template: expressions', () => {
  for (const [src, expected, data] of table) {
    it(`${JSON.stringify(src)} => ${JSON.stringify(expected)}`, () => {
      const t = compileTemplate(src);
      assert.equal(t.execute(data ?? structured), expected);
    });
  }

  it('has at least 120 expression rows', () => {
    assert.ok(table.length + errors.length + parseErrors.length >= 120);
  });
});

describe('template: run-time errors', () => {
  for (const [src, part, data] of errors) {
    it(`${src} fails with ${part}`, () => {
      const t = compileTemplate(src);
      assert.throws(
        () => t.execute(data ?? structured),
        (e: unknown) => {
          assert.ok(e instanceof TemplateExecError, `not a TemplateExecError: ${String(e)}`);
          assert.ok(e.message.includes(part), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(part)}`);
          return true;
        },
      );
    });
  }

  it('reports the place and context like Go', () => {
    const t = compileTemplate('{{ index .Payload.After.tags 5 }}', { name: 'cond' });
    assert.throws(
      () => t.execute(structured),
      (e: unknown) => {
        assert.ok(e instanceof TemplateExecError);
        assert.equal(
          e.message,
          'template: cond:1:4: executing "cond" at <index .Payload.After...>: error calling index: index out of range: 5',
        );
        assert.equal(e.line, 1);
        assert.equal(e.column, 4);
        return true;
      },
    );
  });
});

describe('template: parse errors', () => {
  for (const [src, message] of parseErrors) {
    it(`${JSON.stringify(src)} fails to parse`, () => {
      assert.throws(
        () => compileTemplate(src),
        (e: unknown) => {
          assert.ok(e instanceof ConduitError, `not a ConduitError: ${String(e)}`);
          assert.equal(e.code, 'config.field_invalid');
          assert.ok(
            e.message.includes(message),
            `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(message)}`,
          );
          return true;
        },
      );
    });
  }

  it('puts the template name and column in the message', () => {
    assert.throws(
      () => compileTemplate('{{ eq .Metadata.k "v" | nope }}', { name: 'condition' }),
      (e: unknown) =>
        e instanceof ConduitError &&
        e.message === 'template: condition:1:25: function "nope" not defined' &&
        e.column === 25,
    );
  });
});

describe('template: API', () => {
  it('flags constant templates', () => {
    assert.equal(compileTemplate('users').isConstant, true);
    assert.equal(compileTemplate('a{{/* c */}}b').isConstant, true);
    assert.equal(compileTemplate('{{ "x" }}').isConstant, false);
    assert.equal(compileTemplate('users').execute(structured), 'users');
  });

  it('accepts a record view as well as a record', () => {
    const t = compileTemplate('{{ .Payload.After.name }}');
    assert.equal(t.execute(recordView(structured)), 'Ann');
  });

  it('does not change the record', () => {
    const before = JSON.stringify(structured, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    compileTemplate('{{ $_ := set .Payload.After "zz" 1 }}{{ toJson . }}').execute({
      ...structured,
      payload: { before: null, after: { a: 1 } },
    });
    assert.equal(
      JSON.stringify(structured, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      before,
    );
  });

  it('parses condition output like strconv.ParseBool', () => {
    assert.equal(parseGoBool(compileTemplate('{{ eq .Metadata.kind "a" }}').execute(structured)), true);
    assert.equal(parseGoBool('False'), false);
    assert.equal(parseGoBool('yes'), undefined);
  });

  it('exposes now as a time', () => {
    const out = compileTemplate('{{ now | unixEpoch }}').execute(null);
    assert.ok(Math.abs(Number(out) - Date.now() / 1000) < 5);
  });
});

describe('template: properties', () => {
  it('text without delimiters round-trips', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (s) => {
          const t = compileTemplate(s);
          assert.equal(t.isConstant, true);
          assert.equal(t.execute(structured), s);
        },
      ),
    );
  });

  it('printf "%d" of an integer equals String(x)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (x) => {
        assert.equal(compileTemplate(`{{ printf "%d" ${x} }}`).execute(null), String(x));
        assert.equal(compileTemplate('{{ printf "%d" .n }}').execute({ n: x }), String(x));
      }),
    );
  });

  it('a quoted string literal prints back its value', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        assert.equal(compileTemplate(`{{ ${JSON.stringify(s)} }}`).execute(null), s);
      }),
    );
  });

  it('toJson of structured data matches JSON.stringify with sorted keys for plain values', () => {
    // JSON.stringify with keys sorted byte-wise (JS objects put integer-like keys first, Go does not)
    const ser = (v: unknown): string =>
      Array.isArray(v)
        ? '[' + v.map(ser).join(',') + ']'
        : v !== null && typeof v === 'object'
          ? '{' +
            Object.keys(v)
              .sort()
              .map((k) => JSON.stringify(k) + ':' + ser((v as Record<string, unknown>)[k]))
              .join(',') +
            '}'
          : Object.is(v, -0)
            ? '-0'
            : JSON.stringify(v);
    const safe = fc.string().filter((s) => !/[<>&\u2028\u2029\ud800-\udfff]/.test(s));
    fc.assert(
      fc.property(
        fc.dictionary(
          safe,
          fc.oneof(safe, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
        ),
        (obj) => {
          const got = compileTemplate('{{ toJson . }}').execute(obj);
          assert.equal(got, ser(obj));
        },
      ),
    );
  });
});
