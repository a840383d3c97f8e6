/**
 * What a request addresses: the resource, namespace, name and subresource of an API path, as
 * kube-apiserver's RequestInfoResolver reads `/api/v1/...` and `/apis/<group>/<version>/...`.
 */
import { pathSegments } from '../../kube/index.ts';

export interface ResourceRequest {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

export type PathInfo =
  | { type: 'resource'; req: ResourceRequest }
  | { type: 'groupVersion'; group: string; version: string }
  | { type: 'group'; group: string }
  | { type: 'other'; path: string };

export function parseApiPath(pathname: string): PathInfo {
  const parts = pathSegments(pathname);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else if (parts[0] === 'apis' && parts.length === 2) {
    return { type: 'group', group: parts[1] };
  } else {
    return { type: 'other', path: pathname };
  }
  if (rest.length === 0) return { type: 'groupVersion', group, version };
  // `/namespaces/{ns}/{plural}...` addresses namespaced objects; `/namespaces/{name}[/status|finalize]`
  // addresses a namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    return { type: 'resource', req: { group, version, namespace: rest[1], plural: rest[2], name: rest[3], subresource: rest[4] } };
  }
  if (rest.length > 3) return { type: 'other', path: pathname };
  return { type: 'resource', req: { group, version, plural: rest[0], name: rest[1], subresource: rest[2] } };
}
