import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Event-time ordering with bounded memory: an external merge sort. Items are buffered up to
 * `chunkSize`; a full buffer is sorted (stable, by `key`) and spilled to a temporary NDJSON file;
 * at the end the sorted runs are merged with a binary heap (k-way merge). Inputs that fit in one
 * chunk never touch the disk. Memory: O(chunkSize + number of runs).
 */
export class ExternalSorter<T> {
  private readonly chunkSize: number;
  private readonly key: (t: T) => number;
  private buffer: { k: number; seq: number; v: T }[] = [];
  private runs: string[] = [];
  private dir: string | undefined;
  private seq = 0;
  spilledRuns = 0;

  constructor(key: (t: T) => number, chunkSize = 250_000) {
    this.key = key;
    this.chunkSize = chunkSize;
  }

  async add(v: T): Promise<void> {
    this.buffer.push({ k: this.key(v), seq: this.seq++, v });
    if (this.buffer.length >= this.chunkSize) await this.spill();
  }

  private sortBuffer(): void {
    this.buffer.sort((a, b) => a.k - b.k || a.seq - b.seq);
  }

  private async spill(): Promise<void> {
    this.sortBuffer();
    this.dir ??= await mkdtemp(join(tmpdir(), 'regwatch-sort-'));
    const file = join(this.dir, `run-${this.runs.length}.ndjson`);
    await writeFile(file, this.buffer.map((x) => JSON.stringify([x.k, x.seq, x.v])).join('\n') + '\n');
    this.runs.push(file);
    this.spilledRuns++;
    this.buffer = [];
  }

  /** Yields every item in ascending key order (ties in insertion order), then removes temp files. */
  async *sorted(): AsyncGenerator<T> {
    try {
      if (this.runs.length === 0) {
        this.sortBuffer();
        const b = this.buffer;
        this.buffer = [];
        for (const x of b) yield x.v;
        return;
      }
      if (this.buffer.length) await this.spill();
      const iters = this.runs.map((f) =>
        createInterface({ input: createReadStream(f), crlfDelay: Infinity })[Symbol.asyncIterator](),
      );
      type Head = { k: number; seq: number; v: T; src: number };
      const heap: Head[] = [];
      const less = (a: Head, b: Head): boolean => a.k < b.k || (a.k === b.k && a.seq < b.seq);
      const push = (h: Head): void => {
        heap.push(h);
        let i = heap.length - 1;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!less(heap[i]!, heap[p]!)) break;
          [heap[i], heap[p]] = [heap[p]!, heap[i]!];
          i = p;
        }
      };
      const pop = (): Head | undefined => {
        const top = heap[0];
        const last = heap.pop();
        if (heap.length && last) {
          heap[0] = last;
          let i = 0;
          for (;;) {
            const l = 2 * i + 1;
            const r = l + 1;
            let m = i;
            if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
            if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
            if (m === i) break;
            [heap[i], heap[m]] = [heap[m]!, heap[i]!];
            i = m;
          }
        }
        return top;
      };
      const readNext = async (src: number): Promise<void> => {
        const r = await iters[src]!.next();
        if (r.done) return;
        const [k, seq, v] = JSON.parse(r.value) as [number, number, T];
        push({ k, seq, v, src });
      };
      for (let i = 0; i < iters.length; i++) await readNext(i);
      for (let h = pop(); h; h = pop()) {
        yield h.v;
        await readNext(h.src);
      }
    } finally {
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    }
  }
}
