// A one-line progress display for long CLI operations. It redraws in place on
// a terminal only: piped or redirected stderr gets just the final summary, so
// logs are not filled with carriage returns.

export interface Progress {
  update(done: number, total?: number): void;
  /** Ends the progress line and prints the summary, TTY or not. */
  done(summary: string): void;
}

interface Output {
  isTTY?: boolean;
  write(s: string): unknown;
}

const REDRAW_MS = 100;

export function progress(label: string, out: Output = process.stderr): Progress {
  const tty = out.isTTY === true;
  const start = performance.now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (!tty || now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      drawn = true;
      out.write(`\r${progressLine(label, done, total, (now - start) / 1000)}\x1b[K`);
    },
    done(summary) {
      if (drawn) out.write("\r\x1b[K");
      out.write(`${summary}\n`);
    },
  };
}

function progressLine(label: string, done: number, total: number | undefined, seconds: number): string {
  const rate = seconds > 0 ? `, ${Math.round(done / seconds)}/s` : "";
  if (total === undefined || total <= 0) return `${label}: ${done}${rate}`;
  const pct = Math.min(100, Math.floor((done / total) * 100));
  return `${label}: ${done}/${total} (${pct}%)${rate}`;
}
