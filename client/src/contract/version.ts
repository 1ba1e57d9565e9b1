/**
 * Software versions for update notices (docs/policies.md): dotted numbers with an optional
 * pre-release, e.g. `2`, `2.1`, `2.1.3`, `2.1.3-beta.2`, ordered as semantic versioning orders
 * them (missing parts are 0; a pre-release comes before its release). Shared by the server,
 * which validates what the operator publishes, and the client, which compares its own version.
 */
export const VERSION_PATTERN = /^\d{1,9}(\.\d{1,9}){0,3}(-[0-9A-Za-z-]{1,20}(\.[0-9A-Za-z-]{1,20}){0,4})?$/;

export function isVersion(text: unknown): text is string {
  return typeof text === 'string' && VERSION_PATTERN.test(text);
}

/** Negative when a is older than b, 0 when equal, positive when newer. Both must match VERSION_PATTERN. */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = split(a);
  const [coreB, preB] = split(b);
  for (let i = 0; i < Math.max(coreA.length, coreB.length); i++) {
    const d = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (preA === null || preB === null) return preA === preB ? 0 : preA === null ? 1 : -1;
  const idsA = preA.split('.');
  const idsB = preB.split('.');
  for (let i = 0; i < Math.min(idsA.length, idsB.length); i++) {
    const x = idsA[i]!;
    const y = idsB[i]!;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? -1 : 1;
    if (!nx && x !== y) return x < y ? -1 : 1;
  }
  return Math.sign(idsA.length - idsB.length);
}

function split(version: string): [number[], string | null] {
  const dash = version.indexOf('-');
  const core = dash < 0 ? version : version.slice(0, dash);
  return [core.split('.').map(Number), dash < 0 ? null : version.slice(dash + 1)];
}
