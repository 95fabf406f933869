/**
 * A compile-time check that two types are the same, for a hand-written type that must stay
 * beside its zod schema (e.g. to carry per-field docs): `const _: Equal<z.infer<typeof s>, T> =
 * true;` fails `deno check` as soon as either side drifts.
 * @module
 */

/** `true` when A and B are identical types (not merely assignable), else `false`. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2)
  ? true
  : false;
