/**
 * The segments of a URL path, percent-decoded. A malformed escape (`%zz`, a lone `%`, a cut UTF-8
 * sequence) is the client's mistake: servers answer it with 400, as Go's HTTP server does for a
 * real kube-apiserver, instead of letting decodeURIComponent's URIError become a 500.
 */
export class MalformedPathError extends Error {
  constructor(readonly segment: string) {
    super(`malformed percent-encoding in the request path: ${JSON.stringify(segment)}`);
    this.name = 'MalformedPathError';
  }
}

export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedPathError(segment);
  }
}

/** The non-empty segments of `pathname`, decoded. */
export function pathSegments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodePathSegment);
}
