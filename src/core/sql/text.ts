/**
 * Offset and position arithmetic over SQL text. Three different units meet here: JavaScript strings
 * are indexed in UTF-16 code units, libpg-query reports UTF-8 byte offsets, and the PostgreSQL server
 * reports error positions in characters (code points, with a UTF8 server encoding). Every conversion
 * is a single linear pass, and none of them throws: out-of-range input is clamped.
 */

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based; counts UTF-16 code units (what editors such as VS Code use) */
  column: number;
}

const LF = 10;
const CR = 13;

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Clamp to an integer in [min, max]; NaN goes to `min` so that garbage never becomes an exception. */
function clampInt(value: number, min: number, max: number): number {
  if (!(value > min)) return min; // also catches NaN
  if (value >= max) return max;
  return Math.floor(value);
}

export class LineIndex {
  /** UTF-16 offset at which each line begins; lineStarts[0] is always 0. */
  private readonly lineStarts: number[];
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
    const starts = [0];
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) {
        starts.push(i + 1);
      } else if (c === CR) {
        // CRLF is one break, not two, so a Windows file does not get phantom empty lines.
        if (text.charCodeAt(i + 1) === LF) i++;
        starts.push(i + 1);
      }
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  positionAt(offset: number): Position {
    const off = clampInt(offset, 0, this.text.length);
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    // Find the last line start <= off.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: off - starts[lo] + 1 };
  }

  offsetAt(line: number, column: number): number {
    const starts = this.lineStarts;
    const lineIdx = clampInt(line, 1, starts.length) - 1;
    const start = starts[lineIdx];
    const contentEnd = this.lineContentEnd(lineIdx);
    // A column past the end of the line stays on that line rather than spilling into the next one.
    return start + clampInt(column, 1, contentEnd - start + 1) - 1;
  }

  /** Offset of the line break that ends line `lineIdx` (0-based), or the text length for the last line. */
  private lineContentEnd(lineIdx: number): number {
    const starts = this.lineStarts;
    if (lineIdx + 1 >= starts.length) return this.text.length;
    const next = starts[lineIdx + 1];
    if (next >= 2 && this.text.charCodeAt(next - 1) === LF && this.text.charCodeAt(next - 2) === CR) return next - 2;
    return next - 1;
  }
}

/** UTF-8 length of the character whose first UTF-16 unit is at `i` (4 only for a well-formed surrogate pair). */
function utf8Width(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (isHighSurrogate(c) && isLowSurrogate(text.charCodeAt(i + 1))) return 4;
  // Lone surrogates are encoded as U+FFFD (3 bytes) by Buffer/TextEncoder, so count them the same way.
  return 3;
}

/**
 * Convert a UTF-8 byte offset into `text` into a UTF-16 index (libpg-query reports byte offsets).
 * A byte offset that falls inside a multi-byte character maps to the start of that character.
 */
export function byteOffsetToIndex(text: string, byteOffset: number): number {
  if (!(byteOffset > 0)) return 0;
  const n = text.length;
  let bytes = 0;
  let i = 0;
  while (i < n) {
    if (bytes >= byteOffset) return i;
    const w = utf8Width(text, i);
    if (bytes + w > byteOffset) return i;
    bytes += w;
    i += w === 4 ? 2 : 1;
  }
  return n;
}

/**
 * Convert a UTF-16 index into `text` into a UTF-8 byte offset. An index that splits a surrogate pair
 * maps to the byte offset of the pair's start.
 */
export function indexToByteOffset(text: string, index: number): number {
  const end = clampInt(index, 0, text.length);
  let bytes = 0;
  let i = 0;
  while (i < end) {
    const w = utf8Width(text, i);
    if (w === 4) {
      if (i + 1 >= end) break;
      i += 2;
    } else {
      i += 1;
    }
    bytes += w;
  }
  return bytes;
}

/**
 * PostgreSQL error `position` is 1-based and counts characters (code points); convert to a UTF-16
 * index into text (0-based). Positions past the end clamp to `text.length`.
 */
export function codePointPositionToIndex(text: string, position1Based: number): number {
  if (!(position1Based > 1)) return 0;
  const n = text.length;
  let remaining = Math.floor(position1Based) - 1;
  let i = 0;
  while (remaining > 0 && i < n) {
    i += isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
    remaining--;
  }
  return i;
}
