export { MonitorClient } from './monitor/client.ts';
