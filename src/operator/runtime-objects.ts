/**
 * The objects a Runtime renders: MongoDB, NATS and MinIO as StatefulSets with their Services, the
 * Secrets their credentials live in, and the `active-entrypoint` Service. Pure functions of the
 * Runtime (and, for Secrets, of the credentials read or generated), so they are tested as values.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION, RUNTIME_LABEL, type Runtime } from '../api/index.ts';
import { setControllerOwner, type KubeObject, type Secret, type Service, type StatefulSet } from '../kube/index.ts';
import { MANAGED_BY, sha256 } from './children.ts';

export const MONGO = 'kre-mongo';
export const NATS = 'kre-nats';
export const NATS_CLUSTER = 'kre-nats-cluster';
export const NATS_CONFIG = 'kre-nats-config';
export const MINIO = 'kre-minio';
export const ACTIVE_ENTRYPOINT = 'active-entrypoint';
/** Generated when the spec references no Secret. */
export const MONGO_CREDENTIALS = 'kre-mongo-credentials';
export const MINIO_CREDENTIALS = 'kre-minio-credentials';
/** The connection string versions get as `KRT_MONGO_URI`: it holds the password, so it is a Secret. */
export const MONGO_CONNECTION = 'kre-mongo-connection';
export const MONGO_CONNECTION_KEY = 'uri';
export const MONGO_REPLICA_SET = 'rs0';
export const CONFIG_HASH = 'kre.konstellation.io/config-hash';

/** The labels the seed's clients select components by; selectors are immutable, so they stay this small. */
export const MONGO_LABELS = { 'kre-app': MONGO } as const;
export const NATS_LABELS = { app: NATS } as const;
export const MINIO_LABELS = { app: MINIO } as const;

export interface MongoCredentials {
  username: string;
  password: string;
  sharedKey: string;
}
export interface MinioCredentials {
  accessKey: string;
  secretKey: string;
}

function metadata(rt: Runtime, name: string, labels: Record<string, string>): KubeObject['metadata'] {
  return {
    name,
    namespace: rt.metadata.namespace,
    labels: { ...labels, ...MANAGED_BY, 'app.kubernetes.io/part-of': 'kre', [RUNTIME_LABEL]: rt.metadata.name ?? '' },
  };
}

function owned<T extends KubeObject>(rt: Runtime, obj: T): T {
  return setControllerOwner(obj, { ...rt, apiVersion: API_VERSION, kind: 'Runtime' });
}

function tcpPort(name: string, port: number) {
  return { name, port, targetPort: port, protocol: 'TCP' };
}

/**
 * A Service of the runtime. `headless` ones give each member of a StatefulSet a stable DNS name;
 * `publishNotReadyAddresses` lets members find each other before they are ready.
 */
function renderService(
  rt: Runtime,
  name: string,
  labels: Record<string, string>,
  spec: { selector?: Record<string, string>; ports: ReturnType<typeof tcpPort>[]; headless?: boolean; publishNotReadyAddresses?: boolean },
): Service {
  return owned(rt, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(rt, name, labels),
    spec: {
      ...(spec.headless ? { clusterIP: 'None' } : {}),
      ...(spec.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      selector: { ...(spec.selector ?? labels) },
      ports: spec.ports,
    },
  });
}

export function mongoReplicas(rt: Runtime): number {
  return rt.spec.mongo.replicas ?? (rt.spec.developmentMode ? 1 : 3);
}

function storageClass(rt: Runtime, own: string | undefined): { storageClassName?: string } {
  const name = own ?? rt.spec.sharedStorageClass;
  return name ? { storageClassName: name } : {};
}

function secretEnv(name: string, secret: string, key: string) {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Random credentials: letters and digits only, so they need no escaping in a URI or a shell. */
export function generateMongoCredentials(): MongoCredentials {
  return { username: 'kre', password: randomToken(24), sharedKey: randomBytes(48).toString('base64') };
}

export function generateMinioCredentials(): MinioCredentials {
  return { accessKey: randomToken(20), secretKey: randomToken(40) };
}

function randomToken(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function renderSecret(rt: Runtime, name: string, values: Record<string, string>): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(rt, name, {}),
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)])),
  };
}

/**
 * Generated credentials. Not owned by the Runtime: MongoDB's and MinIO's volumes outlive it (a
 * StatefulSet's claims are kept when it goes), and their data opens only with these credentials,
 * so the Secret stays with the volumes and a Runtime created again in the namespace reuses both.
 */
export function renderGeneratedCredentials(rt: Runtime, name: string, values: Record<string, string>): Secret {
  return renderSecret(rt, name, values);
}

export function mongoHosts(rt: Runtime): string[] {
  return Array.from({ length: mongoReplicas(rt) }, (_, i) => `${MONGO}-${i}.${MONGO}:27017`);
}

