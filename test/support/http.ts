/** A small JSON client for API tests: every call returns status, headers and the parsed body. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  // Tests read arbitrary wire fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface JsonClient {
  get(path: string, headers?: Record<string, string>): Promise<JsonResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
  delete(path: string, headers?: Record<string, string>): Promise<JsonResponse>;
}

export function jsonClient(baseUrl: string, token?: string): JsonClient {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { 'x-auth-token': token } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (e.g. a stream): the text itself.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    get: (path, headers) => call('GET', path, undefined, headers),
    post: (path, body, headers) => call('POST', path, body, headers),
    put: (path, body, headers) => call('PUT', path, body, headers),
    delete: (path, headers) => call('DELETE', path, undefined, headers),
  };
}

/**
 * Reads a newline-delimited JSON stream in the background, handing each parsed line (and the bytes read since the previous line) to
 * `onLine`; ends quietly when the stream ends or its request is aborted.
 */
export function readNdjson<T>(response: Response, onLine: (line: T, bytes: number) => void): void {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let bytes = 0;
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += decoder.decode(value, { stream: true });
        bytes += value.length;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, nl)) as T;
          buffered = buffered.slice(nl + 1);
          onLine(line, bytes);
          bytes = 0;
        }
      }
    } catch {
      // Aborted by its caller.
    }
  })();
}
