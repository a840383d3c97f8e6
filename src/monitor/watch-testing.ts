/** Test support for the monitor's watches, as a client reads them over HTTP. */

/**
 * Reads a watch response's lines as they arrive, each parsed and handed to `onEvent`, until the
 * response ends or its request is aborted.
 */
export function readWatchLines<T>(res: Response, onEvent: (event: T) => void): void {
  void (async () => {
    let text = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += Buffer.from(chunk).toString();
        let i: number;
        while ((i = text.indexOf('\n')) >= 0) {
          onEvent(JSON.parse(text.slice(0, i)) as T);
          text = text.slice(i + 1);
        }
      }
    } catch {
      // aborted
    }
  })();
}
