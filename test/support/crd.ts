/**
 * A namespaced CustomResourceDefinition for tests: one served and stored version `v1` with a
 * status subresource, named from its kind (`Widget`: plural `widgets`, list kind `WidgetList`).
 */
export function testCrd(group: string, kind: string, openAPIV3Schema: Record<string, unknown>) {
  const singular = kind.toLowerCase();
  const plural = `${singular}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular, kind, listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema } }],
    },
  };
}
