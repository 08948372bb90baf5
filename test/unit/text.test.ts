import { strict as assert } from 'node:assert';
import {
  LineIndex,
  byteOffsetToIndex,
  codePointPositionToIndex,
  indexToByteOffset,
} from '../../src/core/sql/text';

describe('sql/text', () => {
  describe('LineIndex.positionAt', () => {
    it('is 1-based on a single line', () => {
      const idx = new LineIndex('SELECT 1;');
      assert.deepEqual(idx.positionAt(0), { line: 1, column: 1 });
      assert.deepEqual(idx.positionAt(7), { line: 1, column: 8 });
      assert.deepEqual(idx.positionAt(9), { line: 1, column: 10 });
    });

    it('handles an empty text', () => {
      const idx = new LineIndex('');
      assert.deepEqual(idx.positionAt(0), { line: 1, column: 1 });
      assert.equal(idx.offsetAt(1, 1), 0);
      assert.equal(idx.lineCount, 1);
    });

    it('splits lines at LF', () => {
      const text = 'a\nbc\n\nd';
      const idx = new LineIndex(text);
      assert.equal(idx.lineCount, 4);
      assert.deepEqual(idx.positionAt(text.indexOf('b')), { line: 2, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('c')), { line: 2, column: 2 });
      assert.deepEqual(idx.positionAt(5), { line: 3, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('d')), { line: 4, column: 1 });
    });

    it('treats CRLF as one line break', () => {
      const text = 'SELECT 1;\r\nSELECT 2;\r\n\r\nSELECT 3;';
      const idx = new LineIndex(text);
      assert.equal(idx.lineCount, 4);
      assert.deepEqual(idx.positionAt(text.indexOf('SELECT 2')), { line: 2, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('SELECT 3')), { line: 4, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('3')), { line: 4, column: 8 });
      // The CR itself is still on the line it ends.
      assert.deepEqual(idx.positionAt(text.indexOf('\r')), { line: 1, column: 10 });
    });

    it('treats a lone CR as a line break', () => {
      const text = 'a\rb\r\rc';
      const idx = new LineIndex(text);
      assert.equal(idx.lineCount, 4);
      assert.deepEqual(idx.positionAt(2), { line: 2, column: 1 });
      assert.deepEqual(idx.positionAt(5), { line: 4, column: 1 });
    });

    it('handles mixed line endings', () => {
      const text = 'a\nb\r\nc\rd';
      const idx = new LineIndex(text);
      assert.deepEqual(idx.positionAt(text.indexOf('b')), { line: 2, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('c')), { line: 3, column: 1 });
      assert.deepEqual(idx.positionAt(text.indexOf('d')), { line: 4, column: 1 });
    });

    it('counts columns in UTF-16 code units (an emoji takes two)', () => {
      const text = "SELECT '😀' AS x;\nSELECT 2;";
      const idx = new LineIndex(text);
      assert.deepEqual(idx.positionAt(text.indexOf('AS')), { line: 1, column: 13 });
      assert.deepEqual(idx.positionAt(text.indexOf('2')), { line: 2, column: 8 });
    });

    it('clamps out-of-range offsets instead of throwing', () => {
      const idx = new LineIndex('ab\ncd');
      assert.deepEqual(idx.positionAt(-5), { line: 1, column: 1 });
      assert.deepEqual(idx.positionAt(1000), { line: 2, column: 3 });
      assert.deepEqual(idx.positionAt(Number.NaN), { line: 1, column: 1 });
    });

    it('agrees with a naive computation at every offset', () => {
      const text = 'x\r\n\ry\n😀é\r\n\nlast';
      const idx = new LineIndex(text);
      for (let off = 0; off <= text.length; off++) {
        let line = 1;
        let lineStart = 0;
        for (let k = 0; k < off; k++) {
          const ch = text[k];
          if (ch === '\n' || (ch === '\r' && text[k + 1] !== '\n')) {
            line++;
            lineStart = k + 1;
          }
        }
        assert.deepEqual(idx.positionAt(off), { line, column: off - lineStart + 1 }, `offset ${off}`);
      }
    });
  });

  describe('LineIndex.offsetAt', () => {
    it('inverts positionAt', () => {
      const text = 'SELECT 1;\r\n  SELECT 2;\rSELECT 😀;\nEND';
      const idx = new LineIndex(text);
      for (let off = 0; off <= text.length; off++) {
        const ch = text[off - 1];
        // Offsets between CR and LF have no position of their own on a line.
        if (ch === '\r' && text[off] === '\n') continue;
        const p = idx.positionAt(off);
        assert.equal(idx.offsetAt(p.line, p.column), off, `offset ${off}`);
      }
    });

    it('clamps the column to the end of the line and the line to the text', () => {
      const text = 'ab\r\ncd\nef';
      const idx = new LineIndex(text);
      assert.equal(idx.offsetAt(1, 99), 2); // before the CRLF
      assert.equal(idx.offsetAt(2, 99), 6);
      assert.equal(idx.offsetAt(3, 99), text.length);
      assert.equal(idx.offsetAt(99, 1), 7);
      assert.equal(idx.offsetAt(0, 0), 0);
      assert.equal(idx.offsetAt(2, 2), text.indexOf('d'));
    });
  });

  describe('byteOffsetToIndex / indexToByteOffset', () => {
    it('is the identity for ASCII', () => {
      const text = 'SELECT 1;';
      for (let i = 0; i <= text.length; i++) {
        assert.equal(byteOffsetToIndex(text, i), i);
        assert.equal(indexToByteOffset(text, i), i);
      }
    });

    it('handles two-byte characters (é)', () => {
      const text = "SELECT 'é' , x";
      const bytes = Buffer.from(text, 'utf8');
      const xByte = bytes.indexOf('x');
      assert.equal(xByte, text.indexOf('x') + 1);
      assert.equal(byteOffsetToIndex(text, xByte), text.indexOf('x'));
      assert.equal(indexToByteOffset(text, text.indexOf('x')), xByte);
    });

    it('handles three-byte characters (日本)', () => {
      const text = '-- 日本\nSELECT 日本;';
      const bytes = Buffer.from(text, 'utf8');
      const selByte = bytes.indexOf('SELECT');
      assert.equal(selByte, text.indexOf('SELECT') + 4); // two chars, 3 bytes each, 1 unit each
      assert.equal(byteOffsetToIndex(text, selByte), text.indexOf('SELECT'));
      assert.equal(indexToByteOffset(text, text.indexOf('SELECT')), selByte);
      const semiByte = bytes.indexOf(';');
      assert.equal(byteOffsetToIndex(text, semiByte), text.indexOf(';'));
    });

    it('handles astral characters (emoji: 4 bytes, 2 UTF-16 units)', () => {
      const text = "SELECT '😀😀' AS y";
      const bytes = Buffer.from(text, 'utf8');
      const yByte = bytes.indexOf('y');
      assert.equal(byteOffsetToIndex(text, yByte), text.indexOf('y'));
      assert.equal(indexToByteOffset(text, text.indexOf('y')), yByte);
      assert.equal(text.indexOf('y') - yByte, 2 * (2 - 4));
    });

    it('agrees with Buffer at every character boundary', () => {
      const text = 'aé日😀b\r\n€𝄞z';
      let index = 0;
      for (const ch of text) {
        const byte = Buffer.byteLength(text.slice(0, index), 'utf8');
        assert.equal(indexToByteOffset(text, index), byte, `index ${index}`);
        assert.equal(byteOffsetToIndex(text, byte), index, `byte ${byte}`);
        index += ch.length;
      }
      assert.equal(indexToByteOffset(text, text.length), Buffer.byteLength(text));
      assert.equal(byteOffsetToIndex(text, Buffer.byteLength(text)), text.length);
    });

    it('maps a byte offset inside a character to the start of that character', () => {
      const text = 'a日b';
      assert.equal(byteOffsetToIndex(text, 2), 1);
      assert.equal(byteOffsetToIndex(text, 3), 1);
      assert.equal(byteOffsetToIndex(text, 4), 2);
      const emoji = 'a😀b';
      assert.equal(byteOffsetToIndex(emoji, 3), 1);
      assert.equal(byteOffsetToIndex(emoji, 5), 3);
    });

    it('maps an index inside a surrogate pair to the byte offset of the pair', () => {
      assert.equal(indexToByteOffset('a😀b', 2), 1);
      assert.equal(indexToByteOffset('a😀b', 3), 5);
    });

    it('counts a lone surrogate as three bytes, like Buffer', () => {
      const text = 'a\ud800b';
      assert.equal(indexToByteOffset(text, 2), Buffer.byteLength(text.slice(0, 2)));
      assert.equal(byteOffsetToIndex(text, 4), 2);
    });

    it('clamps out-of-range values', () => {
      assert.equal(byteOffsetToIndex('abc', -1), 0);
      assert.equal(byteOffsetToIndex('abc', 99), 3);
      assert.equal(byteOffsetToIndex('', 5), 0);
      assert.equal(indexToByteOffset('aé', 99), 3);
      assert.equal(indexToByteOffset('aé', -3), 0);
      assert.equal(byteOffsetToIndex('abc', Number.NaN), 0);
    });
  });

  describe('codePointPositionToIndex', () => {
    it('converts 1-based positions to 0-based indexes for ASCII', () => {
      assert.equal(codePointPositionToIndex('SELECT foo', 1), 0);
      assert.equal(codePointPositionToIndex('SELECT foo', 8), 7);
    });

    it('counts an emoji as one position but two UTF-16 units', () => {
      const text = "SELECT '😀', bad";
      // PostgreSQL would report `bad` at character 13 (1-based); its UTF-16 index is 13 too, not 12.
      const pos = [...text.slice(0, text.indexOf('bad'))].length + 1;
      assert.equal(pos, 13);
      assert.equal(text.indexOf("bad"), 13);
      assert.equal(codePointPositionToIndex(text, pos), text.indexOf('bad'));
    });

    it('counts é and 日本 as one position each (same as UTF-16)', () => {
      const text = "SELECT '日本é', bad";
      const pos = [...text.slice(0, text.indexOf('bad'))].length + 1;
      assert.equal(codePointPositionToIndex(text, pos), text.indexOf('bad'));
    });

    it('handles several astral characters in a row', () => {
      const text = '𝄞😀😀x';
      assert.equal(codePointPositionToIndex(text, 4), 6);
      assert.equal(text[6], 'x');
    });

    it('clamps out-of-range positions', () => {
      assert.equal(codePointPositionToIndex('abc', 0), 0);
      assert.equal(codePointPositionToIndex('abc', -4), 0);
      assert.equal(codePointPositionToIndex('abc', 100), 3);
      assert.equal(codePointPositionToIndex('a😀', 3), 3);
      assert.equal(codePointPositionToIndex('abc', Number.NaN), 0);
    });
  });
});
