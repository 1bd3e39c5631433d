// Backpressure for exceljs's streaming workbook writer: a sheet's committed rows wait for the zip to catch up.
import type ExcelJS from 'exceljs';

const BACKLOG_LIMIT = 4 << 20;
const STALL_MS = 60_000;

interface PipeLike {
  writableLength?: number;
  _writableState?: { length?: number };
  once?: (event: string, f: () => void) => void;
}

/** Bytes queued in the zip's input (archiver uses readable-stream 2, which has no writableLength). */
function backlog(p: PipeLike): number {
  return typeof p.writableLength === 'number' ? p.writableLength : (p._writableState?.length ?? 0);
}

/**
 * Waits until the sheet's compressed output has caught up. exceljs's streaming writer queues each committed row
 * for the zip without backpressure: compression falls behind and the queue grows with the row count (300k rows
 * held 200 MB). Its sheet stream pipes into the zip's input stream, whose backlog is readable here; if a future
 * exceljs hides it, this degrades to yielding to I/O between batches.
 */
export async function catchUp(ws: ExcelJS.Worksheet): Promise<void> {
  const pipes = (ws as unknown as { stream?: { pipes?: unknown } }).stream?.pipes;
  if (Array.isArray(pipes))
    for (const p of pipes as PipeLike[]) {
      let last = backlog(p);
      let since = performance.now();
      while (backlog(p) > BACKLOG_LIMIT && typeof p.once === 'function') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          p.once!('drain', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const now = backlog(p);
        if (now !== last) [last, since] = [now, performance.now()];
        else if (performance.now() - since > STALL_MS)
          throw new Error(`the xlsx writer made no progress for ${STALL_MS / 1000} s`);
      }
    }
  await new Promise<void>((resolve) => setImmediate(resolve));
}
