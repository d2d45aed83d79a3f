/**
 * Log lines as the push channel sends them: a `log` event carries `reads`,
 * each the lines read at once from one stream, sharing their time and stream
 * (`{seq, at, stream, text: [...], partial: [...]}`: line i is number
 * `seq + i`; `partial` lists the indices of pieces of longer lines).
 */

export interface ILogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
  /** A piece of a long line: the next piece of the same stream continues it. */
  partial: boolean;
}

/** A line as pushed: with its sequence number, when the server gave one. */
export interface IPushedLine extends ILogLine {
  seq?: number;
}

/** Every line of a `log` event's reads, in order; what is not a read is skipped. */
export function pushedLines(reads: unknown): IPushedLine[] {
  if (!Array.isArray(reads)) {
    return [];
  }
  const lines: IPushedLine[] = [];
  for (const read of reads as Record<string, unknown>[]) {
    if (!read || !Array.isArray(read.text)) {
      continue;
    }
    const texts: unknown[] = read.text;
    const partial = new Set(Array.isArray(read.partial) ? read.partial : []);
    const first = typeof read.seq === 'number' ? read.seq : undefined;
    const stream = read.stream === 'stderr' ? 'stderr' : 'stdout';
    const time = String(read.at ?? '');
    texts.forEach((text, i) =>
      lines.push({
        seq: first === undefined ? undefined : first + i,
        time,
        stream,
        text: String(text).replace(/\r?\n$/, ''),
        partial: partial.has(i)
      })
    );
  }
  return lines;
}
