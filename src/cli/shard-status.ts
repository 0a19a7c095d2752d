/** What status says of a log's shards (log rotate): read-only and where it was rotated to, or its predecessors. */
import type { InstanceState } from '../instance/state.js';

export function shardJson(s: InstanceState): Record<string, unknown> {
  return {
    mode: s.readOnlySince ? 'read-only' : 'read-write',
    ...(s.readOnlySince ? { readOnlySince: s.readOnlySince } : {}),
    ...(s.finalCheckpoint ? { finalCheckpoint: s.finalCheckpoint } : {}),
    ...(s.rotatedTo ? { rotatedTo: { instance: s.rotatedTo.instance, url: s.rotatedTo.url } } : {}),
    ...(s.rotation ? { rotationUnderWay: s.rotation } : {}),
    previousShards: (s.previousShards ?? []).map((p) => ({
      instance: p.instance,
      url: p.url,
      validUntil: p.validUntil,
      finalCheckpoint: p.finalCheckpoint,
    })),
  };
}

export function shardLines(s: InstanceState): string[] {
  const lines: string[] = [];
  if (s.readOnlySince)
    lines.push(
      `  read-only${s.rotatedTo ? ` (rotated to ${s.rotatedTo.instance} at ${s.readOnlySince}: ${s.rotatedTo.url})` : ` since ${s.readOnlySince}`}` +
        (s.finalCheckpoint ? `, final checkpoint size ${s.finalCheckpoint.size}` : ''),
    );
  if (s.rotation)
    lines.push(
      `  rotation to ${s.rotation.to} under way since ${s.rotation.startedAt}: run log rotate --instance ${s.instance} --new-instance ${s.rotation.to} again to finish it`,
    );
  for (const p of s.previousShards ?? [])
    lines.push(
      `  previous shard ${p.instance}: ${p.url}, read-only since ${p.validUntil ?? '?'}${p.finalCheckpoint ? `, final size ${p.finalCheckpoint.size}` : ''}`,
    );
  return lines;
}
