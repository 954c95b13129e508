// `like` without regular expressions: a RegExp over a user's pattern
// backtracks, and a few thousand `%` froze every actor in the process. The
// pattern is cut at each `%` into pieces of fixed length; the first piece must
// sit at the start, the last at the end, and each middle piece is taken at its
// leftmost place after the previous one (a later place never leaves more room
// for the rest). Each piece is searched once, so a match costs at most
// value length × pattern length steps, whatever the pattern.

/** One character of a piece; `null` is `_`, any one character. */
type Unit = string | null;

interface Piece {
  units: Unit[];
  /** The piece as plain text when it has no `_`, for the native string search. */
  text: string | null;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Compiles a `like` pattern: `%` any run, `_` one character (a code point, not
 * a UTF-16 unit); `\%`, `\_` and `\\` stand for themselves, as does a final `\`.
 */
export function likeMatcher(pattern: string): (value: string) => boolean {
  const pieces: Piece[] = [];
  let units: Unit[] = [];
  const p = Array.from(pattern);
  const endPiece = () => {
    pieces.push({ units, text: units.includes(null) ? null : units.join("") });
    units = [];
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\" && i + 1 < p.length) units.push(p[++i]);
    else if (c === "%") endPiece();
    else units.push(c === "_" ? null : c);
  }
  endPiece();
  const [first, ...rest] = pieces;
  const last = rest.pop();
  return (value) => {
    // Code points only when the value has any outside the BMP: `_` is one character.
    const v: ArrayLike<string> = SURROGATE.test(value) ? Array.from(value) : value;
    if (!last) return v.length === first.units.length && matchesAt(v, first, 0);
    let at = first.units.length;
    const end = v.length - last.units.length;
    if (at > end || !matchesAt(v, first, 0) || !matchesAt(v, last, end)) return false;
    for (const piece of rest) {
      const found = find(v, piece, at, end - piece.units.length);
      if (found < 0) return false;
      at = found + piece.units.length;
    }
    return true;
  };
}

function matchesAt(v: ArrayLike<string>, piece: Piece, at: number): boolean {
  const u = piece.units;
  for (let j = 0; j < u.length; j++) if (u[j] !== null && u[j] !== v[at + j]) return false;
  return true;
}

/** The leftmost start in [from, to] where `piece` matches, or -1. */
function find(v: ArrayLike<string>, piece: Piece, from: number, to: number): number {
  if (typeof v === "string" && piece.text !== null) {
    const i = v.indexOf(piece.text, from);
    return i >= 0 && i <= to ? i : -1;
  }
  for (let i = from; i <= to; i++) if (matchesAt(v, piece, i)) return i;
  return -1;
}