export function renderMongoConnectionSecret(rt: Runtime, creds: MongoCredentials): Secret {
  const user = encodeURIComponent(creds.username);
  const password = encodeURIComponent(creds.password);
  const uri = `mongodb://${user}:${password}@${mongoHosts(rt).join(',')}/admin?replicaSet=${MONGO_REPLICA_SET}&authSource=admin`;
  // Derived from the credentials on every reconcile, so it goes with the Runtime.
  return owned(rt, renderSecret(rt, MONGO_CONNECTION, { [MONGO_CONNECTION_KEY]: uri }));
}

export function renderMongoService(rt: Runtime): KubeObject {
  // Members must resolve each other before they are ready, or the replica set never forms.
  return renderService(rt, MONGO, MONGO_LABELS, { headless: true, publishNotReadyAddresses: true, ports: [tcpPort('mongodb', 27017)] });
}

/**
 * The member with ordinal 0 initiates the replica set once mongod answers; the others only join.
 * The root user is created by the image's entrypoint from MONGO_INITDB_ROOT_* on first start.
 */
const MONGO_START = `set -e
cp /etc/mongo-credentials/sharedKey /data/keyfile/keyfile
chmod 400 /data/keyfile/keyfile
exec docker-entrypoint.sh mongod --replSet ${MONGO_REPLICA_SET} --bind_ip_all --keyFile /data/keyfile/keyfile`;

const MONGO_INITIATE = `[ "\${HOSTNAME##*-}" = "0" ] || exit 0
for i in $(seq 1 60); do mongo --quiet -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin --eval 'db.adminCommand("ping")' && break; sleep 2; done
mongo --quiet -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin --eval "rs.status().ok || rs.initiate({_id: '${MONGO_REPLICA_SET}', members: [$MEMBERS]})"`;

export function renderMongoStatefulSet(rt: Runtime, credentialsSecret: string): StatefulSet {
  const mongo = rt.spec.mongo;
  const replicas = mongoReplicas(rt);
  const members = mongoHosts(rt)
    .map((host, i) => `{_id: ${i}, host: '${host}'}`)
    .join(', ');
  const persistent = mongo.persistentVolume.enabled;
  return owned(rt, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(rt, MONGO, MONGO_LABELS),
    spec: {
      serviceName: MONGO,
      replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { ...MONGO_LABELS } },
      template: {
        metadata: { labels: { ...MONGO_LABELS } },
        spec: {
          securityContext: { fsGroup: 999 },
          containers: [
            {
              name: 'mongodb',
              image: mongo.image,
              command: ['sh', '-c', MONGO_START],
              ports: [{ name: 'mongodb', containerPort: 27017, protocol: 'TCP' }],
              env: [
                secretEnv('MONGO_INITDB_ROOT_USERNAME', credentialsSecret, 'username'),
                secretEnv('MONGO_INITDB_ROOT_PASSWORD', credentialsSecret, 'password'),
                { name: 'MEMBERS', value: members },
              ],
              lifecycle: { postStart: { exec: { command: ['sh', '-c', `(${MONGO_INITIATE}) >/proc/1/fd/1 2>&1 &`] } } },
              readinessProbe: {
                exec: { command: ['mongo', '--quiet', '--eval', 'db.adminCommand("ping").ok'] },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              volumeMounts: [
                { name: 'data', mountPath: '/data/db' },
                { name: 'keyfile', mountPath: '/data/keyfile' },
                { name: 'credentials', mountPath: '/etc/mongo-credentials', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'keyfile', emptyDir: {} },
            { name: 'credentials', secret: { secretName: credentialsSecret, items: [{ key: 'sharedKey', path: 'sharedKey' }] } },
            ...(persistent ? [] : [{ name: 'data', emptyDir: {} }]),
          ],
        },
      },
      volumeClaimTemplates: persistent ? [volumeClaim('data', mongo.storage.size, storageClass(rt, mongo.storage.storageClass))] : [],
    },
  });
}

function volumeClaim(name: string, size: string, cls: { storageClassName?: string }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], ...cls, resources: { requests: { storage: size } } },
  };
}

export function natsConfig(rt: Runtime): string {
  const routes = Array.from({ length: rt.spec.nats.replicas }, (_, i) => `    nats://${NATS}-${i}.${NATS_CLUSTER}:6222`);
  return [
    'port: 4222',
    'http_port: 8222',
    'server_name: $POD_NAME',
    'jetstream {',
    '  store_dir: /data',
    '}',
    'cluster {',
    `  name: ${NATS}`,
    '  port: 6222',
    '  routes: [',
    ...routes,
    '  ]',
    '}',
    '',
  ].join('\n');
}

export function renderNatsConfigMap(rt: Runtime): KubeObject {
  return owned(rt, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(rt, NATS_CONFIG, NATS_LABELS),
    data: { 'nats.conf': natsConfig(rt) },
  });
}

