/**
 * The dashboard page: log in once, then the runtimes, their versions and pods as the server pushes
 * them (`/api/events`), the actions of each version, and the live CPU and memory graphs of the
 * version being looked at (`/api/graph`, or `/api/history` for a past range).
 */
import { h, render, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { CSRF_HEADER, type ActionName, type PodView, type PointView, type RuntimeView, type StateView, type VersionView } from '../view.ts';
import { Chart } from './chart.ts';

/** Points a live graph keeps in the page. */
const LIVE_POINTS = 1200;

interface Drawn {
  /** Wall-clock ms at which each point (by its time) was first drawn: what the delay figure reads. */
  drawnAt: Map<number, number>;
}
const drawn: Drawn = { drawnAt: new Map() };
(window as unknown as { kreDrawn: Drawn }).kreDrawn = drawn;

/**
 * What the dashboard's server answers, field by endpoint: `csrf` (login, session), `message`
 * (action), `points` (history); `error` on a failure.
 */
interface ApiBody {
  csrf?: string;
  message?: string;
  points?: PointView[];
  error?: string;
}

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body: ApiBody = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  return { status: res.status, body };
}

function Login({ onLogin }: { onLogin: (csrf: string) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = ((e.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement).value;
    setBusy(true);
    setError('');
    try {
      const r = await api('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
      if (r.status === 200) onLogin(r.body.csrf ?? '');
      else setError(r.status === 401 ? 'Wrong token: check the dashboard token and try again.' : `Login failed: ${r.body.error ?? r.status}`);
    } catch (err) {
      setError(`Login failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return h(
    'main',
    { class: 'login' },
    h('h1', null, 'KRE dashboard'),
    h(
      'form',
      { onSubmit: submit, id: 'login-form' },
      h('label', { for: 'token' }, 'Token'),
      h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, autofocus: true }),
      h('button', { type: 'submit', disabled: busy }, busy ? 'Logging in…' : 'Log in'),
      h('p', { id: 'login-error', class: 'error', role: 'alert' }, error),
    ),
  );
}

const ok = (b: boolean) => h('span', { class: b ? 'ok' : 'bad', 'aria-label': b ? 'ready' : 'not ready' }, b ? '✔' : '✘');

function age(created: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (!Number.isFinite(s)) return '';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function Pods({ pods, now }: { pods: PodView[]; now: number }) {
  if (pods.length === 0) return h('p', { class: 'muted' }, 'No pods.');
  return h(
    'table',
    { class: 'pods' },
    h('thead', null, h('tr', null, ...['Pod', 'Phase', 'Ready', 'Restarts', 'Node', 'Age'].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      ...pods.map((p) => h('tr', { key: p.name, 'data-pod': p.name }, h('td', null, p.name), h('td', null, p.phase), h('td', null, ok(p.ready)), h('td', null, String(p.restarts)), h('td', null, p.node), h('td', null, age(p.created, now)))),
    ),
  );
}

interface ActionState {
  busy?: ActionName;
  message?: string;
  error?: string;
}

function VersionRow({ rt, v, csrf, selected, onSelect, now }: { rt: RuntimeView; v: VersionView; csrf: string; selected: boolean; onSelect: () => void; now: number }) {
  const [act, setAct] = useState<ActionState>({});
  // A success says what happened; once the list shows it, it would only go stale. Errors stay.
  useEffect(() => {
    if (!act.message) return;
    const t = setTimeout(() => setAct({}), 10_000);
    return () => clearTimeout(t);
  }, [act.message]);
  const run = async (action: ActionName) => {
    setAct({ busy: action });
    try {
      const r = await api('/api/action', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [CSRF_HEADER]: csrf },
        body: JSON.stringify({ action, namespace: rt.namespace, version: v.name }),
      });
      setAct(r.status === 200 ? { message: r.body.message } : { error: r.body.error ?? `failed (${r.status})` });
    } catch (err) {
      setAct({ error: (err as Error).message });
    }
  };
  const stopped = v.state === 'Stopped';
  const button = (action: ActionName, label: string, enabled: boolean) =>
    h('button', { type: 'button', class: `action ${action}`, 'data-action': action, disabled: !enabled || act.busy !== undefined, onClick: () => void run(action) }, act.busy === action ? `${label}…` : label);
  return h(
    'li',
    { class: `version${selected ? ' selected' : ''}`, 'data-version': v.name, 'data-phase': v.phase, 'data-published': String(v.published) },
    h(
      'div',
      { class: 'version-head' },
      h('strong', { class: 'version-name' }, v.name),
      v.published ? h('span', { class: 'badge published', title: 'published' }, '★ published') : null,
      h('span', { class: `badge phase phase-${v.phase.toLowerCase()}` }, v.phase),
      v.ready ? h('span', { class: 'ready', title: 'workloads ready' }, v.ready) : null,
      h(
        'span',
        { class: 'actions' },
        button('start', 'Start', stopped),
        // Stop stays enabled on the published version: the manager's answer says why it refuses.
        button('stop', 'Stop', !stopped),
        button('publish', 'Publish', !stopped && !v.published),
        button('unpublish', 'Unpublish', v.published),
        h('button', { type: 'button', class: 'graphs', 'aria-pressed': selected, onClick: onSelect }, selected ? 'Hide graphs' : 'Graphs'),
      ),
    ),
    v.message ? h('p', { class: 'muted' }, v.message) : null,
    act.busy ? h('p', { class: 'progress', role: 'status' }, `${act.busy}: waiting for the manager…`) : null,
    act.message ? h('p', { class: 'done', role: 'status' }, act.message) : null,
    act.error ? h('p', { class: 'error action-error', role: 'alert' }, act.error) : null,
    h('details', null, h('summary', null, `Pods (${v.pods.length})`), h(Pods, { pods: v.pods, now })),
  );
}

const RANGES: { label: string; seconds: number }[] = [
  { label: 'Live (10 min)', seconds: 0 },
  { label: 'Last hour', seconds: 3600 },
  { label: 'Last 6 hours', seconds: 6 * 3600 },
  { label: 'Last 24 hours', seconds: 86400 },
];

function Graphs({ namespace, version }: { namespace: string; version: string }) {
  const cpuEl = useRef<HTMLDivElement>(null);
  const memEl = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState(0);
  const [status, setStatus] = useState('connecting…');
  useEffect(() => {
    const cpu = new Chart(cpuEl.current!, 'cpu');
    const mem = new Chart(memEl.current!, 'mem');
    const onResize = () => {
      cpu.resize();
      mem.resize();
    };
    window.addEventListener('resize', onResize);
    let points: PointView[] = [];
    const draw = () => {
      cpu.draw(points);
      mem.draw(points);
    };
    let source: EventSource | undefined;
    const q = `namespace=${encodeURIComponent(namespace)}&version=${encodeURIComponent(version)}`;
    const seconds = RANGES[range].seconds;
    if (seconds === 0) {
      source = new EventSource(`/api/graph?${q}`);
      source.addEventListener('points', (e) => {
        const fresh = JSON.parse((e as MessageEvent).data) as PointView[];
        const newest = points.at(-1)?.t ?? -Infinity;
        points = points.concat(fresh.filter((p) => p.t > newest)).slice(-LIVE_POINTS);
        draw();
        const at = Date.now();
        for (const p of fresh) if (!drawn.drawnAt.has(p.t)) drawn.drawnAt.set(p.t, at);
        if (drawn.drawnAt.size > 5000) drawn.drawnAt.clear();
        setStatus(`live · ${points.length} points`);
      });
      source.addEventListener('failure', (e) => setStatus(JSON.parse((e as MessageEvent).data).message));
      source.onerror = () => setStatus('reconnecting…');
    } else {
      const to = Date.now();
      const from = to - seconds * 1000;
      // About 300 points over the range, as the seed's callers ask ((to − from) / step).
      const step = Math.max(1, Math.round(seconds / 300));
      setStatus('loading…');
      void api(`/api/history?${q}&from=${from}&to=${to}&step=${step}`).then((r) => {
        if (r.status !== 200) return setStatus(`history: ${r.body.error}`);
        points = r.body.points ?? [];
        draw();
        setStatus(`${points.length} points, every ${step} s`);
      });
    }
    return () => {
      source?.close();
      window.removeEventListener('resize', onResize);
      cpu.destroy();
      mem.destroy();
    };
  }, [namespace, version, range]);
  return h(
    'section',
    { class: 'graphs-panel', 'aria-label': `graphs of ${version}`, 'data-graphs': version },
    h(
      'div',
      { class: 'graphs-head' },
      h('h3', null, `${version}: CPU and memory`),
      h('label', { for: 'range' }, 'Range '),
      h('select', { id: 'range', value: String(range), onChange: (e: Event) => setRange(Number((e.target as HTMLSelectElement).value)) }, ...RANGES.map((r, i) => h('option', { value: String(i) }, r.label))),
      h('span', { class: 'muted graph-status', role: 'status' }, status),
    ),
    h('div', { class: 'chart', ref: cpuEl, 'data-series': 'cpu' }),
    h('div', { class: 'chart', ref: memEl, 'data-series': 'mem' }),
  );
}

function Runtime({ rt, csrf, selected, select, now }: { rt: RuntimeView; csrf: string; selected: string; select: (key: string) => void; now: number }) {
  const shown = rt.versions.find((v) => `${rt.namespace}/${v.name}` === selected);
  return h(
    'section',
    { class: 'runtime', 'data-runtime': rt.namespace, 'data-phase': rt.phase, 'aria-label': `runtime ${rt.name}` },
    h('h2', null, rt.name, ' ', h('span', { class: 'muted' }, `(${rt.namespace})`), ' ', h('span', { class: `badge phase phase-${rt.phase.toLowerCase()}` }, rt.phase)),
    h('ul', { class: 'components' }, ...rt.components.map((c) => h('li', { 'data-component': c.name, title: c.message }, ok(c.ready), ' ', c.name))),
    h('h3', null, 'Versions'),
    rt.versions.length === 0
      ? h('p', { class: 'muted' }, 'No versions yet.')
      : h(
          'ul',
          { class: 'versions' },
          ...rt.versions.map((v) => {
            const key = `${rt.namespace}/${v.name}`;
            return h(VersionRow, { key, rt, v, csrf, now, selected: key === selected, onSelect: () => select(key === selected ? '' : key) });
          }),
        ),
    shown ? h(Graphs, { key: `${rt.namespace}/${shown.name}`, namespace: rt.namespace, version: shown.name }) : null,
    h('details', null, h('summary', null, `Runtime pods (${rt.pods.length})`), h(Pods, { pods: rt.pods, now })),
  );
}

function Main({ csrf, onLogout }: { csrf: string; onLogout: () => void }) {
  const [state, setState] = useState<StateView | undefined>();
  const [connected, setConnected] = useState(true);
  const [selected, setSelected] = useState('');
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const source = new EventSource('/api/events');
    source.addEventListener('state', (e) => {
      setState(JSON.parse((e as MessageEvent).data));
      setConnected(true);
    });
    source.onerror = () => setConnected(false);
    const tick = setInterval(() => setNow(Date.now()), 5000);
    return () => {
      source.close();
      clearInterval(tick);
    };
  }, []);
  const logout = async () => {
    await api('/api/logout', { method: 'POST' });
    onLogout();
  };
  let body: ComponentChildren;
  if (!state) body = h('p', { class: 'muted' }, 'Loading…');
  else if (state.runtimes.length === 0) body = h('p', { class: 'muted', id: 'no-runtimes' }, 'No runtimes yet.');
  else body = state.runtimes.map((rt) => h(Runtime, { key: rt.namespace, rt, csrf, selected, select: setSelected, now }));
  return h(
    'div',
    { class: 'app' },
    h('header', null, h('h1', null, 'KRE dashboard'), h('button', { type: 'button', id: 'logout', onClick: () => void logout() }, 'Log out')),
    !connected ? h('p', { class: 'error', role: 'alert' }, 'Lost the connection to the dashboard server; reconnecting…') : null,
    state?.error ? h('p', { class: 'error', role: 'alert', id: 'monitor-error' }, state.error) : null,
    h('main', { id: 'runtimes', 'aria-busy': !state }, body),
  );
}

function App() {
  const [csrf, setCsrf] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    void api('/api/session').then((r) => setCsrf(r.status === 200 ? (r.body.csrf ?? null) : null));
  }, []);
  if (csrf === undefined) return h('p', { class: 'muted' }, 'Loading…');
  if (csrf === null) return h(Login, { onLogin: setCsrf });
  return h(Main, { csrf, onLogout: () => setCsrf(null) });
}

render(h(App, null), document.getElementById('app')!);
