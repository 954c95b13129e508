// Sets of slots as filters make them: one byte per slot, 1 in the set and 0
// not. These passes read them four slots at a time: a selective filter's
// words are mostly 0 and skipped whole, and a word's members are counted
// without a branch.

/** Clears the dead slots (1 in `dead`, when given) from `bits` over slots 0..n-1; returns how many remain. */
export function dropDead(bits: Uint8Array, dead: Uint8Array | undefined, n: number): number {
  const words = aligned(bits) && (!dead || aligned(dead)) ? n >>> 2 : 0;
  const b = wordsOf(bits, words);
  let count = 0;
  if (dead) {
    const d = wordsOf(dead, words);
    for (let w = 0; w < words; w++) {
      const x = b[w] & ~d[w];
      b[w] = x;
      count += members(x);
    }
  } else {
    for (let w = 0; w < words; w++) count += members(b[w]);
  }
  for (let s = words << 2; s < n; s++) {
    if (dead && dead[s] === 1) bits[s] = 0;
    count += bits[s];
  }
  return count;
}

/** The slots in `bits`, ascending. */
export function slotsOf(bits: Uint8Array): number[] {
  const out: number[] = [];
  const words = aligned(bits) ? bits.length >>> 2 : 0;
  const b = wordsOf(bits, words);
  for (let w = 0; w < words; w++) {
    if (b[w] === 0) continue;
    const s = w << 2;
    if (bits[s] === 1) out.push(s);
    if (bits[s + 1] === 1) out.push(s + 1);
    if (bits[s + 2] === 1) out.push(s + 2);
    if (bits[s + 3] === 1) out.push(s + 3);
  }
  for (let s = words << 2; s < bits.length; s++) if (bits[s] === 1) out.push(s);
  return out;
}

/** The number of 1 bytes in a word of 0/1 bytes: their sum lands in the top byte. */
function members(word: number): number {
  return Math.imul(word, 0x01010101) >>> 24;
}

/** The first `words` words of the bytes (none when they do not start on a word boundary: the byte loops take them). */
function wordsOf(a: Uint8Array, words: number): Uint32Array {
  return words > 0 ? new Uint32Array(a.buffer, a.byteOffset, words) : new Uint32Array(0);
}

function aligned(a: Uint8Array): boolean {
  return a.byteOffset % 4 === 0;
}