export function renderNatsServices(rt: Runtime): KubeObject[] {
  return [
    renderService(rt, NATS, NATS_LABELS, { ports: [tcpPort('client', 4222), tcpPort('monitor', 8222)] }),
    // Routes name each member by its stable DNS name, which only a headless Service gives.
    renderService(rt, NATS_CLUSTER, NATS_LABELS, { headless: true, publishNotReadyAddresses: true, ports: [tcpPort('cluster', 6222)] }),
  ];
}

export function renderNatsStatefulSet(rt: Runtime): StatefulSet {
  const nats = rt.spec.nats;
  return owned(rt, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(rt, NATS, NATS_LABELS),
    spec: {
      serviceName: NATS_CLUSTER,
      replicas: nats.replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { ...NATS_LABELS } },
      template: {
        // The configuration is read at start: a new one must restart the servers.
        metadata: { labels: { ...NATS_LABELS }, annotations: { [CONFIG_HASH]: sha256(natsConfig(rt)).slice(0, 16) } },
        spec: {
          containers: [
            {
              name: 'nats',
              image: nats.image,
              args: ['--config', '/etc/nats/nats.conf'],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: 4222, protocol: 'TCP' },
                { name: 'cluster', containerPort: 6222, protocol: 'TCP' },
                { name: 'monitor', containerPort: 8222, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 8222 }, initialDelaySeconds: 2, periodSeconds: 5 },
              volumeMounts: [
                { name: 'config', mountPath: '/etc/nats' },
                { name: 'data', mountPath: '/data' },
              ],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: NATS_CONFIG } }],
        },
      },
      volumeClaimTemplates: [volumeClaim('data', nats.storage.size, storageClass(rt, nats.storage.storageClass))],
    },
  });
}

export function renderMinioService(rt: Runtime): KubeObject {
  return renderService(rt, MINIO, MINIO_LABELS, { headless: true, ports: [tcpPort('minio', 9000)] });
}

export function renderMinioStatefulSet(rt: Runtime, credentialsSecret: string): StatefulSet {
  const minio = rt.spec.minio;
  return owned(rt, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(rt, MINIO, MINIO_LABELS),
    spec: {
      serviceName: MINIO,
      replicas: 1,
      selector: { matchLabels: { ...MINIO_LABELS } },
      template: {
        metadata: { labels: { ...MINIO_LABELS } },
        spec: {
          containers: [
            {
              name: 'minio',
              image: minio.image,
              args: ['server', '/data'],
              env: [
                secretEnv('MINIO_ACCESS_KEY', credentialsSecret, 'accessKey'),
                secretEnv('MINIO_SECRET_KEY', credentialsSecret, 'secretKey'),
              ],
              ports: [{ name: 'minio', containerPort: 9000, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/minio/health/ready', port: 9000 }, initialDelaySeconds: 5, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: '/minio/health/live', port: 9000 }, initialDelaySeconds: 10, periodSeconds: 20 },
              volumeMounts: [{ name: 'kre-minio-pvc', mountPath: '/data' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [volumeClaim('kre-minio-pvc', minio.storage.size, storageClass(rt, minio.storage.storageClass))],
    },
  });
}

/** The Service in front of the published version's entrypoint; none when nothing is published. */
export function renderActiveEntrypointService(rt: Runtime): Service | undefined {
  const version = rt.spec.publishedVersion;
  if (!version) return undefined;
  return renderService(rt, ACTIVE_ENTRYPOINT, { type: 'entrypoint' }, {
    selector: { type: 'entrypoint', 'version-name': version },
    ports: [tcpPort('grpc', 9000), tcpPort('web', 80)],
  });
}

/** An Ingress for the published version's web port on `spec.entrypoint.host`. */
export function renderEntrypointIngress(rt: Runtime): KubeObject | undefined {
  const host = rt.spec.entrypoint.host;
  if (!host || !rt.spec.publishedVersion) return undefined;
  return owned(rt, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(rt, ACTIVE_ENTRYPOINT, { type: 'entrypoint' }),
    spec: {
      rules: [
        {
          host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: ACTIVE_ENTRYPOINT, port: { name: 'web' } } } }] },
        },
      ],
    },
  });
}

/** Every child of a Runtime but its Secrets, in the order they are applied. */
export function renderRuntimeWorkloads(rt: Runtime, secrets: { mongo: string; minio: string }): KubeObject[] {
  return [
    renderMongoService(rt),
    renderMongoStatefulSet(rt, secrets.mongo),
    renderNatsConfigMap(rt),
    ...renderNatsServices(rt),
    renderNatsStatefulSet(rt),
    renderMinioService(rt),
    renderMinioStatefulSet(rt, secrets.minio),
    ...[renderActiveEntrypointService(rt), renderEntrypointIngress(rt)].filter((o): o is KubeObject => o !== undefined),
  ];
}
