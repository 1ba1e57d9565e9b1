/** A JSON object (not null, not an array): the first test of every untrusted document the client reads. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
