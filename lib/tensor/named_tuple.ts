// PyTorch's named tuples (torch.return_types.max, linalg's (Q, R), ...): the fields by name, and
// the same values as a tuple in PyTorch's order, so that ported code reads as it was written:
//   const { values, indices } = x.max(1);   const [, predicted] = x.max(1);   x.max(1)[1]
// The fields are the object's own properties (what tidy(), torch.save and the transforms walk);
// the tuple view (iteration, [0], [1], length) lives on a shared prototype.

/** Fields by name that are also a tuple of them, in PyTorch's order. */
export type NamedTuple<T extends object> = T & Iterable<T[keyof T]> & { readonly [index: number]: T[keyof T]; readonly length: number };

const NamedTupleProto: object = Object.create(Object.prototype, {
  [Symbol.iterator]: { value(this: object) { return Object.values(this)[Symbol.iterator](); } },
  length: { get(this: object) { return Object.keys(this).length; } },
});
for (let k = 0; k < 8; k++) {
  Object.defineProperty(NamedTupleProto, k, { get(this: object) { return Object.values(this)[k]; } });
}

/** The fields (in PyTorch's tuple order) as a named tuple. */
export function namedTuple<T extends object>(fields: T): NamedTuple<T> {
  return Object.assign(Object.create(NamedTupleProto) as object, fields) as NamedTuple<T>;
}

/** A plain object or a named tuple: what walks over results take apart field by field. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === NamedTupleProto;
}

export function isNamedTuple(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === NamedTupleProto;
}
