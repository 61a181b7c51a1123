import { z } from 'zod';
import { dict } from '../own-keys.js';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v) as object | null);

/**
 * `z.record` for maps whose keys are names from the outside world (group names, attribute names, claim values):
 * the result has a null prototype, so a lookup of `constructor` or `toString` finds only what was written, and a
 * key spelled `__proto__` is kept as an ordinary key (zod's own record drops it silently).
 */
export function ownRecord<K extends z.ZodType<string, string>, V extends z.ZodType>(key: K, value: V) {
  return z
    .unknown()
    .transform((input, ctx): Record<string, z.output<V>> => {
      if (!isPlainObject(input)) {
        ctx.addIssue({ code: 'custom', message: 'must be an object (a map of names)' });
        return z.NEVER;
      }
      const out = dict<z.output<V>>();
      for (const [k, v] of Object.entries(input)) {
        const kr = key.safeParse(k);
        if (!kr.success) {
          for (const issue of kr.error.issues) ctx.addIssue({ code: 'custom', message: `key "${k}": ${issue.message}`, path: [k] });
          continue;
        }
        const vr = value.safeParse(v);
        if (!vr.success) {
          for (const issue of vr.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [k, ...(issue.path as (string | number)[])] });
          continue;
        }
        out[kr.data] = vr.data as z.output<V>;
      }
      return out;
    }) as unknown as z.ZodType<Record<string, z.output<V>>, Record<string, z.input<V>>>;
}

/**
 * A JSON object of any values whose keys come from outside (group names, claim names), for request bodies: like
 * `z.record(z.string(), z.unknown())`, and described the same way in the OpenAPI document, but with a null
 * prototype and a `__proto__` key kept.
 */
export function ownJsonObject() {
  return ownRecord(z.string(), z.unknown()).meta({ type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} });
}
