/**
 * `mixup/`: the paper's two mixups as primitives: Identity Mixup (φ grid, partner, soft label,
 * coefficient blend) and Domain Mixup (λ, pixel blend, real subset, loss terms). Dataset
 * synthesis, which applies Identity Mixup while driving a generator, is `synthesis/`.
 * @module
 */
export * from "./identity_mixup.ts";
export * from "./domain_mixup.ts";
