/**
 * Prebuilt random words: the generator's `string` fields and keys pick from
 * them, so no string is built per record. Made once from syllables with a fixed
 * seed, so every run has the same vocabulary.
 */
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'ze',
  'pa',
  'qui',
  'dor',
  'fen',
  'gal',
  'hum',
  'jor',
  'bri',
  'cas',
  'del',
  'eph',
  'lin',
  'mor',
  'nix',
  'oth',
  'pel',
  'ros',
  'sun',
  'tar',
  'ul',
  'ver',
  'wen',
  'yas',
];

/** A power of two, so a random index is a mask. */
export const WORD_COUNT = 1024;
export const WORD_MASK = WORD_COUNT - 1;

function build(): { words: string[]; bytes: Buffer[] } {
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const seen = new Set<string>();
  while (seen.size < WORD_COUNT) {
    const parts = 2 + (next() % 3);
    let w = '';
    for (let i = 0; i < parts; i++) w += SYLLABLES[next() % SYLLABLES.length] ?? '';
    seen.add(w);
  }
  const words = [...seen];
  return { words, bytes: words.map((w) => Buffer.from(w, 'latin1')) };
}

const built = build();
export const WORDS: readonly string[] = built.words;
/** The same words as bytes, for raw keys (raw data is never changed in place, so they are shared). */
export const WORD_BYTES: readonly Buffer[] = built.bytes;
