// Columns the report's tables share.
import type { Column } from '../virtualTable';

/** Sorts a missing number after every present one (ascending). */
const sortNumber = (x: number | null) => (x === null ? Number.MAX_VALUE : x);

/** A right-aligned column of a number that may be missing: shown by `format`, missing ones sorted last. */
export function nullableNumberColumn<T>(
  key: string,
  title: string,
  width: string,
  value: (row: T) => number | null,
  format: (x: number | null) => string,
): Column<T> {
  return { key, title, width, text: (r) => format(value(r)), sort: (r) => sortNumber(value(r)), className: 'num' };
}
